// MailboxJob: archives every folder of one mailbox over one IMAP connection.
//
// The IMAP Job. Sequence: token -> connect (TLS) -> CAPABILITY -> AUTHENTICATE XOAUTH2
// (user=<mailbox>) -> LIST -> per folder: EXAMINE (read-only), list UIDs
// above the folder's progress, UID FETCH (UID INTERNALDATE FLAGS
// BODY.PEEK[]) in batches. Message bytes stream from the parser into an
// ObjectWriter; a message row is recorded only after the object commit made
// the bytes durable. Nothing sets \Seen or changes the mailbox.
//
// Threading: one loop. The job calls `on_finished` exactly once; the owner
// must not destroy the job inside that callback (use DeferredDeleter).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <chrono>
#include <random>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "mailark/content_store.h"
#include "mailark/state_store.h"
#include "mailark/token_provider.h"
#include "src/engine/folder_plan.h"
#include "src/engine/job.h"
#include "src/imap/imap_connection.h"
#include "src/imap/untagged_data.h"
#include "src/loop/timer.h"

namespace mailark::engine {

class MailboxJob : public Job, public imap::ImapConnectionCallbacks, private imap::LiteralSink {
 public:
  MailboxJob(JobServices services, const JobSettings& settings, std::string mailbox, int64_t run_id,
             JobFinished on_finished);
  ~MailboxJob() override;

  void start() override;
  const std::string& mailbox() const override { return mailbox_; }
  const JobResult& result() const override { return result_; }
  void stop() override;
  bool throttled() const override { return waiting_out_backoff_ > 0; }

 private:
  enum class Phase { Idle, Token, Connecting, Capability, Authenticating, Listing, Examining, ListingUids, SyncingFlags, Fetching, LoggingOut, Done };
  static const char* phaseName(Phase p);
  void setPhase(Phase p);

  void connect();
  void afterGreeting();
  void listFolders();
  void nextFolder();
  void examineFolder();
  void startFolder();
  void syncFlags();
  void listNewMessages();
  void fetchMore();
  // Sends a command; a "throttled" answer is waited out and the command
  // repeated (up to kMaxThrottleWaits times per mailbox) before `done` runs.
  void send(imap::Command command, std::function<void(imap::Response&)> done);
  void completeFolder();
  void logout();
  void onFetch(const imap::FetchData& fetch);
  Status storeMessage(const imap::FetchData& fetch);
  // Ends the job with `status`, unless it is worth reconnecting.
  void fail(const Status& status);
  void retryLater(const Status& reason, std::chrono::milliseconds delay);
  void finish(Status status);

  // ImapConnectionCallbacks
  void onUntagged(imap::Response& response) override;
  imap::LiteralSink* onLiteralStart(const imap::LiteralContext& context) override;
  void onConnectionLost(const Status& reason) override;
  // LiteralSink: the BODY[] literal of the message being fetched.
  Status write(std::span<const char> bytes) override;

  JobServices services_;
  JobSettings settings_;
  std::string mailbox_;
  int64_t run_id_;
  JobFinished on_finished_;
  JobResult result_;
  Phase phase_ = Phase::Idle;

  std::string token_;  // bearer token for this connection; never logged
  std::unique_ptr<imap::ImapConnection> connection_;
  std::vector<std::unique_ptr<imap::ImapConnection>> retired_;  // replaced after failures
  static constexpr int kMaxAttempts = 3;  // reconnects per mailbox and run
  int attempts_ = 0;
  // Spreads reconnects so that many mailboxes do not retry in lock step.
  std::minstd_rand jitter_{std::random_device{}()};
  int64_t mailbox_id_ = 0;

  // Current folder.
  std::vector<imap::ListEntry> folders_;
  size_t folder_index_ = 0;
  std::string folder_name_;  // decoded UTF-8
  uint32_t uidvalidity_ = 0;
  uint32_t uidnext_ = 0;
  uint64_t exists_ = 0;
  uint64_t modseq_ = 0;  // HIGHESTMODSEQ from EXAMINE (CONDSTORE); 0 if none
  FolderState folder_state_;
  std::vector<ServerMessage> listed_;
  std::deque<std::vector<uint32_t>> batches_;  // not yet sent
  size_t outstanding_ = 0;                     // UID FETCH commands in flight
  std::set<uint32_t> requested_;               // this folder, sent so far
  std::set<uint32_t> received_;                // this folder, stored so far
  static constexpr int kMaxThrottleWaits = 10;
  int throttle_waits_ = 0;
  int waiting_out_backoff_ = 0;
  std::vector<std::unique_ptr<loop::Timer>> timers_;
  bool folder_gaps_ = false;
  std::vector<uint32_t> missing_;  // asked for but not returned
  bool retried_missing_ = false;
  ObjectWriterPtr writer_;  // the BODY[] being streamed, if any
  Status pending_store_error_;  // why no writer could be opened
};

}  // namespace mailark::engine
