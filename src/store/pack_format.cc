#include "src/store/pack_format.h"

#include <cstdio>
#include <cstring>

namespace mailark::store {

namespace {

constexpr char kPackMagic[12] = {'M', 'A', 'I', 'L', 'A', 'R', 'K', '-', 'P', 'A', 'C', 'K'};
constexpr uint32_t kPackVersion = 1;
constexpr uint32_t kFrameMagic = 0x424f414d;  // "MAOB" little-endian
constexpr uint8_t kFrameVersion = 1;
constexpr size_t kCheckedBytes = 56;

void putU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void putU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t getU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t getU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint32_t headerCheck(const char* header) {
  Digest d = sha256Of(std::span<const char>(header, kCheckedBytes));
  return getU32(reinterpret_cast<const char*>(d.data()));
}

}  // namespace

Digest sha256Of(std::span<const char> bytes) {
  thread_local Sha256 hasher;
  hasher.update(bytes);
  return hasher.finish();  // resets it for the next call
}

void encodePackHeader(char out[kPackHeaderSize]) {
  std::memcpy(out, kPackMagic, sizeof kPackMagic);
  putU32(out + 12, kPackVersion);
}

bool isPackHeader(std::span<const char> bytes) {
  return bytes.size() >= kPackHeaderSize && std::memcmp(bytes.data(), kPackMagic, sizeof kPackMagic) == 0 &&
         getU32(bytes.data() + 12) == kPackVersion;
}

void encodeFrameHeader(const FrameHeader& header, char out[kFrameHeaderSize]) {
  std::memset(out, 0, kFrameHeaderSize);
  putU32(out, kFrameMagic);
  out[4] = static_cast<char>(kFrameVersion);
  out[5] = static_cast<char>(header.compression);
  putU64(out + 8, header.size);
  putU64(out + 16, header.stored_size);
  std::memcpy(out + 24, header.sha256.data(), header.sha256.size());
  putU32(out + kCheckedBytes, headerCheck(out));
}

std::optional<FrameHeader> decodeFrameHeader(std::span<const char> bytes) {
  if (bytes.size() < kFrameHeaderSize) return std::nullopt;
  const char* p = bytes.data();
  if (getU32(p) != kFrameMagic || static_cast<uint8_t>(p[4]) != kFrameVersion) return std::nullopt;
  if (getU32(p + kCheckedBytes) != headerCheck(p)) return std::nullopt;
  const uint8_t compression = static_cast<uint8_t>(p[5]);
  if (compression > static_cast<uint8_t>(Compression::Zstd)) return std::nullopt;
  FrameHeader h;
  h.compression = static_cast<Compression>(compression);
  h.size = getU64(p + 8);
  h.stored_size = getU64(p + 16);
  std::memcpy(h.sha256.data(), p + 24, h.sha256.size());
  return h;
}

std::string packsDir(const std::string& root) { return root + "/packs"; }

std::string packPath(const std::string& root, uint32_t pack) {
  char name[32];
  std::snprintf(name, sizeof name, "/pack-%08u.mpk", pack);
  return packsDir(root) + name;
}

std::optional<uint32_t> parsePackName(const std::string& name) {
  if (name.size() != 17 || name.compare(0, 5, "pack-") != 0 || name.compare(13, 4, ".mpk") != 0)
    return std::nullopt;
  uint32_t v = 0;
  for (size_t i = 5; i < 13; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(name[i] - '0');
  }
  if (v == 0) return std::nullopt;
  return v;
}

}  // namespace mailark::store
