#include "src/engine/job.h"

namespace mailark::engine {

Status settleJob(const JobServices& services, int64_t mailbox_id, int64_t run_id, Status status) {
  // Leave nothing queued: what the job stored is recorded even if it failed.
  if (Status f = services.recorder->flush(); !f.isOk() && status.isOk())
    status = f.withContext("record archived messages");
  if (mailbox_id != 0) {
    Status s = services.state->recordMailboxResult(mailbox_id, run_id, status.isOk() ? "" : status.message());
    if (!s.isOk() && status.isOk()) status = s;
  }
  return status;
}

Status recordFolderUnchanged(StateStore& state, const FolderState& row, uint32_t uidnext, uint64_t modseq) {
  if (row.uidnext != uidnext) MAILARK_RETURN_IF_ERROR(state.updateFolderProgress(row.folder_id, uidnext, row.highest_uid));
  if (modseq != 0 && modseq != row.highest_modseq) return state.updateFolderModseq(row.folder_id, modseq);
  return Status::ok();
}

}  // namespace mailark::engine
