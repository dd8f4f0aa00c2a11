// ArchiveRun: archives a list of mailboxes on one libuv loop, with up to
// `max_connections` connections open at once: one per running job, and
// extra ones for jobs with work to spread once no mailbox waits to start. Mailboxes of one app share its
// TokenProvider: one token for the whole tenant.
//
// Each app's token is fetched once before its mailboxes start, so a bad
// secret gives one clear error rather than one per mailbox; that app's
// mailboxes fail, the other apps' continue. When no app gets a token, or the
// disk is full, or the server's certificate is not trusted, the run stops:
// no mailbox can succeed after those.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/engine/job.h"
#include "src/engine/run_observer.h"
#include "src/loop/deferred_deleter.h"
#include "src/loop/timer.h"

namespace mailark::engine {

struct MailboxOutcome {
  std::string mailbox;
  JobResult result;
};

struct RunReport {
  Status fatal;  // non-ok when the run as a whole could not proceed
  bool interrupted = false;  // SIGINT/SIGTERM stopped it
  std::vector<MailboxOutcome> mailboxes;  // in completion order
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;
  std::chrono::steady_clock::duration elapsed{};
};

class ArchiveRun : private ConnectionBudget {
 public:
  // `base` supplies the loop, store and state; each item brings its own
  // token provider, TLS context and settings.
  ArchiveRun(JobServices base, JobFactory factory, size_t max_connections, std::vector<RunItem> items);

  // `observer` (may be null) must outlive run().
  void setObserver(RunObserver* observer) { observer_ = observer; }

  // Runs the loop until every mailbox is done (or the run is stopped).
  // SIGINT/SIGTERM stop it cleanly: no new mailboxes, in-flight jobs keep
  // what they fully received and end; a second signal exits at once (safe:
  // the store is always ahead of the state).
  // REQUIRES: called once, on the loop's thread, with the loop not running.
  RunReport run();

  // Same as a first signal.
  void stop();

 private:
  void onTokenChecked(TokenProvider* tokens, const Status& status);
  void startMore();
  // Connections the queue cannot use go to running mailboxes as extras.
  void offerSpareConnections();
  void onJobFinished(Job& job);
  void record(const std::string& mailbox, const JobResult& result);
  RunProgress progress() const;
  void onThrottled(const std::string& mailbox, std::chrono::milliseconds backoff);
  void adjustConcurrency();
  void installSignals();
  void closeSignals();
  size_t connectionsInUse() const { return active_.size() + extras_; }
  // ConnectionBudget: extras only while no queued mailbox could start.
  bool tryAcquireExtra(const Job& job) override;
  void releaseExtra(const Job& job) override;

  JobServices base_;
  JobFactory factory_;
  size_t max_connections_;
  std::vector<RunItem> items_;
  std::deque<RunItem> queue_;
  std::vector<JobPtr> active_;
  loop::DeferredDeleter graveyard_;
  std::map<TokenProvider*, Status> token_checks_;  // one entry per app once answered
  // Per app (tenant) concurrency, lowered when the server throttles and
  // raised again when it stops (additive increase, multiplicative decrease).
  struct AppGate {
    size_t limit = 0;
    size_t active = 0;  // jobs (one connection each)
    size_t extras = 0;  // their extra connections
    std::chrono::steady_clock::time_point last_throttle{};
    std::chrono::steady_clock::time_point last_change{};
  };
  std::map<TokenProvider*, AppGate> gates_;
  std::map<std::string, TokenProvider*> app_of_;  // mailbox -> its app
  std::map<const Job*, TokenProvider*> job_app_;
  size_t extras_ = 0;  // extra connections held by jobs, over all apps
  size_t peak_connections_ = 0;
  size_t apps_ = 0;
  int64_t run_id_ = 0;
  RunReport report_;
  bool stopping_ = false;
  RunObserver* observer_ = nullptr;
  std::unique_ptr<loop::Timer> progress_timer_;
  std::chrono::steady_clock::time_point started_{};
  uv_signal_t* signals_[2] = {nullptr, nullptr};
};

}  // namespace mailark::engine
