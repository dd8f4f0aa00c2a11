#include "src/store/pack_object_job.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "src/base/log.h"
#include "src/store/pack_content_store.h"

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

PackObjectJob::PackObjectJob(PackContentStore* store, StrandPtr strand, bool compress)
    : store_(store), strand_(std::move(strand)), compress_(compress) {}

PackObjectJob::~PackObjectJob() {
  // Every path through the strand gives these back; this is the backstop
  // for a job whose tasks never ran (the store is being torn down).
  if (cctx_ != nullptr) store_->returnCompressor(cctx_);
  if (pack_ != nullptr) store_->releasePack(pack_);
  freeOut();
  // Not returnChunk(): the store may be tearing down; only its pool is sure to be there.
  if (whole_ != nullptr) store_->buffers().give(whole_, PackContentStore::kChunkSize);
}

void PackObjectJob::onChunk(char* chunk, size_t n, bool last) {
  Status s;
  if (!ended_) {
    std::span<const char> bytes(chunk, n);
    hash(bytes, last);
    if (last && size_ == 0) {
      whole_ = chunk;  // compressed in writeFrame(), if it is new
      whole_size_ = n;
      chunk = nullptr;
    } else {
      s = consume(bytes, last);
    }
    size_ += n;
  }
  if (chunk != nullptr) store_->returnChunk(chunk, true);
  if (!s.isOk()) fail(s);
  if (!last) return;
  if (ended_) {
    store_->jobDone(this, error_.isOk() ? internalError("object writer ended twice") : error_);
    return;
  }
  ended_ = true;
  header_.compression = compress_ ? Compression::Zstd : Compression::None;
  header_.size = size_;
  header_.stored_size = stored_written_ + buffered_;
  id_ = digestHex(header_.sha256);
  switch (store_->claim(shared_from_this())) {
    case PackContentStore::Claim::Stored:
      dropCopy();
      store_->jobDone(this, id_);
      return;
    case PackContentStore::Claim::Wait:
      return;  // onWinnerDone follows
    case PackContentStore::Claim::Claimed:
      store_->lookUp(shared_from_this());  // onIndexAnswer follows
      return;
  }
}

void PackObjectJob::hash(std::span<const char> bytes, bool last) {
  if (last && !hash_) {
    // The object's only chunk (most mail): no digest context of its own.
    header_.sha256 = sha256Of(bytes);
    return;
  }
  if (!hash_) hash_.emplace();
  hash_->update(bytes);
  if (last) header_.sha256 = hash_->finish();
}

Status PackObjectJob::consume(std::span<const char> bytes, bool end) {
  if (out_ == nullptr) {
    // Sized for this chunk first: most messages fit in one, and a small
    // message should hold about its own size while it waits to be written.
    size_t want = compress_ ? ZSTD_compressBound(bytes.size()) : bytes.size();
    resizeOut(std::min(kFrameHeaderSize + want, kBufferSize));
  }
  if (!compress_) {
    while (!bytes.empty()) {
      if (buffered_ == room_) MAILARK_RETURN_IF_ERROR(makeRoom());
      size_t n = std::min(bytes.size(), room_ - buffered_);
      std::memcpy(out_ + kFrameHeaderSize + buffered_, bytes.data(), n);
      buffered_ += n;
      bytes = bytes.subspan(n);
    }
    return Status::ok();
  }
  if (cctx_ == nullptr) {
    cctx_ = store_->borrowCompressor();
    if (cctx_ == nullptr) return internalError("cannot allocate a zstd compressor");
  }
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  const ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
  for (;;) {
    ZSTD_outBuffer out{out_ + kFrameHeaderSize, room_, buffered_};
    size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
    if (ZSTD_isError(left)) return internalError(std::string("zstd compression: ") + ZSTD_getErrorName(left));
    buffered_ = out.pos;
    if (end ? left == 0 : in.pos == in.size) break;
    if (buffered_ == room_) MAILARK_RETURN_IF_ERROR(makeRoom());
  }
  if (end) {
    store_->returnCompressor(cctx_);
    cctx_ = nullptr;
  }
  return Status::ok();
}

Status PackObjectJob::makeRoom() {
  if (out_size_ < kBufferSize) {
    resizeOut(out_size_ * 2);
    return Status::ok();
  }
  return spill();
}

void PackObjectJob::resizeOut(size_t size) {
  size = BufferPool::classSize(size);
  char* bigger = store_->buffers().take(size);
  if (out_ != nullptr) {
    std::memcpy(bigger + kFrameHeaderSize, out_ + kFrameHeaderSize, buffered_);
    store_->buffers().give(out_, out_size_);
  }
  out_ = bigger;
  out_size_ = size;
  room_ = size - kFrameHeaderSize;
}

void PackObjectJob::freeOut() {
  if (out_ != nullptr) store_->buffers().give(out_, out_size_);
  out_ = nullptr;
  out_size_ = 0;
  room_ = 0;
  buffered_ = 0;
}

Status PackObjectJob::spill() {
  if (pack_ == nullptr) {
    Result<PackFile*> pack = store_->acquirePack(&frame_start_);
    if (!pack) return pack.status();
    pack_ = *pack;
  }
  MAILARK_RETURN_IF_ERROR(pwriteAll(pack_->fd.get(), out_ + kFrameHeaderSize, buffered_,
                                    frame_start_ + kFrameHeaderSize + stored_written_, pack_->path));
  stored_written_ += buffered_;
  buffered_ = 0;
  return Status::ok();
}

void PackObjectJob::onIndexAnswer(const Status& error, bool found) {
  if (!error.isOk() || found) {
    dropCopy();
    store_->unclaim(shared_from_this(), error);
    store_->jobDone(this, error.isOk() ? Result<ObjectId>(id_) : Result<ObjectId>(error));
    return;
  }
  writeFrame();
}

void PackObjectJob::writeFrame() {
  Status s;
  if (whole_ != nullptr) {
    s = consume(std::span<const char>(whole_, whole_size_), true);
    releaseWhole();
    header_.stored_size = buffered_;
    if (!s.isOk()) {
      dropCopy();
      store_->unclaim(shared_from_this(), s);
      store_->jobDone(this, s);
      return;
    }
  }
  encodeFrameHeader(header_, out_);
  if (pack_ == nullptr) {
    Result<PackFile*> pack = store_->acquirePack(&frame_start_);
    if (!pack) {
      s = pack.status();
    } else {
      pack_ = *pack;
      s = pwriteAll(pack_->fd.get(), out_, kFrameHeaderSize + buffered_, frame_start_, pack_->path);
    }
  } else {
    // The payload first, the header last: a crash in between leaves a tail
    // whose header does not check out.
    s = pwriteAll(pack_->fd.get(), out_ + kFrameHeaderSize, buffered_,
                  frame_start_ + kFrameHeaderSize + stored_written_, pack_->path);
    if (s.isOk()) s = pwriteAll(pack_->fd.get(), out_, kFrameHeaderSize, frame_start_, pack_->path);
  }
  if (!s.isOk()) {
    dropCopy();
    store_->unclaim(shared_from_this(), s);
    store_->jobDone(this, s);
    return;
  }
  StoredObject object;
  object.id = id_;
  object.where.pack = pack_->id;
  object.where.offset = frame_start_;
  object.where.length = kFrameHeaderSize + header_.stored_size;
  object.where.stored_size = header_.stored_size;
  object.where.size = size_;
  object.where.compression = header_.compression;
  PackFile* pack = pack_;
  pack_ = nullptr;
  freeOut();
  store_->published(shared_from_this(), std::move(object), pack);
}

void PackObjectJob::onWinnerDone(const Status& winner) {
  dropCopy();
  store_->jobDone(this, winner.isOk() ? Result<ObjectId>(id_) : Result<ObjectId>(winner));
}

void PackObjectJob::onAbort() {
  if (ended_) return;
  ended_ = true;
  dropCopy();
}

void PackObjectJob::releaseWhole() {
  if (whole_ == nullptr) return;
  store_->returnChunk(whole_, true);
  whole_ = nullptr;
  whole_size_ = 0;
}

void PackObjectJob::dropCopy() {
  releaseWhole();
  freeOut();
  if (cctx_ != nullptr) {
    store_->returnCompressor(cctx_);
    cctx_ = nullptr;
  }
  if (pack_ == nullptr) return;
  if (::ftruncate(pack_->fd.get(), static_cast<off_t>(frame_start_)) != 0) {
    // The stray bytes sit past every committed frame; the next object
    // overwrites them, and recovery cuts a leftover tail at the next open.
    log::warn("could not cut " + pack_->path + " back after a dropped object: " + std::strerror(errno));
  }
  store_->releasePack(pack_);
  pack_ = nullptr;
}

void PackObjectJob::fail(Status s) {
  if (ended_) return;
  ended_ = true;
  error_ = s;
  dropCopy();
  store_->jobFailed(this, s);
}

}  // namespace mailark::store
