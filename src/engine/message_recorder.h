// MessageRecorder: the one place that orders "bytes durable" before "UID
// recorded". Every job (IMAP, POP3) stores messages through it.
//
// Group commit: finishMessage() hands the object to the store
// (ObjectWriter::commitAsync: hashing, compression and the pack write may
// run on the store's workers) and queues the message row with its writer.
// A batch is recorded in three steps: the store's beginSync() waits for
// every handed-over object and fills in each queued row's object id; the
// pack fsyncs run; then the new index rows and every row of the batch are
// recorded in ONE StateStore transaction (recordBatch). A crash between
// the fsync and the transaction loses only queued rows, whose bytes the
// next run finds again (dedup); a row can never point at bytes that are
// not durable.
//
// When the queue passes its limits, a batch starts by itself and its
// fsyncs run on a SyncThread while the loop goes on fetching; the batch is
// recorded once they are done: on the next finishMessage() or flush(), or
// at once from onSyncDone(), which the owner may have the sync thread wake
// it for (setSyncNotifier). One batch is under way at a time; when the
// queue passes twice its limits first, finishMessage() waits for it.
// flush() records everything at once, waiting for the fsyncs.
//
// A message whose object failed in the background (e.g. StorageFull) is
// dropped from the queue, never recorded (the next run fetches it again),
// and that error is returned after recording the others. An error found
// in the background (a failed fsync or transaction) is returned by the
// next finishMessage() or flush(); the batch goes back to the queue and
// the next batch retries it.
//
// What may only follow the rows (a folder's progress) is queued with
// afterRecorded() and runs right after the transaction that recorded every
// row queued before it, so progress never passes a message whose row is
// not there, without a flush per folder. Jobs call flush() when they
// finish. Shared by all jobs of a run, so one fsync covers every job's
// writes.
//
// Threading: the loop's thread, except the notifier. flush() blocks it
// while the store's workers finish outstanding objects and while fsync
// runs; finishMessage() blocks it under the store's backpressure and when
// a batch is a whole batch behind.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mailark/content_store.h"
#include "mailark/state_store.h"
#include "src/engine/sync_thread.h"

namespace mailark::engine {

struct RecorderLimits {
  size_t max_messages = 2000;          // queued rows that trigger a flush
  uint64_t max_bytes = 64ull << 20;    // queued original bytes that trigger a flush
};

class MessageRecorder {
 public:
  // Both must outlive the recorder.
  MessageRecorder(ContentStore* store, StateStore* state, RecorderLimits limits = {});
  // A batch under way is left unrecorded (as a crash would leave it).
  ~MessageRecorder();

  Result<ObjectWriterPtr> beginMessage() { return store_->newObject(); }

  // Hands the object over (commitAsync) and queues the message under
  // `folder_id`. `message.size` is filled in here; `message.sha256` once
  // the object is finished, by the next flush(), which records the row.
  // Returns an error known at once (the writer's sticky error, or that of
  // a flush triggered by the queue limits).
  Status finishMessage(int64_t folder_id, ObjectWriterPtr writer, MessageRecord message);

  // Makes every finished message durable and recorded, then runs the steps
  // queued by afterRecorded(). Returns the first error of either, or one
  // found in the background since the last call.
  Status flush();

  // `notify` runs on the sync thread whenever a background batch's fsyncs
  // are done (e.g. uv_async_send); the owner should then call
  // onSyncDone(). nullptr: never again once this returns.
  void setSyncNotifier(std::function<void()> notify) { syncer_.setNotifier(std::move(notify)); }
  // Records the background batch if its fsyncs are done. An error is kept
  // for the next finishMessage() or flush().
  void onSyncDone();

  // Runs `step` once every message handed over so far is recorded (or was
  // dropped as failed): at once when none is waiting, else right after the
  // transaction of a flush(). `what` names it in the step's error. Steps
  // run in order; a crash before then simply loses them (the next run
  // redoes what they would have recorded).
  Status afterRecorded(std::string what, std::function<Status()> step);

  // Messages handed over and not yet recorded, the batch under way included.
  size_t queued() const { return waiting() + (in_flight_ ? in_flight_->rows.size() : 0); }

 private:
  struct Step {
    std::string what;
    std::function<Status()> run;
  };
  struct Unfinished {
    int64_t folder_id;
    MessageRecord message;
    ObjectWriterPtr writer;  // committed; the id is read after beginSync()
  };
  // Rows whose objects one sync covers, and the steps that follow them.
  struct Batch {
    PendingSyncPtr pending;
    std::vector<QueuedMessage> rows;
    std::vector<Step> steps;
    uint64_t bytes = 0;
  };

  size_t waiting() const { return unfinished_.size() + queue_.size(); }
  // The error kept by onSyncDone() since the last call, if any.
  Status takeBackgroundError();
  // beginSync() and everything queued so far into `batch`; the error of a
  // dropped (failed) object goes to `failed`.
  Status takeBatch(Batch& batch, Status& failed);
  Status startBackgroundBatch();
  Status finishBackgroundBatch();
  // finishSync, then recordBatch, then the batch's steps.
  Status record(Batch batch, const Status& ran);
  // After an error: the batch waits again, ahead of what came since.
  void requeue(Batch& batch);
  static Status runSteps(std::vector<Step>& steps);

  ContentStore* store_;
  StateStore* state_;
  RecorderLimits limits_;
  std::vector<Unfinished> unfinished_;  // ids not yet known
  std::vector<QueuedMessage> queue_;    // ids known, not yet in a batch
  std::vector<StoredObject> objects_;  // synced, not yet indexed
  std::vector<Step> steps_;            // wait for the rows queued before them
  uint64_t queued_bytes_ = 0;          // of unfinished_ and queue_
  std::optional<Batch> in_flight_;     // its fsyncs run on syncer_
  Status background_error_;            // for the next finishMessage() or flush()
  SyncThread syncer_;                  // last: joined before the rest goes
  // Test-only fault injection (MAILARK_TEST_KILL_AFTER_PACK_SYNC=N): the
  // process kills itself after the Nth non-empty pack sync, before the rows
  // are committed. 0 = off.
  long kill_after_sync_ = 0;
  long syncs_ = 0;
};

}  // namespace mailark::engine
