// Binding and column helpers shared by the SqliteStateStore .cc files.
// Internal to src/state.
//
// SHA-256 object ids are lower-case hex in the public API and 32-byte
// blobs in the database (schema/0005): these helpers are the one place
// that converts between the two.
#pragma once

#include <cstdint>
#include <string_view>

#include "mailark/content_store.h"
#include "mailark/status.h"
#include "src/base/sha256.h"
#include "src/state/sqlite_db.h"

namespace mailark::state {

inline Status bindOne(Statement* stmt, int index, int64_t value) { return stmt->bindInt64(index, value); }
inline Status bindOne(Statement* stmt, int index, std::string_view value) {
  return stmt->bindText(index, value);
}
inline Status bindOne(Statement* stmt, int index, const Digest& value) { return stmt->bindBlob(index, value); }

// Bound without a copy (Statement::Copy::No): the value must outlive the
// StatementUse, so wrap only caller-owned values or locals declared before
// it, never a temporary.
struct TextRef {
  std::string_view value;
};
struct DigestRef {
  const Digest& value;
};
inline Status bindOne(Statement* stmt, int index, TextRef ref) {
  return stmt->bindText(index, ref.value, Statement::Copy::No);
}
inline Status bindOne(Statement* stmt, int index, DigestRef ref) {
  return stmt->bindBlob(index, ref.value, Statement::Copy::No);
}

// Binds args to parameters ?1, ?2, ... in order; stops at the first error.
template <typename... Args>
Status bindAll(Statement* stmt, const Args&... args) {
  int index = 0;
  Status status;
  ((status.isOk() ? (void)(status = bindOne(stmt, ++index, args)) : (void)0), ...);
  return status;
}

// The digest an id names. Internal error when it is not 64 hex characters:
// ids written to the state come from our own hashing, so a bad one is a bug.
Result<Digest> digestOfId(const ObjectId& id);

// Reads a sha256 blob column as a hex ObjectId. Io error when the value is
// not 32 bytes (the schema's CHECK forbids it, so the file was damaged).
Status columnObjectId(const Statement& stmt, int column, ObjectId* out);

}  // namespace mailark::state

// Borrows the cached statement for `sql` as `var`, reset on scope exit.
// Use inside a SqliteStateStore method (needs db_) returning Status/Result.
#define MAILARK_USE_STATEMENT(var, sql)                       \
  Result<Statement*> var##_prepared = db_->prepare(sql);      \
  if (!var##_prepared.isOk()) return var##_prepared.status(); \
  StatementUse var(*var##_prepared)
