// Pop3Job: archives one mailbox over POP3 (app-only POP.AccessAsApp).
//
// Sequence: token -> connect (implicit TLS, same trust as IMAP) -> CAPA ->
// AUTH XOAUTH2 in the continuation form (user=<mailbox>) -> UIDL -> RETR of
// every UIDL not yet archived, one at a time -> QUIT. Never DELE, never TOP.
//
// State: POP3 has no folders or UIDVALIDITY. The mailbox's messages live in
// one folder row "INBOX" with uidvalidity 0; each message gets the next
// local uid and carries its UIDL (schema/0002_pop3.sql). A UIDL already in
// that row is never fetched again.
//
// Bytes: RETR is dot-unstuffed and streamed into the store through
// JobServices::recorder; a message is recorded only when its terminating
// "." arrived, so a dropped connection leaves nothing half-written. What is
// stored is exactly the unstuffed RETR data including the CRLF before the
// terminating "."; for a message that had no final CRLF on the server that
// is the message plus CRLF (POP3 cannot carry it otherwise), so such a
// message archived over both IMAP and POP3 is stored as two objects.
//
// Threading: one loop. The job calls `on_finished` exactly once; the owner
// must not destroy the job inside that callback (use DeferredDeleter).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/engine/job.h"
#include "src/pop3/pop3_connection.h"
#include "src/pop3/reply_data.h"

namespace mailark::engine {

class Pop3Job : public Job, private pop3::Pop3ConnectionCallbacks, private pop3::BodySink {
 public:
  Pop3Job(JobServices services, const JobSettings& settings, std::string mailbox, int64_t run_id,
          JobFinished on_finished, pop3::Limits limits = {});
  ~Pop3Job() override;

  void start() override;
  const std::string& mailbox() const override { return mailbox_; }
  const JobResult& result() const override { return result_; }

  // Hint for a refused AUTH XOAUTH2: names the likely causes (role, mailbox
  // permission, POP disabled). `token_roles_known`/`has_pop_role` narrow it
  // when the token's roles claim could be read.
  static std::string authFailureHint(const std::string& mailbox, bool token_roles_known, bool has_pop_role);

 private:
  enum class Phase { Idle, Token, Connecting, Capability, Authenticating, ListingUidls, Fetching, Quitting, Done };
  static const char* phaseName(Phase p);
  void setPhase(Phase p);

  void connect();
  void capa();
  void authenticate();
  void listUidls();
  void planFetch();
  void fetchNext();
  void onRetrDone(const pop3::Reply& reply);
  void complete();
  void quit();
  void fail(const Status& status);
  void finish(Status status);

  // Pop3ConnectionCallbacks
  void onConnectionLost(const Status& reason) override;
  // BodySink: the RETR data of the message being fetched.
  Status write(std::span<const char> bytes) override;

  JobServices services_;
  JobSettings settings_;
  pop3::Limits limits_;
  std::string mailbox_;
  int64_t run_id_;
  JobFinished on_finished_;
  JobResult result_;
  Phase phase_ = Phase::Idle;

  std::string token_;  // bearer token for this connection; never logged
  std::unique_ptr<pop3::Pop3Connection> connection_;
  int64_t mailbox_id_ = 0;
  int64_t folder_id_ = 0;

  std::vector<pop3::Capability> capabilities_;
  std::vector<pop3::UidlEntry> listed_;
  std::vector<pop3::UidlEntry> todo_;
  size_t todo_index_ = 0;
  uint32_t next_uid_ = 1;
  size_t since_flush_ = 0;
  ObjectWriterPtr writer_;  // the RETR being streamed, if any
};

}  // namespace mailark::engine
