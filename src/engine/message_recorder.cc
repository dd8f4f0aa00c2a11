#include "src/engine/message_recorder.h"

#include <csignal>
#include <cstdlib>

namespace mailark::engine {

MessageRecorder::MessageRecorder(ContentStore* store, StateStore* state, RecorderLimits limits)
    : store_(store), state_(state), limits_(limits) {
  // The one place the crash test's hook is read; see the header.
  if (const char* v = std::getenv("MAILARK_TEST_KILL_AFTER_PACK_SYNC")) kill_after_sync_ = std::atol(v);
}

Result<ObjectId> MessageRecorder::finishMessage(int64_t folder_id, ObjectWriterPtr writer, MessageRecord message) {
  message.size = writer->size();
  Result<ObjectId> id = writer->commit();
  if (!id) return id.status();
  message.sha256 = *id;
  queued_bytes_ += message.size;
  queue_.push_back({folder_id, std::move(message)});
  if (queue_.size() >= limits_.max_messages || queued_bytes_ >= limits_.max_bytes) {
    MAILARK_RETURN_IF_ERROR(flush());
  }
  return id;
}

Status MessageRecorder::flush() {
  // Bytes first: nothing below may be recorded before this returns ok.
  Result<std::vector<StoredObject>> synced = store_->sync();
  if (!synced) return synced.status();
  for (StoredObject& o : *synced) objects_.push_back(std::move(o));
  if (objects_.empty() && queue_.empty()) return Status::ok();
  if (kill_after_sync_ > 0 && ++syncs_ >= kill_after_sync_) std::raise(SIGKILL);
  MAILARK_RETURN_IF_ERROR(state_->recordBatch(objects_, queue_));
  store_->indexed(objects_);
  objects_.clear();
  queue_.clear();
  queued_bytes_ = 0;
  return Status::ok();
}

}  // namespace mailark::engine
