#include "src/base/sha256.h"

#include <openssl/evp.h>

#include <array>
#include <cstdlib>

namespace mailark {

std::string digestHex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(64, '0');
  for (size_t i = 0; i < d.size(); ++i) {
    s[2 * i] = kHex[d[i] >> 4];
    s[2 * i + 1] = kHex[d[i] & 15];
  }
  return s;
}

namespace {

// Hex digit values by byte, -1 for anything else: a table, as this runs for
// every object id the state database sees (about 0.3 us per id with branches).
constexpr std::array<int8_t, 256> kHexValues = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<int8_t>(c);
  for (int c = 0; c < 6; ++c) t['a' + c] = t['A' + c] = static_cast<int8_t>(10 + c);
  return t;
}();

}  // namespace

bool parseDigestHex(std::string_view hex, Digest* out) {
  if (hex.size() != 64) return false;
  int bad = 0;
  for (size_t i = 0; i < 32; ++i) {
    int hi = kHexValues[static_cast<uint8_t>(hex[2 * i])], lo = kHexValues[static_cast<uint8_t>(hex[2 * i + 1])];
    bad |= hi | lo;  // negative if any digit was not hex
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return bad >= 0;
}

// SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up
// again on every init, about as costly as hashing a small message. Never
// freed: it lives as long as the process.
static const EVP_MD* sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Allocation failure of a few hundred bytes is not recoverable here.
  if (ctx_ == nullptr || sha256Md() == nullptr || EVP_DigestInit_ex(ctx_, sha256Md(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(std::span<const char> bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
}

Digest Sha256::finish() {
  Digest d{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, d.data(), &len);
  EVP_DigestInit_ex(ctx_, sha256Md(), nullptr);
  return d;
}

Digest Sha256::of(std::span<const char> bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

}  // namespace mailark
