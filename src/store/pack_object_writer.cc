#include "src/store/pack_object_writer.h"

#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

#include "src/base/log.h"
#include "src/store/pack_format.h"

namespace mailark::store {

namespace {

Status pwriteAll(int fd, const char* data, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errnoStatus(errno, "write " + path);
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::ok();
}

}  // namespace

PackObjectWriter::PackObjectWriter(PackContentStore* store, PackFile* pack, ZSTD_CCtx_s* cctx)
    : store_(store),
      pack_(pack),
      cctx_(cctx),
      frame_start_(pack->size),
      buffer_(std::make_unique<char[]>(kFrameHeaderSize + kBufferSize)) {}

PackObjectWriter::~PackObjectWriter() {
  if (state_ == State::Writing) abort();
}

Status PackObjectWriter::append(std::span<const char> bytes) {
  if (!error_.isOk()) return error_;
  if (state_ != State::Writing) return internalError("append to a finished object writer");
  if (bytes.empty()) return Status::ok();
  hash_.update(bytes);
  size_ += bytes.size();
  Status s = compress(bytes, false);
  if (!s.isOk()) return fail(std::move(s));
  return Status::ok();
}

Status PackObjectWriter::compress(std::span<const char> bytes, bool end) {
  char* payload = buffer_.get() + kFrameHeaderSize;
  if (cctx_ == nullptr) {
    while (!bytes.empty()) {
      size_t n = std::min(bytes.size(), kBufferSize - buffered_);
      std::memcpy(payload + buffered_, bytes.data(), n);
      buffered_ += n;
      bytes = bytes.subspan(n);
      if (buffered_ == kBufferSize) MAILARK_RETURN_IF_ERROR(flushBuffer(false));
    }
    return Status::ok();
  }
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  const ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
  for (;;) {
    ZSTD_outBuffer out{payload, kBufferSize, buffered_};
    size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
    if (ZSTD_isError(left)) return internalError(std::string("zstd compression: ") + ZSTD_getErrorName(left));
    buffered_ = out.pos;
    bool done = end ? left == 0 : in.pos == in.size;
    if (done) return Status::ok();
    if (buffered_ == kBufferSize) MAILARK_RETURN_IF_ERROR(flushBuffer(false));
  }
}

Status PackObjectWriter::flushBuffer(bool with_header) {
  const char* data = buffer_.get() + kFrameHeaderSize;
  size_t n = buffered_;
  uint64_t at = frame_start_ + kFrameHeaderSize + stored_written_;
  if (with_header) {  // header sits right before the payload in buffer_
    data = buffer_.get();
    n += kFrameHeaderSize;
    at = frame_start_;
  }
  if (n == 0) return Status::ok();
  MAILARK_RETURN_IF_ERROR(pwriteAll(pack_->fd.get(), data, n, at, pack_->path));
  stored_written_ += buffered_;
  buffered_ = 0;
  return Status::ok();
}

Result<ObjectId> PackObjectWriter::commit() {
  if (!error_.isOk()) return error_;
  if (state_ != State::Writing) return internalError("commit of a finished object writer");
  if (cctx_ != nullptr) {
    Status s = compress({}, true);
    if (!s.isOk()) return fail(std::move(s));
  }
  FrameHeader header;
  header.compression = cctx_ != nullptr ? Compression::Zstd : Compression::None;
  header.size = size_;
  header.stored_size = stored_written_ + buffered_;
  header.sha256 = hash_.finish();
  ObjectId id = digestHex(header.sha256);

  Result<std::optional<ObjectLocation>> existing = store_->locate(id);
  if (!existing) return fail(existing.status());
  if (existing->has_value()) {  // already stored: this copy is dropped
    state_ = State::Committed;
    release(stored_written_ > 0);
    return id;
  }
  encodeFrameHeader(header, buffer_.get());
  Status s;
  if (stored_written_ == 0) {
    s = flushBuffer(true);  // one write for the whole frame
  } else {
    s = flushBuffer(false);
    if (s.isOk()) s = pwriteAll(pack_->fd.get(), buffer_.get(), kFrameHeaderSize, frame_start_, pack_->path);
  }
  if (!s.isOk()) return fail(std::move(s));
  StoredObject object;
  object.id = id;
  object.where.pack = pack_->id;
  object.where.offset = frame_start_;
  object.where.length = kFrameHeaderSize + header.stored_size;
  object.where.stored_size = header.stored_size;
  object.where.size = size_;
  object.where.compression = header.compression;
  pack_->size = frame_start_ + object.where.length;
  pack_->dirty = true;
  store_->committed(std::move(object));
  state_ = State::Committed;
  release(false);
  return id;
}

void PackObjectWriter::abort() {
  if (state_ != State::Writing) return;
  state_ = State::Aborted;
  release(stored_written_ > 0);
}

Status PackObjectWriter::fail(Status s) {
  error_ = s;
  if (state_ == State::Writing) {
    state_ = State::Aborted;
    // Cut back at once, so a full disk gets its space back now.
    release(true);
  }
  return s;
}

void PackObjectWriter::release(bool cut_back) {
  buffer_.reset();
  if (pack_ == nullptr) return;
  if (cut_back && ::ftruncate(pack_->fd.get(), static_cast<off_t>(frame_start_)) != 0) {
    // The stray bytes sit past every committed frame; the next object
    // overwrites them, and recovery cuts a leftover tail at the next open.
    log::warn("could not cut " + pack_->path + " back after a dropped object: " + std::strerror(errno));
  }
  store_->releasePack(pack_);
  pack_ = nullptr;
  if (cctx_ != nullptr) store_->returnCompressor(cctx_);
  cctx_ = nullptr;
}

}  // namespace mailark::store
