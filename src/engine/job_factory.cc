#include "src/engine/job.h"
#include "src/engine/mailbox_job.h"
#include "src/engine/pop3_job.h"

namespace mailark::engine {

JobPtr makeJob(const RunItem& item, JobServices services, int64_t run_id, JobFinished done) {
  switch (item.protocol) {
    case Protocol::Imap:
      return std::make_unique<MailboxJob>(std::move(services), item.settings, item.mailbox, run_id, std::move(done));
    case Protocol::Pop3:
      return std::make_unique<Pop3Job>(std::move(services), item.settings, item.mailbox, run_id, std::move(done));
  }
  return nullptr;
}

}  // namespace mailark::engine
