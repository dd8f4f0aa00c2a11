// Brings a state database up to the newest schema this build knows.
//
// The schema version lives in SQLite's PRAGMA user_version: it is stored in
// the database header, so setting it inside the migration's transaction
// commits or rolls back together with the DDL, and no bookkeeping table can
// disagree with the tables it describes. 0 means "empty, never migrated".
#pragma once

#include <vector>

#include "mailark/status.h"
#include "src/state/schema_files.h"
#include "src/state/sqlite_db.h"

namespace mailark::state {

// The database's current schema version (PRAGMA user_version).
Result<int> schemaVersion(SqliteDb& db);

// Applies, in ascending order, every file whose version is above the
// database's, each in its own IMMEDIATE transaction that also records the
// new version; a failing file leaves the database at the previous version.
// Config error when the database is newer than the newest file (a newer
// mailark wrote it). Internal error when `files` is not strictly ascending.
// Registers the application SQL functions (sql_functions.h) on `db` first
// when there is anything to apply.
Status migrate(SqliteDb& db, const std::vector<SchemaFile>& files);

}  // namespace mailark::state
