// MessageRecorder: the one place that orders "bytes durable" before "UID
// recorded". Every job (IMAP, POP3) stores messages through it.
//
// A job streams a message into the writer from beginMessage(), then hands it
// to finishMessage(). The row becomes visible in the StateStore only once the
// bytes are durable. flush() guarantees that for everything finished so far;
// jobs call it before they advance a folder's progress and before they end.
// Shared by all jobs of a run so the store can group its syncs.
//
// Threading: the loop's thread.
#pragma once

#include <cstdint>
#include <vector>

#include "mailark/content_store.h"
#include "mailark/state_store.h"

namespace mailark::engine {

class MessageRecorder {
 public:
  // Both must outlive the recorder.
  MessageRecorder(ContentStore* store, StateStore* state) : store_(store), state_(state) {}

  Result<ObjectWriterPtr> beginMessage() { return store_->newObject(); }

  // Commits the object and records the message under `folder_id`
  // (`message.sha256` and `size` are filled in here). Returns the object id.
  Result<ObjectId> finishMessage(int64_t folder_id, ObjectWriterPtr writer, MessageRecord message);

  // Makes every finished message durable and recorded.
  Status flush();

 private:
  ContentStore* store_;
  StateStore* state_;
};

}  // namespace mailark::engine
