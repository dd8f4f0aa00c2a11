// PackObjectWriter: the owner-thread side of one object in a pack store.
//
// append() only copies bytes into a 64 KiB chunk; each full chunk, and the
// last one at commitAsync(), is posted to the object's PackObjectJob, which
// hashes, compresses and writes on a worker (pack_object_job.h). Posting
// blocks only when too many chunks are in flight (the store's backpressure).
// A background error (e.g. StorageFull) is sticky: append() and
// commitAsync() report it as soon as it is known, wait() always does.
#pragma once

#include <memory>

#include "mailark/content_store.h"
#include "src/store/pack_content_store.h"

namespace mailark::store {

class PackObjectWriter final : public ObjectWriter {
 public:
  PackObjectWriter(PackContentStore* store, PackObjectJobPtr job);
  ~PackObjectWriter() override;

  Status append(std::span<const char> bytes) override;
  uint64_t size() const override { return size_; }
  Status commitAsync() override;
  Result<ObjectId> wait() override;
  void abort() override;

 private:
  enum class State { Writing, Committed, Aborted };

  PackContentStore* store_;
  PackObjectJobPtr job_;
  char* chunk_ = nullptr;  // from the store's pool; taken on first append
  size_t staged_ = 0;      // bytes in chunk_
  bool posted_ = false;    // a full chunk went to the job already
  uint64_t size_ = 0;
  State state_ = State::Writing;
};

}  // namespace mailark::store
