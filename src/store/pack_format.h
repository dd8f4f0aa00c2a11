// The on-disk format of pack files. Only this file and pack_format.cc know
// the byte layout.
//
//   <root>/packs/pack-00000001.mpk
//     file header  16 bytes: "MAILARK-PACK" + u32 version (1), little-endian
//     frame*       one per object, back to back:
//       header     64 bytes: u32 magic "MAOB", u8 version, u8 compression,
//                  u16 zero, u64 original size, u64 stored size,
//                  32 bytes SHA-256 of the original bytes,
//                  u32 check (first 4 bytes of SHA-256 over bytes 0..55),
//                  u32 zero
//       payload    stored-size bytes (zstd frame or the original bytes)
//
// A frame carries everything needed to check it alone: its header check
// catches a torn or overwritten header, and the payload decodes to bytes
// whose SHA-256 must equal the one in the header. The header is written
// last when an object is committed, so a crash mid-object leaves a tail
// whose header does not check out, and recovery cuts it off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "mailark/content_store.h"
#include "src/base/sha256.h"

namespace mailark::store {

inline constexpr size_t kPackHeaderSize = 16;
inline constexpr size_t kFrameHeaderSize = 64;

struct FrameHeader {
  Compression compression = Compression::None;
  uint64_t size = 0;
  uint64_t stored_size = 0;
  Digest sha256{};
};

// SHA-256 of `bytes` with this thread's reusable hasher: a fresh Sha256
// costs a malloc and an OpenSSL digest set-up, about a microsecond, which
// is a few percent of a small message's whole cost.
Digest sha256Of(std::span<const char> bytes);

void encodePackHeader(char out[kPackHeaderSize]);
bool isPackHeader(std::span<const char> bytes);

void encodeFrameHeader(const FrameHeader& header, char out[kFrameHeaderSize]);
// nullopt when the bytes are not a valid frame header (torn, zeroed, damaged).
std::optional<FrameHeader> decodeFrameHeader(std::span<const char> bytes);

std::string packsDir(const std::string& root);
std::string packPath(const std::string& root, uint32_t pack);
// "pack-00000012.mpk" -> 12; nullopt for any other name.
std::optional<uint32_t> parsePackName(const std::string& name);

}  // namespace mailark::store
