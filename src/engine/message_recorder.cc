#include "src/engine/message_recorder.h"

#include <csignal>
#include <cstdlib>

namespace mailark::engine {

MessageRecorder::MessageRecorder(ContentStore* store, StateStore* state, RecorderLimits limits)
    : store_(store), state_(state), limits_(limits) {
  // The one place the crash test's hook is read; see the header.
  if (const char* v = std::getenv("MAILARK_TEST_KILL_AFTER_PACK_SYNC")) kill_after_sync_ = std::atol(v);
}

Status MessageRecorder::finishMessage(int64_t folder_id, ObjectWriterPtr writer, MessageRecord message) {
  message.size = writer->size();
  MAILARK_RETURN_IF_ERROR(writer->commitAsync());
  queued_bytes_ += message.size;
  unfinished_.push_back({folder_id, std::move(message), std::move(writer)});
  if (queued() >= limits_.max_messages || queued_bytes_ >= limits_.max_bytes) return flush();
  return Status::ok();
}

Status MessageRecorder::flush() {
  // Bytes first: nothing below may be recorded before this returns ok.
  Result<std::vector<StoredObject>> synced = store_->sync();
  if (!synced) return synced.status();
  for (StoredObject& o : *synced) objects_.push_back(std::move(o));
  // sync() waited for every object, so these return at once.
  Status failed;
  for (Unfinished& u : unfinished_) {
    Result<ObjectId> id = u.writer->wait();
    if (!id) {
      if (failed.isOk()) failed = id.status();
      queued_bytes_ -= u.message.size;
      continue;  // never recorded: the next run fetches it again
    }
    u.message.sha256 = std::move(*id);
    queue_.push_back({u.folder_id, std::move(u.message)});
  }
  unfinished_.clear();
  if (!objects_.empty() || !queue_.empty()) {
    if (kill_after_sync_ > 0 && ++syncs_ >= kill_after_sync_) std::raise(SIGKILL);
    MAILARK_RETURN_IF_ERROR(state_->recordBatch(objects_, queue_));
    store_->indexed(objects_);
    objects_.clear();
    queue_.clear();
    queued_bytes_ = 0;
  }
  Status steps = runSteps();
  return failed.isOk() ? steps : failed;
}

Status MessageRecorder::afterRecorded(std::string what, std::function<Status()> step) {
  steps_.push_back({std::move(what), std::move(step)});
  if (unfinished_.empty() && queue_.empty() && objects_.empty()) return runSteps();
  return Status::ok();
}

Status MessageRecorder::runSteps() {
  std::vector<Step> steps;
  steps.swap(steps_);
  Status first;
  for (Step& step : steps) {
    Status s = step.run();
    if (!s.isOk() && first.isOk()) first = s.withContext(step.what);
  }
  return first;
}

}  // namespace mailark::engine
