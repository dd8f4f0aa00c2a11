#include "src/engine/pop3_job.h"

#include <algorithm>
#include <set>

#include "src/auth/jwt_claims.h"
#include "src/base/log.h"
#include "src/imap/xoauth2.h"

namespace mailark::engine {

namespace {

constexpr const char* kFolder = "INBOX";
constexpr uint32_t kPop3UidValidity = 0;

}  // namespace

Pop3Job::Pop3Job(JobServices services, const JobSettings& settings, std::string mailbox, int64_t run_id,
                 JobFinished on_finished, pop3::Limits limits)
    : services_(std::move(services)),
      settings_(settings),
      limits_(limits),
      mailbox_(std::move(mailbox)),
      run_id_(run_id),
      on_finished_(std::move(on_finished)) {}

Pop3Job::~Pop3Job() {
  if (writer_) writer_->abort();
}

const char* Pop3Job::phaseName(Phase p) {
  switch (p) {
    case Phase::Idle: return "idle";
    case Phase::Token: return "token";
    case Phase::Connecting: return "connecting (POP3)";
    case Phase::Capability: return "CAPA";
    case Phase::Authenticating: return "authenticating (POP3)";
    case Phase::ListingUidls: return "listing UIDLs";
    case Phase::Fetching: return "fetching (POP3 RETR)";
    case Phase::Quitting: return "quitting";
    case Phase::Done: return "done";
  }
  return "?";
}

void Pop3Job::setPhase(Phase p) {
  log::debug(mailbox_ + ": " + phaseName(phase_) + " -> " + phaseName(p));
  phase_ = p;
}

std::string Pop3Job::authFailureHint(const std::string& mailbox, bool token_roles_known, bool has_pop_role) {
  if (token_roles_known && !has_pop_role) {
    return "the app's token has no POP.AccessAsApp role: in Entra ID add the application permission "
           "Office 365 Exchange Online > POP.AccessAsApp to the app registration and grant admin consent";
  }
  return "the token was refused for this mailbox; check that the app has the POP.AccessAsApp application "
         "permission (admin consented), that its service principal may open the mailbox "
         "(Add-MailboxPermission -Identity " + mailbox +
         " -User <service principal id> -AccessRights FullAccess) and that POP3 is enabled for it "
         "(Set-CASMailbox -Identity " + mailbox + " -PopEnabled $true)";
}

void Pop3Job::start() {
  Result<int64_t> id = services_.state->mailboxId(mailbox_);
  if (!id) return fail(id.status());
  mailbox_id_ = *id;
  Result<FolderState> folder = services_.state->folder(mailbox_id_, kFolder, kPop3UidValidity);
  if (!folder) return fail(folder.status());
  folder_id_ = folder->folder_id;
  setPhase(Phase::Token);
  services_.tokens->getToken([this](const Result<AccessToken>& token) {
    if (!token) return fail(token.status());
    token_ = token->value;
    connect();
  });
}

void Pop3Job::connect() {
  setPhase(Phase::Connecting);
  connection_ = std::make_unique<pop3::Pop3Connection>(
      services_.loop, services_.tls, static_cast<pop3::Pop3ConnectionCallbacks*>(this), limits_);
  connection_->open(settings_.host, settings_.port, settings_.idle_timeout_ms, [this](const Status& s) {
    if (!s.isOk()) return fail(s);
    capa();
  });
}

void Pop3Job::capa() {
  setPhase(Phase::Capability);
  capabilities_.clear();
  pop3::Request r;
  r.line = "CAPA";
  r.shape = pop3::Shape::Lines;
  r.on_line = [this](std::string_view line) {
    capabilities_.push_back(pop3::parseCapaLine(line));
    return Status::ok();
  };
  r.done = [this](const pop3::Reply& reply) {
    // A server without CAPA (RFC 2449) may still take AUTH; only a SASL
    // list that leaves XOAUTH2 out is a definite no.
    if (reply.ok && pop3::findCapability(capabilities_, "SASL") && !pop3::hasSaslMechanism(capabilities_, "XOAUTH2")) {
      return fail(authRejected("POP3 server " + settings_.host +
                               " does not offer SASL XOAUTH2; app-only OAuth needs it"));
    }
    authenticate();
  };
  connection_->send(std::move(r));
}

void Pop3Job::authenticate() {
  setPhase(Phase::Authenticating);
  // Continuation form: "AUTH XOAUTH2", "+", payload. A "+" after the
  // payload is the server's error challenge (JSON), answered with an empty
  // line so that the -ERR follows.
  auto sent = std::make_shared<bool>(false);
  pop3::Request r;
  r.line = "AUTH XOAUTH2";
  r.shape = pop3::Shape::Sasl;
  r.on_continuation = [this, sent](std::string_view) -> std::string {
    if (*sent) return "";
    *sent = true;
    return imap::xoauth2InitialResponse(mailbox_, token_);
  };
  r.done = [this](const pop3::Reply& reply) {
    if (reply.ok) return listUidls();
    Result<auth::JwtClaims> claims = auth::decodeJwtClaims(token_);
    bool known = claims.isOk();
    bool has_pop = known && claims->hasRole("POP.AccessAsApp");
    fail(authRejected("POP3 AUTH XOAUTH2 failed for " + mailbox_ + ": server answered \"-ERR " + reply.text +
                      "\": " + authFailureHint(mailbox_, known, has_pop)));
  };
  connection_->send(std::move(r));
}

void Pop3Job::listUidls() {
  token_.clear();  // authenticated; the connection no longer needs it
  setPhase(Phase::ListingUidls);
  listed_.clear();
  pop3::Request r;
  r.line = "UIDL";
  r.shape = pop3::Shape::Lines;
  r.on_line = [this](std::string_view line) -> Status {
    Result<pop3::UidlEntry> e = pop3::parseUidlLine(line);
    if (!e) return e.status();
    listed_.push_back(std::move(*e));
    return Status::ok();
  };
  r.done = [this](const pop3::Reply& reply) {
    if (!reply.ok) {
      return fail(protocolError("UIDL refused (\"-ERR " + reply.text +
                                "\"); mailark needs UIDL to archive over POP3 incrementally"));
    }
    planFetch();
  };
  connection_->send(std::move(r));
}

void Pop3Job::planFetch() {
  if (Status s = pop3::checkUidlListing(listed_); !s.isOk()) return fail(s);
  Result<std::vector<StateStore::UidlRow>> archived = services_.state->archivedUidls(folder_id_);
  if (!archived) return fail(archived.status());
  std::set<std::string> have;
  for (const StateStore::UidlRow& row : *archived) {
    have.insert(row.uidl);
    next_uid_ = std::max(next_uid_, row.uid + 1);
  }
  // Rows from another writer of this folder would also hold uids.
  Result<std::vector<uint32_t>> uids = services_.state->archivedUids(folder_id_, next_uid_);
  if (!uids) return fail(uids.status());
  if (!uids->empty()) next_uid_ = uids->back() + 1;
  todo_.clear();
  for (const pop3::UidlEntry& e : listed_)
    if (!have.count(e.uidl)) todo_.push_back(e);
  ++result_.folders;
  log::debug(mailbox_ + ": " + std::to_string(listed_.size()) + " message(s) on the server, " +
             std::to_string(todo_.size()) + " new");
  todo_index_ = 0;
  fetchNext();
}

void Pop3Job::fetchNext() {
  if (todo_index_ >= todo_.size()) return complete();
  setPhase(Phase::Fetching);
  const pop3::UidlEntry& e = todo_[todo_index_];
  pop3::Request r;
  r.line = "RETR " + std::to_string(e.number);
  r.shape = pop3::Shape::Body;
  r.sink = this;
  r.on_body_start = [this]() -> Status {
    if (writer_) writer_->abort();
    Result<ObjectWriterPtr> w = services_.recorder->beginMessage();
    if (!w) return w.status();
    writer_ = std::move(*w);
    return Status::ok();
  };
  r.done = [this](const pop3::Reply& reply) { onRetrDone(reply); };
  connection_->send(std::move(r));
}

Status Pop3Job::write(std::span<const char> bytes) {
  if (!writer_) return internalError("RETR data with no object writer");
  return writer_->append(bytes);
}

void Pop3Job::onRetrDone(const pop3::Reply& reply) {
  const pop3::UidlEntry e = todo_[todo_index_];
  if (!reply.ok || !writer_ || writer_->size() == 0) {
    // Deleted by another client since UIDL, or "+OK" with no data: nothing
    // is recorded, so the next run asks again.
    if (writer_) {
      writer_->abort();
      writer_.reset();
    }
    result_.warnings.push_back("POP3 message " + std::to_string(e.number) + " (UIDL " + e.uidl + ") " +
                               (reply.ok ? "came back empty" : "could not be retrieved: -ERR " + reply.text) +
                               "; the next run retries it");
    ++todo_index_;
    return fetchNext();
  }
  uint64_t size = writer_->size();
  MessageRecord rec;
  rec.uid = next_uid_;
  rec.uidl = e.uidl;
  Status finished = services_.recorder->finishMessage(folder_id_, std::move(writer_), std::move(rec));
  if (!finished.isOk()) return fail(finished);
  ++next_uid_;
  ++todo_index_;
  ++result_.messages;
  result_.bytes += size;
  // Bound what a crash could lose without paying a flush per message.
  if (++since_flush_ >= settings_.batch_count) {
    since_flush_ = 0;
    if (Status s = services_.recorder->flush(); !s.isOk()) return fail(s);
  }
  fetchNext();
}

void Pop3Job::complete() {
  if (Status s = services_.recorder->flush(); !s.isOk()) return fail(s);
  // For `status` and a uniform folder row; POP3 progress itself is the UIDL set.
  Status s = services_.state->updateFolderProgress(folder_id_, 0, next_uid_ - 1);
  if (!s.isOk()) return fail(s);
  quit();
}

void Pop3Job::quit() {
  setPhase(Phase::Quitting);
  pop3::Request r;
  r.line = "QUIT";
  r.done = [this](const pop3::Reply&) { finish(Status::ok()); };
  connection_->send(std::move(r));
}

void Pop3Job::onConnectionLost(const Status& reason) {
  if (phase_ == Phase::Quitting) return finish(Status::ok());
  fail(reason);
}

void Pop3Job::fail(const Status& status) {
  std::string where = phase_ == Phase::Fetching && todo_index_ < todo_.size()
                          ? std::string(phaseName(phase_)) + " message " + std::to_string(todo_[todo_index_].number) +
                                " (UIDL " + todo_[todo_index_].uidl + ")"
                          : std::string(phaseName(phase_));
  finish(status.withContext(where));
}

void Pop3Job::finish(Status status) {
  if (phase_ == Phase::Done) return;
  setPhase(Phase::Done);
  // A message cut off mid-RETR is dropped; the ones already finished are
  // complete and are made durable and recorded.
  if (writer_) {
    writer_->abort();
    writer_.reset();
  }
  if (connection_) connection_->close();
  token_.clear();
  result_.status = settleJob(services_, mailbox_id_, run_id_, std::move(status));
  on_finished_(*this);
}

}  // namespace mailark::engine
