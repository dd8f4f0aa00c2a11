#include "src/state/sql_binding.h"

#include <algorithm>
#include <string>

namespace mailark::state {

Result<Digest> digestOfId(const ObjectId& id) {
  Digest d;
  if (!parseDigestHex(id, &d)) {
    // Quote at most a digest's worth: the value is not ours to trust.
    return internalError("object id \"" + id.substr(0, 64) + "\" is not a SHA-256 (64 hex characters)");
  }
  return d;
}

Status columnObjectId(const Statement& stmt, int column, ObjectId* out) {
  std::span<const uint8_t> bytes = stmt.columnBlob(column);
  Digest d;
  if (bytes.size() != d.size()) {
    return ioError("state database holds a " + std::to_string(bytes.size()) +
                   "-byte sha256 (expected 32); the state database is damaged");
  }
  std::copy(bytes.begin(), bytes.end(), d.begin());
  *out = digestHex(d);
  return Status::ok();
}

}  // namespace mailark::state
