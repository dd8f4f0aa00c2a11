// Thin RAII wrappers over sqlite3 and sqlite3_stmt. This is the one place
// SQLite result codes become Status (sqliteStatus), so callers never see an
// int rc.
//
// Threading: a SqliteDb and its statements belong to one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mailark/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mailark::state {

// Translates a failed SQLite call: SQLITE_FULL (or an ENOSPC/EDQUOT system
// errno) -> StorageFull, BUSY/LOCKED -> Transient, CONSTRAINT -> Internal
// (our SQL is wrong), everything else -> Io. `what` names the operation.
Status sqliteStatus(sqlite3* db, int rc, std::string_view what);

// One prepared statement. Bind indexes are 1-based, column indexes 0-based.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Copy::No binds without a copy (SQLITE_STATIC): the bytes must stay
  // valid until the statement is reset, so only for values that outlive
  // the StatementUse, never for temporaries.
  enum class Copy { Yes, No };

  Status bindInt64(int index, int64_t value);
  Status bindText(int index, std::string_view value, Copy copy = Copy::Yes);
  Status bindNull(int index);
  Status bindBlob(int index, std::span<const uint8_t> value, Copy copy = Copy::Yes);

  // Advances: true when a row is available, false when done.
  Result<bool> step();
  // Steps to completion, for statements that return no rows.
  Status run();

  int64_t columnInt64(int column) const;
  std::string columnText(int column) const;  // empty for NULL
  // The column's bytes (empty for NULL), valid until the next step() or
  // reset() on this statement.
  std::span<const uint8_t> columnBlob(int column) const;

  // Makes the statement ready to bind and run again.
  void reset();

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Resets a borrowed cached statement on every exit path, so no statement is
// left mid-step holding a read snapshot open in WAL mode.
class StatementUse {
 public:
  explicit StatementUse(Statement* stmt) : stmt_(stmt) {}
  ~StatementUse() { stmt_->reset(); }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  Statement* operator->() const { return stmt_; }
  Statement* get() const { return stmt_; }

 private:
  Statement* stmt_;
};

class SqliteDb {
 public:
  // Opens (creating if missing) the database file at `path`.
  static Result<std::unique_ptr<SqliteDb>> open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more ';'-separated statements that return nothing useful.
  Status exec(std::string_view sql);

  // Returns the cached statement for `sql`, preparing it on first use. The
  // pointer stays valid for the SqliteDb's lifetime. Wrap it in a
  // StatementUse; a statement must not be used again while one of its
  // result rows is being visited. Ends a shared read (below) first.
  Result<Statement*> prepare(std::string_view sql);

  // Opens a read transaction, unless one is open, for the following reads
  // to share: an autocommit SELECT in WAL mode takes and drops its read
  // locks (fcntl calls) each time, which costs more than a small indexed
  // lookup. Only reads through a statement kept from an earlier prepare()
  // may run in it, never a write: the next prepare() or exec() ends it
  // before running, so every other call, and every read after one, sees
  // the rows committed before it, as in autocommit mode.
  Status beginSharedRead();

  int64_t lastInsertRowid() const;
  int64_t changes() const;  // rows changed by the last INSERT/UPDATE/DELETE

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  // prepare() without ending a shared read.
  Result<Statement*> cached(std::string_view sql);
  void endSharedRead();

  // Lets cache_ be searched by string_view, without building a key string.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };

  sqlite3* db_;
  std::string path_;
  bool shared_read_ = false;
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> cache_;
};

}  // namespace mailark::state
