#include "src/engine/archive_run.h"

#include <algorithm>
#include <set>

#include "src/base/log.h"

namespace mailark::engine {

ArchiveRun::ArchiveRun(JobServices base, JobFactory factory, size_t max_connections, std::vector<RunItem> items)
    : base_(std::move(base)),
      factory_(std::move(factory)),
      max_connections_(std::max<size_t>(1, max_connections)),
      items_(std::move(items)),
      graveyard_(base_.loop) {}

RunReport ArchiveRun::run() {
  auto started = std::chrono::steady_clock::now();
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
  auto done = [this] { return token_checks_.size() == apps_ && active_.empty() && (queue_.empty() || stopping_); };
  while (!done()) {
    if (uv_run(base_.loop, UV_RUN_ONCE) == 0 && !done()) {
      report_.fatal = internalError("event loop ran dry with mailboxes still pending");
      break;
    }
  }
  graveyard_.close();
  report_.elapsed = std::chrono::steady_clock::now() - started;
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

void ArchiveRun::startMore() {
  while (!stopping_ && !queue_.empty() && active_.size() < max_connections_) {
    RunItem item = std::move(queue_.front());
    queue_.pop_front();
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
    active_.push_back(std::move(job));
    raw->start();
  }
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
}

void ArchiveRun::onJobFinished(Job& job) {
  auto it = std::find_if(active_.begin(), active_.end(), [&](const JobPtr& p) { return p.get() == &job; });
  if (it == active_.end()) return;
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
