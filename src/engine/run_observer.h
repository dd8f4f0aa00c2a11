// RunObserver: what an ArchiveRun tells the outside world while it works
// (progress display, JSON event log, Prometheus metrics). Every method is
// called on the loop's thread and must return quickly.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "src/engine/job.h"

namespace mailark::engine {

struct RunProgress {
  uint64_t mailboxes_total = 0;
  uint64_t mailboxes_done = 0;  // ok + failed
  uint64_t mailboxes_failed = 0;
  uint64_t mailboxes_active = 0;
  uint64_t mailboxes_throttled = 0;  // active jobs waiting out a server backoff
  uint64_t messages = 0;             // fetched so far this run
  uint64_t bytes = 0;
  uint64_t connections = 0;       // open now, over all mailboxes
  uint64_t peak_connections = 0;  // most open at once so far
  std::chrono::steady_clock::duration elapsed{};
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void onRunStarted(uint64_t mailboxes) = 0;
  virtual void onMailboxStarted(const std::string& mailbox) = 0;
  virtual void onMailboxThrottled(const std::string& mailbox, std::chrono::milliseconds backoff) = 0;
  virtual void onMailboxFinished(const std::string& mailbox, const JobResult& result) = 0;
  // Periodically (about every two seconds) and once more at the end.
  virtual void onProgress(const RunProgress& progress) = 0;
  // The run ends; `interrupted` when a signal stopped it.
  virtual void onRunFinished(const RunProgress& progress, const Status& fatal, bool interrupted) = 0;
};

}  // namespace mailark::engine
