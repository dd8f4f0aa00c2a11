#include "src/engine/message_recorder.h"

#include <csignal>
#include <cstdlib>
#include <iterator>

namespace mailark::engine {

namespace {

void keepFirst(Status& first, Status s) {
  if (first.isOk() && !s.isOk()) first = std::move(s);
}

}  // namespace

MessageRecorder::MessageRecorder(ContentStore* store, StateStore* state, RecorderLimits limits)
    : store_(store), state_(state), limits_(limits) {
  // The one place the crash test's hook is read; see the header.
  if (const char* v = std::getenv("MAILARK_TEST_KILL_AFTER_PACK_SYNC")) kill_after_sync_ = std::atol(v);
}

MessageRecorder::~MessageRecorder() {
  syncer_.setNotifier(nullptr);
  if (!in_flight_) return;
  // Hand the packs back to the store; the rows stay unrecorded.
  Status ran = syncer_.collect();
  (void)store_->finishSync(std::move(in_flight_->pending), ran);
}

Status MessageRecorder::finishMessage(int64_t folder_id, ObjectWriterPtr writer, MessageRecord message) {
  message.size = writer->size();
  MAILARK_RETURN_IF_ERROR(writer->commitAsync());
  queued_bytes_ += message.size;
  unfinished_.push_back({folder_id, std::move(message), std::move(writer)});
  onSyncDone();
  Status result = takeBackgroundError();
  auto past = [&](size_t times) {
    return waiting() >= times * limits_.max_messages || queued_bytes_ >= times * limits_.max_bytes;
  };
  if (past(1)) {
    // A whole batch behind the one under way: wait for it (bounded memory).
    if (in_flight_ && past(2)) keepFirst(result, finishBackgroundBatch());
    if (!in_flight_) keepFirst(result, startBackgroundBatch());
  }
  return result;
}

Status MessageRecorder::flush() {
  Status result = takeBackgroundError();
  if (in_flight_) keepFirst(result, finishBackgroundBatch());
  // Always a full sync, even with nothing queued: frames recovered when the
  // store was opened are handed over by its first sync.
  Batch batch;
  Status failed;
  Status taken = takeBatch(batch, failed);
  if (!taken.isOk()) {
    keepFirst(result, taken);
    return result;
  }
  Status ran = batch.pending->run();
  keepFirst(result, record(std::move(batch), ran));
  keepFirst(result, failed);
  return result;
}

void MessageRecorder::onSyncDone() {
  if (in_flight_ && syncer_.done()) keepFirst(background_error_, finishBackgroundBatch());
}

Status MessageRecorder::takeBackgroundError() {
  Status error = std::move(background_error_);
  background_error_ = Status::ok();
  return error;
}

Status MessageRecorder::takeBatch(Batch& batch, Status& failed) {
  Result<PendingSyncPtr> pending = store_->beginSync();
  if (!pending) return pending.status();
  batch.pending = std::move(*pending);
  // beginSync() waited for every object, so these return at once.
  for (Unfinished& u : unfinished_) {
    Result<ObjectId> id = u.writer->wait();
    if (!id) {
      keepFirst(failed, id.status());
      queued_bytes_ -= u.message.size;
      continue;  // never recorded: the next run fetches it again
    }
    u.message.sha256 = std::move(*id);
    queue_.push_back({u.folder_id, std::move(u.message)});
  }
  unfinished_.clear();
  batch.rows.swap(queue_);
  batch.steps.swap(steps_);
  batch.bytes = queued_bytes_;
  queued_bytes_ = 0;
  return Status::ok();
}

Status MessageRecorder::startBackgroundBatch() {
  Batch batch;
  Status failed;
  Status taken = takeBatch(batch, failed);
  if (!taken.isOk()) return taken;
  in_flight_ = std::move(batch);
  syncer_.start(in_flight_->pending.get());
  return failed;
}

Status MessageRecorder::finishBackgroundBatch() {
  Status ran = syncer_.collect();
  Batch batch = std::move(*in_flight_);
  in_flight_.reset();
  return record(std::move(batch), ran);
}

Status MessageRecorder::record(Batch batch, const Status& ran) {
  Result<std::vector<StoredObject>> synced = store_->finishSync(std::move(batch.pending), ran);
  if (!synced) {
    requeue(batch);
    return synced.status();
  }
  for (StoredObject& o : *synced) objects_.push_back(std::move(o));
  if (!objects_.empty() || !batch.rows.empty()) {
    if (kill_after_sync_ > 0 && ++syncs_ >= kill_after_sync_) std::raise(SIGKILL);
    if (Status s = state_->recordBatch(objects_, batch.rows); !s.isOk()) {
      requeue(batch);
      return s;
    }
    store_->indexed(objects_);
    objects_.clear();
  }
  return runSteps(batch.steps);
}

void MessageRecorder::requeue(Batch& batch) {
  queue_.insert(queue_.begin(), std::make_move_iterator(batch.rows.begin()), std::make_move_iterator(batch.rows.end()));
  steps_.insert(steps_.begin(), std::make_move_iterator(batch.steps.begin()),
                std::make_move_iterator(batch.steps.end()));
  queued_bytes_ += batch.bytes;
}

Status MessageRecorder::afterRecorded(std::string what, std::function<Status()> step) {
  if (waiting() > 0 || !objects_.empty()) {
    steps_.push_back({std::move(what), std::move(step)});
    return Status::ok();
  }
  if (in_flight_) {
    // Every row queued before it is in the batch under way.
    in_flight_->steps.push_back({std::move(what), std::move(step)});
    return Status::ok();
  }
  steps_.push_back({std::move(what), std::move(step)});
  std::vector<Step> steps;
  steps.swap(steps_);
  return runSteps(steps);
}

Status MessageRecorder::runSteps(std::vector<Step>& steps) {
  Status first;
  for (Step& step : steps) {
    Status s = step.run();
    if (!s.isOk() && first.isOk()) first = s.withContext(step.what);
  }
  steps.clear();
  return first;
}

}  // namespace mailark::engine
