// RunObservers for `mailark run`: a progress display, a JSON event log and a
// Prometheus text-format metrics file (node_exporter textfile collector).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "src/engine/run_observer.h"

namespace mailark::cli {

// Fans every call out to several observers.
class ObserverList : public engine::RunObserver {
 public:
  void add(std::unique_ptr<engine::RunObserver> o) { list_.push_back(std::move(o)); }
  void onRunStarted(uint64_t n) override;
  void onMailboxStarted(const std::string& m) override;
  void onMailboxThrottled(const std::string& m, std::chrono::milliseconds b) override;
  void onMailboxFinished(const std::string& m, const engine::JobResult& r) override;
  void onProgress(const engine::RunProgress& p) override;
  void onRunFinished(const engine::RunProgress& p, const Status& fatal, bool interrupted) override;

 private:
  std::vector<std::unique_ptr<engine::RunObserver>> list_;
};

// On a terminal: one live status line, redrawn in place. Otherwise: a
// plain progress line every `plain_interval_s` seconds. Writes to stderr.
std::unique_ptr<engine::RunObserver> makeProgressDisplay(bool terminal, int plain_interval_s);

// One JSON object per line: run_started, mailbox_started, mailbox_throttled,
// mailbox_finished, run_finished. Fails when the file cannot be opened.
Result<std::unique_ptr<engine::RunObserver>> makeJsonEventLog(const std::string& path);

// Rewrites `path` atomically (write temp, rename) with Prometheus metrics
// at every progress tick and at the end.
std::unique_ptr<engine::RunObserver> makeMetricsFile(const std::string& path);

}  // namespace mailark::cli
