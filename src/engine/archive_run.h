// ArchiveRun: archives a list of mailboxes on one libuv loop, running up to
// `max_connections` MailboxJobs at once, all sharing one TokenProvider.
//
// A mailbox that fails is reported and the others continue. A token that
// cannot be obtained at all, a full disk or an untrusted server certificate
// stops the run: no mailbox can succeed after those.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "src/engine/mailbox_job.h"
#include "src/loop/deferred_deleter.h"

namespace mailark::engine {

struct MailboxOutcome {
  std::string mailbox;
  JobResult result;
};

struct RunReport {
  Status fatal;  // non-ok when the run as a whole could not proceed
  std::vector<MailboxOutcome> mailboxes;  // in completion order
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;
  std::chrono::steady_clock::duration elapsed{};
};

class ArchiveRun {
 public:
  ArchiveRun(JobServices services, JobSettings settings, size_t max_connections, std::vector<std::string> mailboxes);

  // Runs the loop until every mailbox is done (or the run is stopped).
  // REQUIRES: called once, on the loop's thread, with the loop not running.
  RunReport run();

 private:
  void startMore();
  void onJobFinished(MailboxJob& job);

  JobServices services_;
  JobSettings settings_;
  size_t max_connections_;
  std::deque<std::string> queue_;
  std::vector<std::unique_ptr<MailboxJob>> active_;
  loop::DeferredDeleter graveyard_;
  int64_t run_id_ = 0;
  RunReport report_;
  bool stopping_ = false;
  bool token_answered_ = false;
};

}  // namespace mailark::engine
