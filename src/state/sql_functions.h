// Application SQL functions that schema files may call. Debian 12 ships
// SQLite 3.40, which has no unhex(), so the migration that turns hex
// SHA-256 text into 32-byte blobs (schema/0005) needs one of its own.
#pragma once

#include "mailark/status.h"
#include "src/state/sqlite_db.h"

namespace mailark::state {

// Registers on `db`:
//   mailark_sha256_blob(text) -> the 32-byte digest of 64 hex characters
//   (either case); NULL for anything else, so a NOT NULL column rejects a
//   malformed value instead of storing a wrong one.
// Safe to call more than once on a connection.
Status registerSqlFunctions(SqliteDb& db);

}  // namespace mailark::state
