// Reading side of PackContentStore: frame reads with full checks, pack walks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <vector>

#include "src/store/object_layout.h"
#include "src/store/pack_content_store.h"
#include "src/store/pack_format.h"

namespace mailark::store {

namespace {

constexpr size_t kReadChunk = 256 * 1024;

// Reads exactly n bytes at offset; false at end of file.
Result<bool> preadExact(int fd, char* out, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errnoStatus(errno, "read " + path);
    }
    if (r == 0) return false;
    out += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

}  // namespace

Result<int> PackContentStore::readFd(uint32_t pack) {
  auto it = read_fds_.find(pack);
  if (it != read_fds_.end()) return it->second.get();
  const std::string path = packPath(root_, pack);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return ioError("pack " + path + " is missing");
    return errnoStatus(errno, "open " + path);
  }
  int raw = fd.get();
  read_fds_.emplace(pack, std::move(fd));
  return raw;
}

// Decodes one frame's payload, hashing what it produces. `sink` may be null.
Status PackContentStore::readAt(const ObjectId& id, const ObjectLocation& where,
                                const std::function<Status(std::span<const char>)>& sink) {
  const std::string path = packPath(root_, where.pack);
  auto damaged = [&](const std::string& why) {
    return ioError("object " + id + " in " + path + " at offset " + std::to_string(where.offset) +
                   " is damaged: " + why);
  };
  Result<int> fd = readFd(where.pack);
  if (!fd) return damaged(fd.status().message());
  char head[kFrameHeaderSize];
  Result<bool> got = preadExact(*fd, head, sizeof head, where.offset, path);
  if (!got) return got.status();
  if (!*got) return damaged("the pack ends before the frame (truncated pack)");
  std::optional<FrameHeader> header = decodeFrameHeader(std::span<const char>(head, sizeof head));
  if (!header) return damaged("bad frame header");
  if (digestHex(header->sha256) != id) return damaged("the frame holds a different object");
  if (header->stored_size != where.stored_size || header->size != where.size)
    return damaged("the frame's sizes disagree with the index");

  if (header->compression == Compression::Zstd && decompressor_ == nullptr) {
    decompressor_ = ZSTD_createDCtx();
    if (decompressor_ == nullptr) return internalError("cannot allocate a zstd decompressor");
  }
  if (decompressor_ != nullptr) ZSTD_DCtx_reset(decompressor_, ZSTD_reset_session_only);
  std::vector<char> in(kReadChunk);
  std::vector<char> out(header->compression == Compression::Zstd ? ZSTD_DStreamOutSize() : 0);
  Sha256 hash;
  uint64_t produced = 0;
  auto emit = [&](const char* data, size_t n) -> Status {
    hash.update(std::span<const char>(data, n));
    produced += n;
    if (produced > header->size) return damaged("the payload decodes to more bytes than recorded");
    return sink ? sink(std::span<const char>(data, n)) : Status::ok();
  };
  uint64_t offset = where.offset + kFrameHeaderSize;
  uint64_t left = header->stored_size;
  size_t zstd_left = 1;
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, in.size()));
    got = preadExact(*fd, in.data(), n, offset, path);
    if (!got) return got.status();
    if (!*got) return damaged("the pack ends inside the frame (truncated pack)");
    offset += n;
    left -= n;
    if (header->compression == Compression::None) {
      MAILARK_RETURN_IF_ERROR(emit(in.data(), n));
      continue;
    }
    ZSTD_inBuffer zin{in.data(), n, 0};
    while (zin.pos < zin.size) {
      ZSTD_outBuffer zout{out.data(), out.size(), 0};
      zstd_left = ZSTD_decompressStream(decompressor_, &zout, &zin);
      if (ZSTD_isError(zstd_left)) return damaged(std::string("zstd: ") + ZSTD_getErrorName(zstd_left));
      MAILARK_RETURN_IF_ERROR(emit(out.data(), zout.pos));
    }
  }
  if (header->compression == Compression::Zstd) {
    // Drain anything zstd still holds back after the last input.
    while (zstd_left != 0) {
      ZSTD_inBuffer zin{nullptr, 0, 0};
      ZSTD_outBuffer zout{out.data(), out.size(), 0};
      zstd_left = ZSTD_decompressStream(decompressor_, &zout, &zin);
      if (ZSTD_isError(zstd_left)) return damaged(std::string("zstd: ") + ZSTD_getErrorName(zstd_left));
      if (zout.pos == 0) break;
      MAILARK_RETURN_IF_ERROR(emit(out.data(), zout.pos));
    }
    if (zstd_left != 0) return damaged("the zstd frame is incomplete");
  }
  if (produced != header->size) return damaged("the payload decodes to fewer bytes than recorded");
  if (digestHex(hash.finish()) != id) return damaged("SHA-256 mismatch");
  return Status::ok();
}

Status PackContentStore::read(const ObjectId& id, const std::function<Status(std::span<const char>)>& sink) {
  if (!isObjectId(id)) return notFound("no object '" + id + "': an object id is 64 lower-case hex digits");
  Result<std::optional<ObjectLocation>> where = locate(id);
  if (!where) return where.status();
  if (where->has_value()) return readAt(id, **where, sink);
  if (legacy_) return legacy_->read(id, sink);
  return notFound("object " + id + " is not in the archive " + root_);
}

Result<PackScan> PackContentStore::scanPack(uint32_t pack, uint64_t from) {
  PackScan scan;
  const std::string path = packPath(root_, pack);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoStatus(errno, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errnoStatus(errno, "stat " + path);
  scan.file_size = static_cast<uint64_t>(st.st_size);
  if (scan.file_size == 0) return scan;
  char head[kFrameHeaderSize];
  Result<bool> got = preadExact(fd.get(), head, kPackHeaderSize, 0, path);
  if (!got) return got.status();
  if (!*got || !isPackHeader(std::span<const char>(head, kPackHeaderSize))) {
    scan.problem = "no valid pack header";
    return scan;
  }
  uint64_t pos = std::max<uint64_t>(from, kPackHeaderSize);
  scan.valid_end = pos;
  while (pos < scan.file_size) {
    got = preadExact(fd.get(), head, sizeof head, pos, path);
    if (!got) return got.status();
    std::optional<FrameHeader> header;
    if (*got) header = decodeFrameHeader(std::span<const char>(head, sizeof head));
    if (!header) {
      scan.problem = "torn or damaged frame header at offset " + std::to_string(pos);
      return scan;
    }
    StoredObject o;
    o.id = digestHex(header->sha256);
    o.where = {pack, pos, kFrameHeaderSize + header->stored_size, header->stored_size, header->size,
               header->compression};
    if (pos + o.where.length > scan.file_size) {
      scan.problem = "frame at offset " + std::to_string(pos) + " runs past the end of the pack";
      return scan;
    }
    Status s = readAt(o.id, o.where, nullptr);
    if (!s.isOk()) {
      scan.problem = s.message();
      return scan;
    }
    pos += o.where.length;
    scan.valid_end = pos;
    scan.frames.push_back(std::move(o));
  }
  return scan;
}

}  // namespace mailark::store
