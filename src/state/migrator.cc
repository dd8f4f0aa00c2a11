#include "src/state/migrator.h"

#include <string>

#include "src/base/log.h"
#include "src/state/sql_functions.h"

namespace mailark::state {

Result<int> schemaVersion(SqliteDb& db) {
  Result<Statement*> stmt = db.prepare("PRAGMA user_version");
  if (!stmt.isOk()) return stmt.status();
  StatementUse use(*stmt);
  Result<bool> row = use->step();
  if (!row.isOk()) return row.status();
  if (!*row) return internalError("PRAGMA user_version returned no row");
  return static_cast<int>(use->columnInt64(0));
}

namespace {

Status applyOne(SqliteDb& db, const SchemaFile& file) {
  // IMMEDIATE takes the write lock up front, so two mailark processes
  // opening one old database cannot both start the same migration.
  MAILARK_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
  // Another process may have applied this file while we waited for the lock.
  Result<int> current = schemaVersion(db);
  Status s = current.status();
  if (s.isOk() && *current >= file.version) return db.exec("COMMIT");
  if (s.isOk()) s = db.exec(file.sql);
  // PRAGMA takes no bound parameters; the version is our own integer.
  if (s.isOk()) s = db.exec("PRAGMA user_version = " + std::to_string(file.version));
  if (s.isOk()) s = db.exec("COMMIT");
  if (!s.isOk()) {
    db.exec("ROLLBACK").ignoreError();
    return s.withContext("apply schema " + std::string(file.name));
  }
  return Status::ok();
}

}  // namespace

Status migrate(SqliteDb& db, const std::vector<SchemaFile>& files) {
  for (size_t i = 1; i < files.size(); ++i) {
    if (files[i].version <= files[i - 1].version) {
      return internalError("embedded schema files are not in strictly ascending version order: " +
                           std::string(files[i].name));
    }
  }
  const int newest = files.empty() ? 0 : files.back().version;
  Result<int> current = schemaVersion(db);
  if (!current.isOk()) return current.status();
  if (*current > newest) {
    return configError("archive state was written by a newer mailark (schema v" +
                       std::to_string(*current) + ", this build knows up to v" +
                       std::to_string(newest) + "): upgrade mailark");
  }
  // Schema files may call our own SQL functions (0005 converts hex keys).
  if (*current < newest) MAILARK_RETURN_IF_ERROR(registerSqlFunctions(db));
  for (const SchemaFile& file : files) {
    if (file.version <= *current) continue;
    MAILARK_RETURN_IF_ERROR(applyOne(db, file));
    // Creating a fresh database is routine; upgrading one is worth a line.
    std::string line = "state database " + db.path() + ": applied schema " + std::string(file.name);
    if (*current > 0) {
      log::info(line);
    } else {
      log::debug(line);
    }
  }
  return Status::ok();
}

}  // namespace mailark::state
