// MailboxJob: the IMAP Job. Archives every folder of one mailbox over up to
// settings.connections_per_mailbox connections (ImapSession).
//
// Work units are folders: the first session lists the folders and asks
// their STATUS (one round trip for all); folders that are empty or
// unchanged since their last complete pass are done without EXAMINE, which
// makes a run over mostly unchanged mailboxes cheap. Each idle session then
// plans the largest waiting folder (EXAMINE, new UIDs, batches);
// a folder's UID FETCH batches are taken by every session that has it
// selected, and an idle session selects a folder with batches to spare, so
// a large folder is split across the connections. Extra connections open
// only while there is work to spread and the run has room (ConnectionBudget);
// once the server throttles the mailbox they close and one remains.
//
// A folder's progress moves only when all its batches are answered and
// their rows are durable (MessageRecorder). A lost connection gives its
// work back and reconnects (a few attempts per mailbox, jittered backoff);
// when attempts run out a lost extra connection is dropped and the others
// finish the work. A connection reconnects with a fresh token at a
// checkpoint before its token expires.
//
// Threading: one loop. The job calls `on_finished` exactly once; the owner
// must not destroy the job inside that callback (use DeferredDeleter).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "src/engine/folder_work.h"
#include "src/engine/imap_session.h"
#include "src/engine/job.h"

namespace mailark::engine {

class MailboxJob : public Job, private SessionHost {
 public:
  MailboxJob(JobServices services, const JobSettings& settings, std::string mailbox, int64_t run_id,
             JobFinished on_finished);
  ~MailboxJob() override;

  void start() override;
  const std::string& mailbox() const override { return ctx_.mailbox; }
  const JobResult& result() const override { return ctx_.result; }
  void stop() override;
  bool throttled() const override;
  void offerConnection() override { maybeAddSession(); }

 private:
  // Gives `session` its next unit of work, parks it, or logs it out.
  void dispatch(ImapSession& session);
  void wakeIdle();
  void maybeAddSession();
  bool workToSpread() const;
  size_t liveSessions() const;
  size_t stayingSessions() const;  // live and not logging out
  size_t sessionsOn(const FolderWork& folder) const;
  // All batches answered: ask once more for missing UIDs, or move progress.
  void folderDrained(FolderWork& folder);
  void completeFolder(FolderWork& folder);
  void releaseExtraIfUnused();
  void finish(Status status);

  // SessionHost
  void onIdle(ImapSession& session) override;
  void onFoldersListed(ImapSession& session, std::vector<imap::ListEntry> folders) override;
  void onChecked(ImapSession& session, FolderWork& folder) override;
  void onPlanned(ImapSession& session, FolderWork& folder) override;
  void onFetched(ImapSession& session, FolderWork& folder) override;
  void onLost(ImapSession& session, const Status& reason) override;
  void onLoggedOut(ImapSession& session) override;
  void onThrottled(ImapSession& session, std::chrono::milliseconds backoff) override;

  JobContext ctx_;
  int64_t run_id_;
  JobFinished on_finished_;
  bool done_ = false;

  bool archived_before_ = false;  // a folder completed in an earlier run
  bool listed_ = false;
  bool listing_ = false;
  std::deque<FolderWork> folders_;  // appended once when listed: sessions point into it
  // Declared after folders_: sessions give work back into folders when closed.
  std::vector<std::unique_ptr<ImapSession>> sessions_;
  std::vector<ImapSession*> idle_;
  size_t max_sessions_ = 1;
  size_t extras_held_ = 0;  // ConnectionBudget extras this job holds

  static constexpr int kMaxAttempts = 3;  // reconnects per mailbox and run
  int attempts_ = 0;
  // Spreads reconnects so that many mailboxes do not retry in lock step.
  std::minstd_rand jitter_{std::random_device{}()};
};

}  // namespace mailark::engine
