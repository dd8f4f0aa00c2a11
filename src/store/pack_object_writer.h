// PackObjectWriter: streams one object into a pack it holds alone, hashing
// the original bytes and (optionally) zstd-compressing them on the way.
//
// Payload bytes go out in 256 KiB pwrite()s past a 64-byte gap left for the
// frame header; commit() writes the header last. A small object is written
// whole, header and payload, in one pwrite(). Memory is bounded by the
// buffer, never by the message size. Duplicates and aborted objects are cut
// back off the pack, so its end is always the end of a committed frame.
#pragma once

#include <memory>

#include "mailark/content_store.h"
#include "src/base/sha256.h"
#include "src/store/pack_content_store.h"

namespace mailark::store {

class PackObjectWriter final : public ObjectWriter {
 public:
  static constexpr size_t kBufferSize = 256 * 1024;

  // Takes `pack` (acquired from `store`) and `cctx` (null: no compression).
  PackObjectWriter(PackContentStore* store, PackFile* pack, ZSTD_CCtx_s* cctx);
  ~PackObjectWriter() override;

  Status append(std::span<const char> bytes) override;
  uint64_t size() const override { return size_; }
  Result<ObjectId> commit() override;
  void abort() override;

 private:
  enum class State { Writing, Committed, Aborted };

  Status compress(std::span<const char> bytes, bool end);
  // Writes the buffered payload (and the header when `with_header`).
  Status flushBuffer(bool with_header);
  Status fail(Status s);
  // Cuts the pack back to the frame start and gives pack and compressor back.
  void release(bool cut_back);

  PackContentStore* store_;
  PackFile* pack_;
  ZSTD_CCtx_s* cctx_;
  uint64_t frame_start_;
  Sha256 hash_;
  std::unique_ptr<char[]> buffer_;  // kFrameHeaderSize gap + kBufferSize payload
  size_t buffered_ = 0;             // payload bytes in buffer_
  uint64_t stored_written_ = 0;     // payload bytes already in the pack
  uint64_t size_ = 0;
  State state_ = State::Writing;
  Status error_;
};

}  // namespace mailark::store
