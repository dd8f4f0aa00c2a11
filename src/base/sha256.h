// Incremental SHA-256 over OpenSSL's EVP interface.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace mailark {

using Digest = std::array<uint8_t, 32>;

// Lower-case hex of a digest (64 characters).
std::string digestHex(const Digest& d);
// Parses 64 hex characters (either case); false when malformed.
bool parseDigestHex(std::string_view hex, Digest* out);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::span<const char> bytes);
  // Returns the digest; the object is reset and may be reused.
  Digest finish();

  static Digest of(std::span<const char> bytes);

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace mailark
