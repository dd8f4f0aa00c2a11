// PlanJob: what the next `mailark run` would fetch from one IMAP mailbox,
// found without fetching any message.
//
// Sequence: token -> connect (TLS) -> login (src/imap/xoauth2_login.h) ->
// LIST -> per folder the run would archive (same filter as MailboxJob):
// STATUS (MESSAGES UIDNEXT UIDVALIDITY [SIZE when STATUS=SIZE is offered]),
// then, compared with the archive's read-only state:
//   - no row for (mailbox, folder, UIDVALIDITY): every message is new;
//   - a row whose UIDNEXT equals the server's, or an empty folder: nothing;
//   - otherwise EXAMINE + UID FETCH n:* (UID RFC822.SIZE) with n one past
//     the row's highest UID, minus the UIDs already archived: the very list
//     MailboxJob would fetch.
// Nothing is changed on the server (EXAMINE is read-only) or in the archive.
//
// Threading: one loop. `on_finished` runs exactly once; the owner must not
// destroy the job inside it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mailark/state_store.h"
#include "mailark/token_provider.h"
#include "src/engine/folder_plan.h"
#include "src/engine/job.h"
#include "src/imap/imap_connection.h"
#include "src/imap/untagged_data.h"

namespace mailark::engine {

struct FolderForecast {
  std::string folder;  // decoded UTF-8
  uint64_t messages = 0;
  uint32_t uidnext = 0;
  uint32_t uidvalidity = 0;
  std::optional<uint64_t> size;  // STATUS SIZE, when the server offers it
  bool in_archive = false;       // the archive has a row for this UIDVALIDITY
  uint64_t to_fetch = 0;
  std::optional<uint64_t> to_fetch_bytes;  // RFC822.SIZE estimates; unknown for whole new folders without SIZE
};

struct MailboxForecast {
  std::string mailbox;
  Status status;  // why planning failed, if it did
  std::vector<FolderForecast> folders;
  uint64_t messages = 0;  // on the server, in the folders a run archives
  uint64_t to_fetch = 0;
  uint64_t to_fetch_bytes = 0;   // known part only
  bool bytes_complete = true;    // false when some folder's bytes are unknown
};

// What plan_command drives, whatever the protocol.
class MailboxPlanner {
 public:
  virtual ~MailboxPlanner() = default;
  virtual void start() = 0;
  // Complete once the planner's on_finished ran.
  virtual const MailboxForecast& forecast() const = 0;
};
using MailboxPlannerPtr = std::unique_ptr<MailboxPlanner>;

// What the IMAP and POP3 planners share: their borrowed services, the
// settings, the forecast they fill and the `on_finished` they run once.
class PlannerBase : public MailboxPlanner {
 public:
  const MailboxForecast& forecast() const override { return forecast_; }

 protected:
  // `state` may be null (no archive yet: everything is new). `tokens`,
  // `tls` and `state` must outlive the planner.
  PlannerBase(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls, TokenProvider* tokens, StateStore* state,
              const JobSettings& settings, std::string mailbox, std::function<void()> on_finished);

  uv_loop_t* loop_;
  std::shared_ptr<tls::TlsContext> tls_;
  TokenProvider* tokens_;
  StateStore* state_;
  JobSettings settings_;
  std::function<void()> on_finished_;
  MailboxForecast forecast_;
};

class PlanJob : public PlannerBase, public imap::ImapConnectionCallbacks {
 public:
  // `state` may be null (no archive yet: everything is new). `tokens`,
  // `tls` and `state` must outlive the job.
  PlanJob(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls, TokenProvider* tokens, StateStore* state,
          const JobSettings& settings, std::string mailbox, std::function<void()> on_finished);
  ~PlanJob() override;

  void start() override;

 private:
  enum class Phase { Idle, Token, Connecting, LoggingIn, Listing, Status, Examining, ListingUids, LoggingOut, Done };
  static const char* phaseName(Phase p);
  void setPhase(Phase p);

  void connect(const std::string& token);
  void listFolders();
  void nextFolder();
  void statusFolder();
  void compare();
  void listNewUids(const FolderState& row);
  void folderDone();
  void logout();
  void finish(Status status);

  // ImapConnectionCallbacks
  void onUntagged(imap::Response& response) override;
  imap::LiteralSink* onLiteralStart(const imap::LiteralContext& context) override;
  void onConnectionLost(const Status& reason) override;

  Phase phase_ = Phase::Idle;
  std::unique_ptr<imap::ImapConnection> connection_;

  std::vector<imap::ListEntry> folders_;
  size_t folder_index_ = 0;
  FolderForecast current_;
  std::vector<ServerMessage> listed_;
  bool status_seen_ = false;
};

}  // namespace mailark::engine
