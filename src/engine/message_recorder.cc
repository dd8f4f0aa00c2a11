#include "src/engine/message_recorder.h"

namespace mailark::engine {

Result<ObjectId> MessageRecorder::finishMessage(int64_t folder_id, ObjectWriterPtr writer, MessageRecord message) {
  message.size = writer->size();
  // The file store makes each object durable in commit(), so the row can be
  // recorded at once; a batching store would queue it until flush().
  Result<ObjectId> id = writer->commit();
  if (!id) return id.status();
  message.sha256 = *id;
  MAILARK_RETURN_IF_ERROR(state_->recordMessage(folder_id, message));
  return id;
}

Status MessageRecorder::flush() { return Status::ok(); }

}  // namespace mailark::engine
