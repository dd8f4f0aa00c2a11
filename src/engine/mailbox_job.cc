#include "src/engine/mailbox_job.h"

#include <algorithm>

#include "src/base/log.h"
#include "src/engine/folder_filter.h"
#include "src/imap/command_builder.h"
#include "src/imap/mutf7.h"

namespace mailark::engine {

MailboxJob::MailboxJob(JobServices services, const JobSettings& settings, std::string mailbox, int64_t run_id,
                       JobFinished on_finished)
    : run_id_(run_id), on_finished_(std::move(on_finished)) {
  ctx_.services = std::move(services);
  ctx_.settings = settings;
  ctx_.mailbox = std::move(mailbox);
  max_sessions_ = std::max<size_t>(1, settings.connections_per_mailbox);
}

MailboxJob::~MailboxJob() = default;

void MailboxJob::start() {
  Result<int64_t> id = ctx_.services.state->mailboxId(ctx_.mailbox);
  if (!id) return finish(id.status());
  ctx_.mailbox_id = *id;
  Result<bool> before = ctx_.services.state->hasCompletedFolder(*id);
  if (!before) return finish(before.status());
  archived_before_ = *before;
  sessions_.push_back(std::make_unique<ImapSession>(ctx_, static_cast<SessionHost&>(*this), 0));
  ctx_.result.connections = 1;
  sessions_.back()->start();
}

bool MailboxJob::throttled() const {
  return std::any_of(sessions_.begin(), sessions_.end(), [](const auto& s) { return s->throttled(); });
}

size_t MailboxJob::liveSessions() const {
  return std::count_if(sessions_.begin(), sessions_.end(), [](const auto& s) { return !s->closed(); });
}

size_t MailboxJob::stayingSessions() const {
  return std::count_if(sessions_.begin(), sessions_.end(), [](const auto& s) { return !s->closed() && !s->leaving(); });
}

size_t MailboxJob::sessionsOn(const FolderWork& folder) const {
  return std::count_if(sessions_.begin(), sessions_.end(),
                       [&](const auto& s) { return !s->closed() && s->selected() == &folder; });
}

void MailboxJob::dispatch(ImapSession& s) {
  if (done_ || s.closed()) return;
  // After throttling, extra connections go as they become free; one with
  // batches queued on its selected folder keeps them, and the count leaves
  // out those already leaving, so two idle ones do not both go.
  FolderWork* mine = s.selected();
  bool has_work = mine != nullptr && mine->stage == FolderWork::Stage::Fetching && mine->hasWork();
  if (stayingSessions() > max_sessions_ && !s.busy() && !has_work) return s.logout();
  if (s.tokenNearExpiry() && !s.busy()) return s.refresh();
  if (!listed_) {
    if (listing_) return idle_.push_back(&s);
    listing_ = true;
    return s.listFolders();
  }
  // 1. More of the folder this connection has selected.
  if (FolderWork* f = s.selected(); f != nullptr && f->stage == FolderWork::Stage::Fetching && f->hasWork())
    return s.fetch(*f);
  // 2. The largest folder nobody has planned: the big ones first, so the
  //    connections finish together.
  FolderWork* next = nullptr;
  for (FolderWork& f : folders_)
    if (f.stage == FolderWork::Stage::Waiting && (next == nullptr || f.sizeHint() > next->sizeHint())) next = &f;
  if (next != nullptr) {
    next->stage = FolderWork::Stage::Planning;
    s.plan(*next);
    return maybeAddSession();
  }
  // 3. Help with a folder that has batches to spare (or nobody to take them).
  for (FolderWork& f : folders_) {
    if (f.stage != FolderWork::Stage::Fetching || !f.hasWork() || f.no_helpers) continue;
    if (sessionsOn(f) == 0 || f.queued() >= 2) return s.help(f);
  }
  // 4. Work may still come: a folder being planned, or batches in flight
  //    that a lost connection would give back.
  bool pending = std::any_of(folders_.begin(), folders_.end(),
                             [](const FolderWork& f) { return f.stage != FolderWork::Stage::Done; });
  if (pending) return idle_.push_back(&s);
  s.logout();
}

void MailboxJob::wakeIdle() {
  std::vector<ImapSession*> idle;
  idle.swap(idle_);
  for (ImapSession* s : idle) {
    if (done_) return;
    dispatch(*s);
  }
}

bool MailboxJob::workToSpread() const {
  // Before the folders' STATUS is known, a second connection pays off on a
  // first archive (mailboxes have several folders, and its connect and login
  // overlap the first connection's LIST and STATUS instead of following
  // them), but not on a later run, where most folders turn out unchanged.
  if (!listed_) return !archived_before_;
  return std::any_of(folders_.begin(), folders_.end(), [this](const FolderWork& f) {
    return (f.stage == FolderWork::Stage::Checking && !archived_before_) || f.stage == FolderWork::Stage::Waiting ||
           (f.stage == FolderWork::Stage::Fetching && !f.no_helpers && f.queued() >= 2);
  });
}

void MailboxJob::maybeAddSession() {
  if (done_ || ctx_.services.budget == nullptr || liveSessions() >= max_sessions_ || !workToSpread()) return;
  if (!ctx_.services.budget->tryAcquireExtra(*this)) return;
  ++extras_held_;
  sessions_.push_back(std::make_unique<ImapSession>(ctx_, static_cast<SessionHost&>(*this),
                                                           static_cast<int>(sessions_.size())));
  ctx_.result.connections = std::max<uint32_t>(ctx_.result.connections, static_cast<uint32_t>(liveSessions()));
  sessions_.back()->start();
}

void MailboxJob::releaseExtraIfUnused() {
  while (extras_held_ > 0 && liveSessions() < 1 + extras_held_) {
    --extras_held_;
    ctx_.services.budget->releaseExtra(*this);
  }
}

void MailboxJob::onIdle(ImapSession& s) { dispatch(s); }

void MailboxJob::onFoldersListed(ImapSession& s, std::vector<imap::ListEntry> entries) {
  listing_ = false;
  listed_ = true;
  for (const imap::ListEntry& entry : entries) {
    if (!entry.selectable()) continue;
    FolderWork f;
    f.raw_name = entry.name;
    Result<std::string> decoded = imap::decodeMutf7(entry.name);
    if (decoded) {
      f.name = *decoded;
    } else {
      // Not valid modified UTF-7: keep the name exactly as the server sent it.
      f.name = entry.name;
      ctx_.result.warnings.push_back("folder name \"" + entry.name +
                                     "\" is not valid modified UTF-7; archived under its raw name");
    }
    if (!ctx_.settings.include_non_mail_folders && isNonMailFolder(f.name, entry.delimiter)) continue;
    f.stage = FolderWork::Stage::Checking;
    folders_.push_back(std::move(f));
  }
  std::vector<FolderWork*> all;
  for (FolderWork& f : folders_) all.push_back(&f);
  s.check(std::move(all));
  maybeAddSession();
  wakeIdle();
}

void MailboxJob::onChecked(ImapSession&, FolderWork& f) {
  if (done_ || f.stage != FolderWork::Stage::Checking) return;
  f.stage = FolderWork::Stage::Waiting;
  const std::optional<imap::StatusData>& st = f.status;
  if (st && st->uidvalidity.value_or(0) != 0 && st->uidnext.value_or(0) != 0 && st->messages) {
    Result<FolderState> row = ctx_.services.state->folder(ctx_.mailbox_id, f.name, *st->uidvalidity);
    if (!row) return finish(row.status());
    if (checkFolder(*st->messages, *st->uidnext, st->highest_modseq.value_or(0), *row) != FolderCheck::Examine) {
      Status s = recordFolderUnchanged(*ctx_.services.state, *row, *st->uidnext, st->highest_modseq.value_or(0));
      if (!s.isOk()) return finish(s);
      f.stage = FolderWork::Stage::Done;
      ++ctx_.result.folders;
      return;
    }
  }
  wakeIdle();
}

void MailboxJob::onPlanned(ImapSession& s, FolderWork& f) {
  if (f.stage == FolderWork::Stage::Fetching && f.drained()) folderDrained(f);
  if (done_) return;
  // The planner goes first on its folder; then helpers may join.
  dispatch(s);
  maybeAddSession();
  wakeIdle();
}

void MailboxJob::onFetched(ImapSession& s, FolderWork& f) {
  if (f.drained()) folderDrained(f);
  if (done_) return;
  if (!s.busy()) {
    dispatch(s);
  } else if (s.selected() == &f && f.hasWork()) {
    s.fetch(f);
  }
  wakeIdle();
}

void MailboxJob::folderDrained(FolderWork& f) {
  if (!f.missing.empty()) {
    // Exchange sometimes completes a FETCH OK without some of the messages
    // (busy mailbox). Ask once more for just those; what is still absent
    // after that is reported and left for the next run.
    std::sort(f.missing.begin(), f.missing.end());
    f.missing.erase(std::unique(f.missing.begin(), f.missing.end()), f.missing.end());
    std::vector<uint32_t> again;
    again.swap(f.missing);
    if (!f.retried_missing) {
      f.retried_missing = true;
      f.batches.push_back(std::move(again));
      return;
    }
    f.gaps = true;
    ctx_.result.warnings.push_back(std::to_string(again.size()) + " message(s) in \"" + f.name +
                                   "\" were not returned by the server, also when asked again (UIDs " +
                                   imap::uidSet(again) + "); the next run tries again");
  }
  completeFolder(f);
}

void MailboxJob::completeFolder(FolderWork& f) {
  f.stage = FolderWork::Stage::Done;
  std::vector<uint32_t> listed;
  for (const ServerMessage& m : f.listed)
    if (m.uid > f.state.highest_uid) listed.push_back(m.uid);
  std::sort(listed.begin(), listed.end());
  // Progress may only move past messages whose rows are recorded: the
  // recorder runs this after its next commit. It captures values only, as
  // the job may be gone by then.
  StateStore* state = ctx_.services.state;
  int64_t folder_id = f.state.folder_id;
  uint32_t previous = f.state.highest_uid;
  // A folder with gaps keeps UIDNEXT unset so the next run lists it again;
  // flags are current up to the EXAMINE's mod-sequence (messages fetched
  // now carry flags at least that new).
  uint32_t uidnext = f.gaps ? 0 : f.uidnext;
  uint64_t modseq = f.gaps ? 0 : f.modseq;
  Status s = ctx_.services.recorder->afterRecorded(
      "progress of \"" + f.name + "\" in " + ctx_.mailbox,
      [state, folder_id, previous, uidnext, modseq, listed = std::move(listed)]() -> Status {
        Result<std::vector<uint32_t>> archived = state->archivedUids(folder_id, previous + 1);
        if (!archived) return archived.status();
        MAILARK_RETURN_IF_ERROR(state->updateFolderProgress(folder_id, uidnext, completeUpTo(previous, listed, *archived)));
        return modseq != 0 ? state->updateFolderModseq(folder_id, modseq) : Status::ok();
      });
  if (!s.isOk()) return finish(s);
}

void MailboxJob::onLost(ImapSession& s, const Status& reason) {
  if (done_) return;
  if (!listed_) listing_ = false;
  // Network trouble (or an expired token) is worth a few more tries;
  // anything else would fail the same way again.
  bool retryable = reason.code() == StatusCode::Transient || s.lostToTokenExpiry();
  if (retryable && attempts_ < kMaxAttempts) {
    ++attempts_;
    auto delay = std::chrono::milliseconds(0);
    if (!s.lostToTokenExpiry()) {
      delay = std::chrono::milliseconds(1000LL << (attempts_ - 1));
      delay += std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, delay.count() / 2)(jitter_));
    }
    // Whatever was completely received is kept.
    if (Status st = ctx_.services.recorder->flush(); !st.isOk()) return finish(st);
    ctx_.result.warnings.push_back(reason.message() + "; reconnecting in " + std::to_string(delay.count()) +
                                   " ms (attempt " + std::to_string(attempts_ + 1) + " of " +
                                   std::to_string(kMaxAttempts + 1) + ")");
    s.reconnectAfter(delay);
    return wakeIdle();
  }
  if (retryable && liveSessions() > 0) {
    // The other connections finish the work this one gave back.
    ctx_.result.warnings.push_back(reason.message() + "; carrying on with " + std::to_string(liveSessions()) +
                                   " connection(s)");
    releaseExtraIfUnused();
    return wakeIdle();
  }
  finish(reason);
}

void MailboxJob::onLoggedOut(ImapSession&) {
  releaseExtraIfUnused();
  if (liveSessions() > 0) return wakeIdle();
  bool complete = std::all_of(folders_.begin(), folders_.end(),
                              [](const FolderWork& f) { return f.stage == FolderWork::Stage::Done; });
  finish(complete ? Status::ok() : internalError("connections ended with folders left"));
}

void MailboxJob::onThrottled(ImapSession&, std::chrono::milliseconds backoff) {
  if (ctx_.services.on_throttled) ctx_.services.on_throttled(ctx_.mailbox, backoff);
  // A throttled mailbox gets one connection for the rest of the run.
  max_sessions_ = 1;
}

void MailboxJob::stop() {
  if (done_) return;
  finish(Status(StatusCode::Cancelled, "stopped before completion (signal)"));
}

void MailboxJob::finish(Status status) {
  if (done_) return;
  done_ = true;
  idle_.clear();
  // A half-received message is dropped, never recorded.
  for (auto& s : sessions_) s->close();
  for (FolderWork& f : folders_) {
    f.partials.clear();
    f.splits.clear();
  }
  releaseExtraIfUnused();
  ctx_.result.status = settleJob(ctx_.services, ctx_.mailbox_id, run_id_, std::move(status));
  on_finished_(*this);
}

}  // namespace mailark::engine
