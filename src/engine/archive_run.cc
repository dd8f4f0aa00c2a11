#include "src/engine/archive_run.h"

#include <algorithm>

#include "src/base/log.h"

namespace mailark::engine {

ArchiveRun::ArchiveRun(JobServices services, JobSettings settings, size_t max_connections,
                       std::vector<std::string> mailboxes)
    : services_(std::move(services)),
      settings_(std::move(settings)),
      max_connections_(std::max<size_t>(1, max_connections)),
      queue_(mailboxes.begin(), mailboxes.end()),
      graveyard_(services_.loop) {}

RunReport ArchiveRun::run() {
  auto started = std::chrono::steady_clock::now();
  Result<int64_t> run_id = services_.state->beginRun();
  if (!run_id) {
    report_.fatal = run_id.status();
    graveyard_.close();
    uv_run(services_.loop, UV_RUN_NOWAIT);
    return std::move(report_);
  }
  run_id_ = *run_id;

  // One token for every mailbox: ask once up front, so a bad secret or
  // tenant stops the run with one clear error instead of N identical ones.
  services_.tokens->getToken([this](const Result<AccessToken>& token) {
    token_answered_ = true;
    if (!token) {
      report_.fatal = token.status();
      queue_.clear();
      return;
    }
    startMore();
  });
  auto done = [this] { return token_answered_ && active_.empty() && (queue_.empty() || stopping_); };
  while (!done()) {
    if (uv_run(services_.loop, UV_RUN_ONCE) == 0 && !done()) {
      report_.fatal = internalError("event loop ran dry with mailboxes still pending");
      break;
    }
  }
  graveyard_.close();
  report_.elapsed = std::chrono::steady_clock::now() - started;
  RunSummary summary{static_cast<int64_t>(report_.ok), static_cast<int64_t>(report_.failed),
                     static_cast<int64_t>(report_.messages), static_cast<int64_t>(report_.bytes)};
  Status s = services_.state->finishRun(run_id_, summary);
  if (!s.isOk() && report_.fatal.isOk()) report_.fatal = s;
  return std::move(report_);
}

void ArchiveRun::startMore() {
  while (!stopping_ && !queue_.empty() && active_.size() < max_connections_) {
    std::string mailbox = std::move(queue_.front());
    queue_.pop_front();
    auto job = std::make_unique<MailboxJob>(services_, settings_, mailbox, run_id_,
                                            [this](MailboxJob& j) { onJobFinished(j); });
    MailboxJob* raw = job.get();
    active_.push_back(std::move(job));
    raw->start();
  }
}

void ArchiveRun::onJobFinished(MailboxJob& job) {
  auto it = std::find_if(active_.begin(), active_.end(), [&](const auto& p) { return p.get() == &job; });
  if (it == active_.end()) return;
  const JobResult& r = job.result();
  if (r.status.isOk()) {
    ++report_.ok;
    log::info(job.mailbox() + ": archived " + std::to_string(r.messages) + " new message(s), " +
              std::to_string(r.bytes) + " bytes, " + std::to_string(r.folders) + " folder(s)");
  } else {
    ++report_.failed;
    log::error(job.mailbox() + ": " + r.status.message());
    // A full disk or an untrusted server certificate fails every mailbox
    // alike: stop instead of repeating the same error hundreds of times.
    bool affects_all = r.status.code() == StatusCode::StorageFull || r.status.code() == StatusCode::Tls;
    if (affects_all && report_.fatal.isOk()) {
      report_.fatal = r.status;
      stopping_ = true;
    }
  }
  for (const std::string& w : r.warnings) log::warn(job.mailbox() + ": " + w);
  report_.messages += r.messages;
  report_.bytes += r.bytes;
  report_.mailboxes.push_back({job.mailbox(), r});
  graveyard_.deleteLater(std::move(*it));
  active_.erase(it);
  startMore();
}

}  // namespace mailark::engine
