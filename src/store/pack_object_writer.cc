#include "src/store/pack_object_writer.h"

#include <algorithm>
#include <cstring>

#include "src/store/pack_object_job.h"

namespace mailark::store {

PackObjectWriter::PackObjectWriter(PackContentStore* store, PackObjectJobPtr job)
    : store_(store), job_(std::move(job)) {}

PackObjectWriter::~PackObjectWriter() {
  if (state_ == State::Writing) abort();
}

Status PackObjectWriter::append(std::span<const char> bytes) {
  if (state_ != State::Writing) return internalError("append to a finished object writer");
  MAILARK_RETURN_IF_ERROR(store_->earlyError(*job_));
  size_ += bytes.size();
  while (!bytes.empty()) {
    if (chunk_ == nullptr) chunk_ = store_->takeChunk();
    size_t n = std::min(bytes.size(), PackContentStore::kChunkSize - staged_);
    std::memcpy(chunk_ + staged_, bytes.data(), n);
    staged_ += n;
    bytes = bytes.subspan(n);
    if (staged_ == PackContentStore::kChunkSize) {
      store_->postChunk(job_, chunk_, staged_, false);
      posted_ = true;
      chunk_ = nullptr;
      staged_ = 0;
    }
  }
  return Status::ok();
}

Status PackObjectWriter::commitAsync() {
  if (state_ != State::Writing) return internalError("commit of a finished object writer");
  if (Status s = store_->earlyError(*job_); !s.isOk()) {
    abort();
    return s;
  }
  state_ = State::Committed;
  // An empty last chunk is fine: it is what finishes the object.
  if (chunk_ == nullptr) chunk_ = store_->takeChunk();
  store_->postChunk(job_, chunk_, staged_, true, /*whole=*/!posted_);
  chunk_ = nullptr;
  staged_ = 0;
  return Status::ok();
}

Result<ObjectId> PackObjectWriter::wait() {
  if (state_ != State::Committed) return internalError("wait for an object writer that was not committed");
  return store_->waitFor(*job_);
}

void PackObjectWriter::abort() {
  if (state_ != State::Writing) return;
  state_ = State::Aborted;
  if (chunk_ != nullptr) store_->returnChunk(chunk_, false);
  chunk_ = nullptr;
  store_->postAbort(job_);
}

}  // namespace mailark::store
