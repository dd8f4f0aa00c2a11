// MessageRecorder: the one place that orders "bytes durable" before "UID
// recorded". Every job (IMAP, POP3) stores messages through it.
//
// Group commit: finishMessage() hands the object to the store
// (ObjectWriter::commitAsync: hashing, compression and the pack write may
// run on the store's workers) and queues the message row with its writer.
// flush() makes the store durable (ContentStore::sync: waits for every
// handed-over object, then fsyncs the written packs), fills in each queued
// row's object id from its writer, then records the new index rows and
// every queued message row in ONE StateStore transaction (recordBatch). A
// crash between the two loses only queued rows, whose bytes the next run
// finds again (dedup); it can never leave a row pointing at bytes that are
// not durable. flush() also runs by itself when the queue passes its limits.
//
// A message whose object failed in the background (e.g. StorageFull) is
// dropped from the queue, never recorded (the next run fetches it again),
// and flush() returns that error after recording the others.
//
// What may only follow the rows (a folder's progress) is queued with
// afterRecorded() and runs right after the transaction that recorded every
// row queued before it, so progress never passes a message whose row is
// not there, without a flush (an fsync stalling the loop) per folder. Jobs
// call flush() when they finish; a run flushes once more at its end.
// Shared by all jobs of a run, so one fsync covers every job's writes.
//
// If recordBatch fails, the batch stays queued and the next flush retries it.
//
// Threading: the loop's thread. flush() blocks it while the store's
// workers finish outstanding objects and while fsync runs;
// finishMessage() blocks it only under the store's backpressure.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mailark/content_store.h"
#include "mailark/state_store.h"

namespace mailark::engine {

struct RecorderLimits {
  size_t max_messages = 2000;          // queued rows that trigger a flush
  uint64_t max_bytes = 64ull << 20;    // queued original bytes that trigger a flush
};

class MessageRecorder {
 public:
  // Both must outlive the recorder.
  MessageRecorder(ContentStore* store, StateStore* state, RecorderLimits limits = {});

  Result<ObjectWriterPtr> beginMessage() { return store_->newObject(); }

  // Hands the object over (commitAsync) and queues the message under
  // `folder_id`. `message.size` is filled in here; `message.sha256` once
  // the object is finished, by the next flush(), which records the row.
  // Returns an error known at once (the writer's sticky error, or that of
  // a flush triggered by the queue limits).
  Status finishMessage(int64_t folder_id, ObjectWriterPtr writer, MessageRecord message);

  // Makes every finished message durable and recorded, then runs the steps
  // queued by afterRecorded(). Returns the first error of either.
  Status flush();

  // Runs `step` once every message handed over so far is recorded (or was
  // dropped as failed): at once when none is waiting, else right after the
  // transaction of a flush(). `what` names it in the step's error. Steps
  // run in order; a crash before then simply loses them (the next run
  // redoes what they would have recorded).
  Status afterRecorded(std::string what, std::function<Status()> step);

  size_t queued() const { return unfinished_.size() + queue_.size(); }

 private:
  struct Step {
    std::string what;
    std::function<Status()> run;
  };
  Status runSteps();

  struct Unfinished {
    int64_t folder_id;
    MessageRecord message;
    ObjectWriterPtr writer;  // committed; the id is read after sync()
  };

  ContentStore* store_;
  StateStore* state_;
  RecorderLimits limits_;
  std::vector<Unfinished> unfinished_;  // ids not yet known
  std::vector<QueuedMessage> queue_;    // ids known, not yet recorded
  std::vector<StoredObject> objects_;  // synced, not yet indexed
  std::vector<Step> steps_;            // wait for the rows queued before them
  uint64_t queued_bytes_ = 0;
  // Test-only fault injection (MAILARK_TEST_KILL_AFTER_PACK_SYNC=N): the
  // process kills itself after the Nth non-empty pack sync, before the rows
  // are committed. 0 = off.
  long kill_after_sync_ = 0;
  long syncs_ = 0;
};

}  // namespace mailark::engine
