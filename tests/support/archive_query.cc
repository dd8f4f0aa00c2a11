#include "tests/support/archive_query.h"

#include <sqlite3.h>

#include <filesystem>

namespace mailark::test {

size_t countIndexedObjects(const std::string& archive) {
  const std::string path = archive + "/state.db";
  if (!std::filesystem::exists(path)) return 0;
  sqlite3* db = nullptr;
  size_t n = 0;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM objects", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
      n = static_cast<size_t>(sqlite3_column_int64(stmt, 0));
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return n;
}

bool execSql(const std::string& archive, const std::string& sql) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open_v2((archive + "/state.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK &&
            sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

}  // namespace mailark::test
