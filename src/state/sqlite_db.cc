#include "src/state/sqlite_db.h"

#include <sqlite3.h>

#include <cerrno>

namespace mailark::state {

Status sqliteStatus(sqlite3* db, int rc, std::string_view what) {
  std::string m(what);
  m += ": ";
  m += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int sys_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  switch (rc & 0xff) {
    case SQLITE_FULL:
      m += " (the archive state's disk is full: free space, then rerun)";
      return {StatusCode::StorageFull, std::move(m)};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      m += " (is another mailark running on this archive?)";
      return transientError(std::move(m));
    case SQLITE_CONSTRAINT:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
      return internalError(std::move(m));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      m += " (the state database is damaged or not a mailark database)";
      return ioError(std::move(m));
    default:
      break;
  }
  // SQLite reports some ENOSPC cases (e.g. while growing the WAL) as IOERR.
  if (sys_errno == ENOSPC || sys_errno == EDQUOT) return errnoStatus(sys_errno, m);
  return ioError(std::move(m));
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Status Statement::bindInt64(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) return sqliteStatus(db_, rc, "bind parameter");
  return Status::ok();
}

Status Statement::bindText(int index, std::string_view value, Copy copy) {
  int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                               copy == Copy::Yes ? SQLITE_TRANSIENT : SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) return sqliteStatus(db_, rc, "bind parameter");
  return Status::ok();
}

Status Statement::bindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) return sqliteStatus(db_, rc, "bind parameter");
  return Status::ok();
}

Status Statement::bindBlob(int index, std::span<const uint8_t> value, Copy copy) {
  int rc = sqlite3_bind_blob64(stmt_, index, value.data(), value.size(),
                               copy == Copy::Yes ? SQLITE_TRANSIENT : SQLITE_STATIC);
  if (rc != SQLITE_OK) return sqliteStatus(db_, rc, "bind parameter");
  return Status::ok();
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string what = "run SQL \"";
  const char* sql = sqlite3_sql(stmt_);
  what += std::string_view(sql != nullptr ? sql : "").substr(0, 60);
  what += "...\"";
  return sqliteStatus(db_, rc, what);
}

Status Statement::run() {
  for (;;) {
    Result<bool> row = step();
    if (!row.isOk()) return row.status();
    if (!*row) return Status::ok();
  }
}

int64_t Statement::columnInt64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::columnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  int n = sqlite3_column_bytes(stmt_, column);
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(n));
}

std::span<const uint8_t> Statement::columnBlob(int column) const {
  // sqlite3_column_blob before sqlite3_column_bytes, as SQLite documents:
  // the other order could convert the value after its size was taken.
  const void* data = sqlite3_column_blob(stmt_, column);
  if (data == nullptr) return {};
  int n = sqlite3_column_bytes(stmt_, column);
  return {static_cast<const uint8_t*>(data), static_cast<size_t>(n)};
}

void Statement::reset() {
  // reset() repeats the last step's error, which step() already reported.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: the contract is one thread at a time, so SQLite's own
  // per-call locking would buy nothing.
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Status s = sqliteStatus(db, rc, "open state database " + path);
    sqlite3_close(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db, path));
}

SqliteDb::~SqliteDb() {
  endSharedRead();
  // Statements must be finalized before the connection will close.
  cache_.clear();
  sqlite3_close(db_);
}

Status SqliteDb::exec(std::string_view sql) {
  endSharedRead();
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqliteStatus(db_, rc, "state database " + path_);
  return Status::ok();
}

Result<Statement*> SqliteDb::prepare(std::string_view sql) {
  endSharedRead();
  return cached(sql);
}

Result<Statement*> SqliteDb::cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  std::string key(sql);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return sqliteStatus(db_, rc, "prepare SQL for " + path_);
  auto owned = std::make_unique<Statement>(db_, stmt);
  Statement* raw = owned.get();
  cache_.emplace(std::move(key), std::move(owned));
  return raw;
}

// BEGIN and COMMIT are cached statements, not exec() calls that parse them
// each time: when lookups alternate with other calls, the pair is paid per
// lookup and must cost no more than the autocommit read it replaces.
Status SqliteDb::beginSharedRead() {
  // Already in one: ours from an earlier lookup, or a caller's.
  if (sqlite3_get_autocommit(db_) == 0) return Status::ok();
  shared_read_ = false;  // a failed step may have rolled ours back
  Result<Statement*> begin = cached("BEGIN DEFERRED");
  if (!begin.isOk()) return begin.status();
  MAILARK_RETURN_IF_ERROR(StatementUse(*begin)->run());
  shared_read_ = true;
  return Status::ok();
}

void SqliteDb::endSharedRead() {
  if (!shared_read_) return;
  shared_read_ = false;
  if (sqlite3_get_autocommit(db_) != 0) return;
  // Nothing was written in it: COMMIT only releases the read locks, and a
  // failure leaves nothing to keep, so ROLLBACK is as good.
  Result<Statement*> commit = cached("COMMIT");
  if (commit.isOk() && StatementUse(*commit)->run().isOk()) return;
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

int64_t SqliteDb::lastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

int64_t SqliteDb::changes() const { return sqlite3_changes64(db_); }

}  // namespace mailark::state
