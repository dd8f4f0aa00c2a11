#include "src/engine/archive_run.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <set>

#include "src/base/log.h"
#include "src/loop/wakeup.h"

namespace mailark::engine {

ArchiveRun::ArchiveRun(JobServices base, JobFactory factory, size_t max_connections, std::vector<RunItem> items)
    : base_(std::move(base)),
      factory_(std::move(factory)),
      max_connections_(std::max<size_t>(1, max_connections)),
      items_(std::move(items)),
      graveyard_(base_.loop) {}

RunReport ArchiveRun::run() {
  auto started = std::chrono::steady_clock::now();
  started_ = started;
  if (observer_) observer_->onRunStarted(items_.size());
  base_.budget = this;
  base_.on_throttled = [this](const std::string& mailbox, std::chrono::milliseconds backoff) {
    onThrottled(mailbox, backoff);
  };
  for (const RunItem& item : items_) {
    gates_[item.tokens].limit = max_connections_;
    app_of_[item.mailbox] = item.tokens;
  }
  Result<int64_t> run_id = base_.state->beginRun();
  if (!run_id) {
    report_.fatal = run_id.status();
    graveyard_.close();
    return std::move(report_);
  }
  run_id_ = *run_id;

  std::set<TokenProvider*> providers;
  for (const RunItem& item : items_) providers.insert(item.tokens);
  apps_ = providers.size();
  for (TokenProvider* tokens : providers) {
    tokens->getToken([this, tokens](const Result<AccessToken>& token) { onTokenChecked(tokens, token.status()); });
  }
  installSignals();
  // Group commits' fsyncs run off the loop; their rows are recorded as
  // soon as they are done, not at the next message.
  loop::Wakeup synced(base_.loop, [this] { base_.recorder->onSyncDone(); });
  base_.recorder->setSyncNotifier([&synced] { synced.send(); });
  progress_timer_ = std::make_unique<loop::Timer>(base_.loop);
  std::function<void()> tick = [this, &tick] {
    adjustConcurrency();
    if (observer_) observer_->onProgress(progress());
    progress_timer_->start(2000, tick);
  };
  progress_timer_->start(2000, tick);
  auto done = [this] {
    return (token_checks_.size() == apps_ || stopping_) && active_.empty() && (queue_.empty() || stopping_);
  };
  while (!done()) {
    if (uv_run(base_.loop, UV_RUN_ONCE) == 0 && !done()) {
      report_.fatal = internalError("event loop ran dry with mailboxes still pending");
      break;
    }
  }
  base_.recorder->setSyncNotifier(nullptr);
  progress_timer_.reset();
  closeSignals();
  graveyard_.close();
  report_.elapsed = std::chrono::steady_clock::now() - started;
  if (observer_) {
    RunProgress p = progress();
    observer_->onProgress(p);
    observer_->onRunFinished(p, report_.fatal, report_.interrupted);
  }
  RunSummary summary{static_cast<int64_t>(report_.ok), static_cast<int64_t>(report_.failed),
                     static_cast<int64_t>(report_.messages), static_cast<int64_t>(report_.bytes)};
  Status s = base_.state->finishRun(run_id_, summary);
  if (!s.isOk() && report_.fatal.isOk()) report_.fatal = s;
  return std::move(report_);
}

void ArchiveRun::onTokenChecked(TokenProvider* tokens, const Status& status) {
  token_checks_[tokens] = status;
  size_t skipped = 0;
  for (const RunItem& item : items_) {
    if (item.tokens != tokens) continue;
    if (status.isOk()) {
      queue_.push_back(item);
      continue;
    }
    ++skipped;
    ++report_.failed;
    JobResult failed;
    failed.status = status;
    report_.mailboxes.push_back({item.mailbox, failed});
  }
  if (skipped > 0) log::error(status.message() + " (" + std::to_string(skipped) + " mailbox(es) not archived)");
  if (token_checks_.size() == apps_) {
    bool any_ok = std::any_of(token_checks_.begin(), token_checks_.end(), [](const auto& e) { return e.second.isOk(); });
    if (!any_ok && report_.fatal.isOk()) report_.fatal = token_checks_.begin()->second;
  }
  startMore();
}

RunProgress ArchiveRun::progress() const {
  RunProgress p;
  p.mailboxes_total = items_.size();
  p.mailboxes_done = report_.ok + report_.failed;
  p.mailboxes_failed = report_.failed;
  p.mailboxes_active = active_.size();
  p.messages = report_.messages;
  p.bytes = report_.bytes;
  for (const JobPtr& job : active_) {
    p.messages += job->result().messages;
    p.bytes += job->result().bytes;
    if (job->throttled()) ++p.mailboxes_throttled;
  }
  p.connections = connectionsInUse();
  p.peak_connections = peak_connections_;
  p.elapsed = std::chrono::steady_clock::now() - started_;
  return p;
}

void ArchiveRun::stop() {
  if (stopping_) return;
  stopping_ = true;
  report_.interrupted = true;
  log::warn("stopping: no new mailboxes; finishing what is in flight (signal again to exit at once)");
  // Copy: a job that ends inside stop() removes itself from active_.
  std::vector<Job*> running;
  for (const JobPtr& job : active_) running.push_back(job.get());
  for (Job* job : running) job->stop();
}

void ArchiveRun::installSignals() {
  static constexpr int kSignals[2] = {SIGINT, SIGTERM};
  for (int i = 0; i < 2; ++i) {
    signals_[i] = new uv_signal_t;
    uv_signal_init(base_.loop, signals_[i]);
    signals_[i]->data = this;
    uv_signal_start(
        signals_[i],
        [](uv_signal_t* handle, int signum) {
          auto* self = static_cast<ArchiveRun*>(handle->data);
          if (self->stopping_) {
            // Second signal: leave now. Every recorded UID is already durable.
            std::_Exit(128 + signum);
          }
          self->stop();
        },
        kSignals[i]);
  }
}

void ArchiveRun::closeSignals() {
  for (uv_signal_t*& s : signals_) {
    if (s == nullptr) continue;
    uv_close(reinterpret_cast<uv_handle_t*>(s), [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
    s = nullptr;
  }
}

void ArchiveRun::onThrottled(const std::string& mailbox, std::chrono::milliseconds backoff) {
  if (observer_) observer_->onMailboxThrottled(mailbox, backoff);
  auto app = app_of_.find(mailbox);
  if (app == app_of_.end()) return;
  AppGate& gate = gates_[app->second];
  auto now = std::chrono::steady_clock::now();
  gate.last_throttle = now;
  // One burst of throttling (many connections told at once) halves once.
  if (gate.limit <= 1 || now - gate.last_change < std::chrono::seconds(5)) return;
  gate.limit = std::max<size_t>(1, std::min(gate.limit, std::max<size_t>(gate.active + gate.extras, 1)) / 2);
  gate.last_change = now;
  log::warn("the server is throttling: lowering concurrency to " + std::to_string(gate.limit) +
            " connection(s) for the app of " + mailbox);
}

void ArchiveRun::adjustConcurrency() {
  auto now = std::chrono::steady_clock::now();
  for (auto& [app, gate] : gates_) {
    if (gate.limit >= max_connections_) continue;
    if (now - gate.last_throttle < std::chrono::seconds(30) || now - gate.last_change < std::chrono::seconds(10))
      continue;
    ++gate.limit;
    gate.last_change = now;
    log::info("no throttling for 30 s: raising concurrency to " + std::to_string(gate.limit));
  }
  startMore();
}

void ArchiveRun::startMore() {
  while (!stopping_ && connectionsInUse() < max_connections_) {
    // The first queued mailbox whose app has room under its current limit.
    auto it = std::find_if(queue_.begin(), queue_.end(), [this](const RunItem& item) {
      const AppGate& gate = gates_[item.tokens];
      return gate.active + gate.extras < gate.limit;
    });
    if (it == queue_.end()) break;
    RunItem item = std::move(*it);
    queue_.erase(it);
    JobServices services = base_;
    services.tokens = item.tokens;
    services.tls = item.tls;
    JobPtr job = factory_(item, services, run_id_, [this](Job& j) { onJobFinished(j); });
    if (!job) {
      JobResult unsupported;
      unsupported.status = configError("no job type for this mailbox's protocol");
      record(item.mailbox, unsupported);
      continue;
    }
    Job* raw = job.get();
    ++gates_[item.tokens].active;
    job_app_[raw] = item.tokens;
    active_.push_back(std::move(job));
    peak_connections_ = std::max(peak_connections_, connectionsInUse());
    if (observer_) observer_->onMailboxStarted(item.mailbox);
    raw->start();
  }
  offerSpareConnections();
}

void ArchiveRun::offerSpareConnections() {
  if (stopping_ || connectionsInUse() >= max_connections_) return;
  // Copy: a job may end inside the offer.
  std::vector<Job*> running;
  for (const JobPtr& job : active_) running.push_back(job.get());
  for (Job* job : running) {
    if (connectionsInUse() >= max_connections_) return;
    job->offerConnection();
  }
}

bool ArchiveRun::tryAcquireExtra(const Job& job) {
  if (stopping_ || connectionsInUse() >= max_connections_) return false;
  auto app = job_app_.find(&job);
  if (app == job_app_.end()) return false;
  AppGate& gate = gates_[app->second];
  if (gate.active + gate.extras >= gate.limit) return false;
  // A mailbox waiting to start comes first: a new mailbox gains as much as
  // a second connection and spreads the load over more of Exchange's
  // per-mailbox limits.
  bool startable = std::any_of(queue_.begin(), queue_.end(), [this](const RunItem& item) {
    const AppGate& g = gates_[item.tokens];
    return g.active + g.extras < g.limit;
  });
  if (startable) return false;
  ++gate.extras;
  ++extras_;
  peak_connections_ = std::max(peak_connections_, connectionsInUse());
  return true;
}

void ArchiveRun::releaseExtra(const Job& job) {
  auto app = job_app_.find(&job);
  if (app == job_app_.end() || extras_ == 0) return;
  AppGate& gate = gates_[app->second];
  if (gate.extras > 0) --gate.extras;
  --extras_;
}

void ArchiveRun::record(const std::string& mailbox, const JobResult& r) {
  if (r.status.isOk()) {
    ++report_.ok;
    log::info(mailbox + ": archived " + std::to_string(r.messages) + " new message(s), " + std::to_string(r.bytes) +
              " bytes, " + std::to_string(r.folders) + " folder(s)");
  } else {
    ++report_.failed;
    log::error(mailbox + ": " + r.status.message());
  }
  for (const std::string& w : r.warnings) log::warn(mailbox + ": " + w);
  report_.messages += r.messages;
  report_.bytes += r.bytes;
  report_.mailboxes.push_back({mailbox, r});
  if (observer_) observer_->onMailboxFinished(mailbox, r);
}

void ArchiveRun::onJobFinished(Job& job) {
  auto it = std::find_if(active_.begin(), active_.end(), [&](const JobPtr& p) { return p.get() == &job; });
  if (it == active_.end()) return;
  if (auto app = job_app_.find(&job); app != job_app_.end()) {
    --gates_[app->second].active;
    job_app_.erase(app);
  }
  const JobResult& r = job.result();
  record(job.mailbox(), r);
  // A full disk or an untrusted server certificate fails every mailbox
  // alike: stop instead of repeating the same error hundreds of times.
  bool affects_all = r.status.code() == StatusCode::StorageFull || r.status.code() == StatusCode::Tls;
  if (affects_all && report_.fatal.isOk()) {
    report_.fatal = r.status;
    stopping_ = true;
  }
  graveyard_.deleteLater(std::move(*it));
  active_.erase(it);
  startMore();
}

}  // namespace mailark::engine
