// ImapSession: one IMAP connection of a MailboxJob.
//
// It gets a token, connects (TLS), logs in with XOAUTH2 as the mailbox, and
// then does what its job hands it, one unit at a time: list the folders,
// plan a folder, fetch a folder's queued UID batches and pieces of its large
// messages (pipelined), or continue a message that a lost connection cut
// off. It reports back through SessionHost. Nothing it sends changes the
// mailbox (EXAMINE, BODY.PEEK).
//
// A lost connection gives its work back first: UIDs asked for and not
// received return to their folder's queue, a large message cut off midway
// becomes a PartialMessage, a folder being planned waits again.
//
// Threading: one loop. Lifetime: owned by its job; the job outlives it.
#pragma once

#include <chrono>
#include <deque>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/engine/folder_work.h"
#include "src/engine/job.h"
#include "src/imap/imap_connection.h"
#include "src/imap/untagged_data.h"
#include "src/loop/timer.h"

namespace mailark::engine {

// What the sessions of one job share: the job's services, settings and result.
struct JobContext {
  JobServices services;
  JobSettings settings;
  std::string mailbox;
  int64_t mailbox_id = 0;
  JobResult result;
};

class ImapSession;

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // Logged in, or done with its unit of work: the session waits for the next.
  virtual void onIdle(ImapSession& session) = 0;
  virtual void onFoldersListed(ImapSession& session, std::vector<imap::ListEntry> folders) = 0;
  // One folder's STATUS was answered: folder.status holds it, or nothing if
  // the server refused it. The folder is still Checking.
  virtual void onChecked(ImapSession& session, FolderWork& folder) = 0;
  // Planning ended: `folder` is Fetching (batches queued, maybe none) or
  // Done (skipped, or nothing new).
  virtual void onPlanned(ImapSession& session, FolderWork& folder) = 0;
  // One batch or continuation of `folder` was answered.
  virtual void onFetched(ImapSession& session, FolderWork& folder) = 0;
  // The connection failed (`reason` names the phase and folder); its work
  // was given back. The session is closed until reconnectAfter().
  virtual void onLost(ImapSession& session, const Status& reason) = 0;
  virtual void onLoggedOut(ImapSession& session) = 0;
  virtual void onThrottled(ImapSession& session, std::chrono::milliseconds backoff) = 0;
};

class ImapSession final : public imap::ImapConnectionCallbacks, private imap::LiteralSink {
 public:
  // Below this, a message cut off is fetched again whole.
  static constexpr uint64_t kResumeMinBytes = 1 << 20;

  ImapSession(JobContext& context, SessionHost& host, int number);
  ~ImapSession() override;

  void start();  // token, connect, log in, then host.onIdle()
  void listFolders();
  // Asks the STATUS of each folder (a few at a time in flight, so a mailbox
  // of many folders costs about one round trip), reporting each answer with
  // onChecked() and then onIdle(). The folders must outlive the session.
  void check(std::vector<FolderWork*> folders);
  void plan(FolderWork& folder);
  // Selects `folder` (planned by another session) to fetch from its queue.
  void help(FolderWork& folder);
  // Sends `folder`'s queued work while the pipeline has room; reports
  // onIdle() when it has nothing to send and nothing in flight.
  // REQUIRES: selected() == &folder.
  void fetch(FolderWork& folder);
  // At a checkpoint: LOGOUT and log in again with a fresh token.
  void refresh();
  void reconnectAfter(std::chrono::milliseconds delay);
  void logout();  // then host.onLoggedOut()
  void close();   // at once, no callbacks

  int number() const { return number_; }
  FolderWork* selected() const { return selected_; }
  bool busy() const { return !in_flight_.empty() || partial_.has_value() || !pieces_out_.empty(); }
  bool closed() const { return phase_ == Phase::Closed; }
  // Logging out for good (not to reconnect with a fresh token).
  bool leaving() const { return phase_ == Phase::LoggingOut && !refreshing_; }
  bool throttled() const { return waiting_out_backoff_ > 0; }
  // The token this connection logged in with is close to its expiry.
  bool tokenNearExpiry() const;
  // The server ended the session because its token expired.
  bool lostToTokenExpiry() const { return lost_to_token_expiry_; }
  // Phase and folder, for error messages.
  std::string where() const;

 private:
  enum class Phase { Idle, Token, Connecting, Authenticating, Listing, Checking, Examining, SyncingFlags, ListingUids, Fetching, LoggingOut, Closed };
  static const char* phaseName(Phase p);
  void setPhase(Phase p);

  struct Sent {  // one UID FETCH in flight
    FolderWork* folder;
    std::vector<uint32_t> uids;
  };

  void getTokenThenConnect(bool must_be_newer);
  void connect();
  void afterGreeting();
  void sendNextCheck();
  void examine(FolderWork& folder, std::function<void(bool ok, const std::string& answer)> done);
  // Planning: EXAMINE, then (flag sync and) the listing of new UIDs; with
  // the folder's STATUS known, EXAMINE and the listing in one flight.
  struct EarlyPlan;
  std::optional<EarlyPlan> earlyPlan(FolderWork& folder);
  void planInOneFlight(FolderWork& folder, EarlyPlan plan);
  void earlyAnswered(FolderWork& folder, int which, imap::Response* listing);
  void examined(FolderWork& folder, bool ok, const std::string& answer);
  Status adoptExamined(FolderWork& folder);
  bool flagsChanged(const FolderWork& folder) const;
  bool nothingNew(const FolderWork& folder) const;
  static imap::Command listingCommand(uint32_t from);
  static imap::Command flagSyncCommand(uint32_t upto, uint64_t since);
  void listingAnswered(FolderWork& folder, uint32_t from, imap::Response& r);
  void syncFlags(FolderWork& folder);
  void listNewMessages(FolderWork& folder);
  uint64_t batchBytes(const std::vector<ServerMessage>& todo) const;
  void sendBatch(FolderWork& folder);
  // Large messages: one piece (BODY.PEEK[]<offset.length>) per command.
  Status startSplit(FolderWork& folder);
  void sendPiece(FolderWork& folder, SplitMessage& message);
  struct PieceOut;
  void pieceAnswered(FolderWork& folder, std::list<PieceOut>::iterator it, imap::Response& r);
  PieceOut* pieceOut(uint32_t uid, uint64_t origin);
  // Records the folder's split messages that are complete; a failed one is
  // left to be asked for again whole. Sets *settled if any was.
  Status settleSplits(FolderWork& folder, bool* settled);
  void continuePartial(FolderWork& folder);
  void partialAnswered(FolderWork& folder, imap::Response& r);
  void onFetch(const imap::FetchData& fetch);
  Status storeMessage(FolderWork& folder, const imap::FetchData& fetch);
  // Hands a whole message to the recorder and counts it as received.
  Status recordMessage(FolderWork& folder, uint32_t uid, ObjectWriterPtr writer, std::string internaldate,
                       std::string flags);
  // Repeats a "throttled" command after the suggested backoff.
  void send(imap::Command command, std::function<void(imap::Response&)> done);
  void giveWorkBack();
  void lose(const Status& reason);
  void dropWriter();

  // ImapConnectionCallbacks
  void onUntagged(imap::Response& response) override;
  imap::LiteralSink* onLiteralStart(const imap::LiteralContext& context) override;
  void onConnectionLost(const Status& reason) override;
  // LiteralSink: the BODY[] literal being received.
  Status write(std::span<const char> bytes) override;

  JobContext& ctx_;
  SessionHost& host_;
  int number_;
  Phase phase_ = Phase::Idle;
  bool refreshing_ = false;  // LOGOUT is for a reconnect, not the end
  bool lost_to_token_expiry_ = false;

  std::string token_;  // never logged
  std::chrono::system_clock::time_point token_expires_{};
  std::chrono::system_clock::duration token_margin_{};

  std::unique_ptr<imap::ImapConnection> connection_;
  // Replaced connections may still have a callback on the stack; freed with the session.
  std::vector<std::unique_ptr<imap::ImapConnection>> retired_;

  std::vector<imap::ListEntry> listed_folders_;
  static constexpr size_t kChecksInFlight = 32;
  std::deque<FolderWork*> to_check_;
  std::vector<FolderWork*> checking_;  // STATUS sent, not answered
  FolderWork* planning_ = nullptr;  // folder being examined/planned
  FolderWork* selected_ = nullptr;  // folder selected for fetching
  // From the last EXAMINE.
  uint32_t ex_uidvalidity_ = 0;
  uint32_t ex_uidnext_ = 0;
  uint64_t ex_exists_ = 0;
  uint64_t ex_modseq_ = 0;
  std::vector<ServerMessage> listed_;
  struct EarlyPlan {  // commands sent right behind their EXAMINE
    uint32_t from = 0;         // the listing's first UID
    uint64_t flags_since = 0;  // CONDSTORE flag sync from this mod-sequence; 0: none
    uint32_t flags_upto = 0;
    int throttle_waits = 0;    // a throttled resend may reorder the answers
    int waiting = 0;           // answers still to come
    int next = 0;              // which answer is due: 0 EXAMINE, 1 flags, 2 listing
    bool in_order = true;
    bool examine_ok = false;
    std::string answer;
    bool flags_ok = true;
  };
  std::optional<EarlyPlan> early_;

  std::list<Sent> in_flight_;
  struct PieceOut {  // one piece of a SplitMessage in flight
    FolderWork* folder;
    SplitMessage* message;
    Piece piece;
    std::string buffer;     // its bytes, when it is not the next one due
    bool direct = false;    // streamed straight into the message's writer
    bool answered = false;  // its FETCH data has arrived
  };
  std::list<PieceOut> pieces_out_;
  std::string* piece_buffer_ = nullptr;  // where literal bytes go instead of target_
  ObjectWriterPtr writer_;  // BODY[] being streamed
  uint32_t writer_uid_ = 0;
  uint64_t writer_total_ = 0;
  ObjectWriter* target_ = nullptr;  // where literal bytes go: writer_ or the partial's
  Status pending_store_error_;      // why no writer could be opened
  std::optional<PartialMessage> partial_;  // being continued
  FolderWork* partial_folder_ = nullptr;
  uint64_t partial_asked_from_ = 0;
  bool partial_answered_ = false;

  static constexpr int kMaxThrottleWaits = 10;
  int throttle_waits_ = 0;
  int waiting_out_backoff_ = 0;
  std::vector<std::unique_ptr<loop::Timer>> timers_;
};

}  // namespace mailark::engine
