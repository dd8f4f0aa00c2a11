#include "src/state/sql_functions.h"

#include <sqlite3.h>

#include <string_view>

#include "src/base/sha256.h"

namespace mailark::state {

namespace {

// SQLite calls this from inside sqlite3_step; it must not throw.
void sha256Blob(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  if (argc != 1 || sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sqlite3_result_null(ctx);
    return;
  }
  const unsigned char* text = sqlite3_value_text(argv[0]);
  const int n = sqlite3_value_bytes(argv[0]);
  Digest digest;
  if (text == nullptr ||
      !parseDigestHex(std::string_view(reinterpret_cast<const char*>(text), static_cast<size_t>(n)),
                      &digest)) {
    sqlite3_result_null(ctx);
    return;
  }
  sqlite3_result_blob(ctx, digest.data(), static_cast<int>(digest.size()), SQLITE_TRANSIENT);
}

}  // namespace

Status registerSqlFunctions(SqliteDb& db) {
  // DETERMINISTIC lets SQLite use it in CHECKs and indexes; INNOCUOUS
  // because it has no side effects and reads nothing but its argument.
  int rc = sqlite3_create_function_v2(db.handle(), "mailark_sha256_blob", 1,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                      nullptr, sha256Blob, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqliteStatus(db.handle(), rc, "register SQL function mailark_sha256_blob");
  return Status::ok();
}

}  // namespace mailark::state
