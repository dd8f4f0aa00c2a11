#include "src/engine/access_probe.h"

#include "src/base/log.h"
#include "src/imap/server_signals.h"
#include "src/imap/untagged_data.h"
#include "src/imap/xoauth2_login.h"
#include "src/pop3/xoauth2_login.h"

namespace mailark::engine {

// ---- TlsReachProbe ----

TlsReachProbe::TlsReachProbe(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls)
    : connection_(loop, std::move(tls), this) {}

TlsReachProbe::~TlsReachProbe() { connection_.close(); }

void TlsReachProbe::start(const std::string& host, uint16_t port, uint64_t timeout_ms,
                          std::function<void(const Status&)> done) {
  done_ = std::move(done);
  connection_.connect(host, port, timeout_ms);
}

void TlsReachProbe::finish(const Status& s) {
  if (!done_) return;
  auto done = std::move(done_);
  done_ = nullptr;
  connection_.close();
  done(s);
}

// The handshake and the certificate check passed: that is all we wanted.
void TlsReachProbe::onConnected() { finish(Status::ok()); }

Status TlsReachProbe::onData(std::span<const char>) { return Status::ok(); }

void TlsReachProbe::onClosed(const Status& reason) {
  finish(reason.isOk() ? transientError("the server closed the connection during the TLS handshake") : reason);
}

// ---- LoginProbe ----

void LoginProbe::begin(ProbeTarget target, std::function<void(const ProbeOutcome&)> done) {
  target_ = std::move(target);
  done_ = std::move(done);
  step_ = ProbeStep::Connect;
}

void LoginProbe::fail(ProbeStep step, const Status& s, const std::string& server_text) {
  if (!done_) return;
  outcome_.failed_at = step;
  outcome_.status = s;
  outcome_.server_text = server_text;
  finish();
}

void LoginProbe::finish() {
  if (!done_) return;
  auto done = std::move(done_);
  done_ = nullptr;
  closeConnection();
  done(outcome_);
}

// ---- ImapAccessProbe ----

ImapAccessProbe::ImapAccessProbe(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls)
    : connection_(std::make_unique<imap::ImapConnection>(loop, std::move(tls), static_cast<imap::ImapConnectionCallbacks*>(this))) {}

ImapAccessProbe::~ImapAccessProbe() { connection_->close(); }

void ImapAccessProbe::start(ProbeTarget target, std::function<void(const ProbeOutcome&)> done) {
  begin(std::move(target), std::move(done));
  connection_->open(target_.host, target_.port, target_.timeout_ms, [this](const Status& s) {
    if (!s.isOk()) return fail(ProbeStep::Connect, s);
    step_ = ProbeStep::Authenticate;
    imap::loginXoauth2(*connection_, target_.mailbox, target_.token, [this](const imap::LoginResult& r) {
      target_.token.clear();  // logged in or refused: no longer needed
      if (!r.status.isOk()) return fail(ProbeStep::Authenticate, r.status, r.server_text);
      firstCommand();
    });
  });
}

void ImapAccessProbe::firstCommand() {
  // Exchange lets the login through even when the app may not open the
  // mailbox; the refusal comes with the first command after it.
  step_ = ProbeStep::FirstCommand;
  connection_->send(imap::CommandBuilder(false).raw("LIST \"\" \"\"").build(), [this](imap::Response& r) {
    if (r.status != "OK") {
      outcome_.not_connected = imap::classify(r).signal == imap::ServerSignal::NotConnected;
      return fail(ProbeStep::FirstCommand, authRejected("the first command after login was refused"),
                  imap::describeResponse(r));
    }
    examine();
  });
}

void ImapAccessProbe::examine() {
  step_ = ProbeStep::Examine;
  connection_->send(imap::CommandBuilder(false).raw("EXAMINE INBOX").build(), [this](imap::Response& r) {
    if (r.status != "OK")
      return fail(ProbeStep::Examine, protocolError("EXAMINE INBOX was refused"), imap::describeResponse(r));
    step_ = ProbeStep::Done;
    connection_->send(imap::CommandBuilder(false).raw("LOGOUT").build(), [this](imap::Response&) { finish(); });
  });
}

void ImapAccessProbe::onUntagged(imap::Response& r) {
  if (step_ == ProbeStep::Examine)
    if (auto n = imap::parseExists(r)) outcome_.messages = *n;
}

imap::LiteralSink* ImapAccessProbe::onLiteralStart(const imap::LiteralContext&) { return nullptr; }

void ImapAccessProbe::onConnectionLost(const Status& reason) {
  if (step_ == ProbeStep::Done) return finish();  // the BYE of LOGOUT
  // Exchange follows "not connected" with "* BYE Connection closed"; a BYE
  // right after login means the same to the admin.
  if (step_ == ProbeStep::FirstCommand && !connection_->byeText().empty()) outcome_.not_connected = true;
  fail(step_, reason, connection_->byeText().empty() ? "" : "* BYE " + connection_->byeText());
}

// ---- Pop3AccessProbe ----

Pop3AccessProbe::Pop3AccessProbe(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls)
    : connection_(std::make_unique<pop3::Pop3Connection>(loop, std::move(tls), static_cast<pop3::Pop3ConnectionCallbacks*>(this))) {}

Pop3AccessProbe::~Pop3AccessProbe() { connection_->close(); }

void Pop3AccessProbe::start(ProbeTarget target, std::function<void(const ProbeOutcome&)> done) {
  begin(std::move(target), std::move(done));
  connection_->open(target_.host, target_.port, target_.timeout_ms, [this](const Status& s) {
    if (!s.isOk()) return fail(ProbeStep::Connect, s);
    step_ = ProbeStep::Authenticate;
    pop3::loginXoauth2(*connection_, target_.mailbox, target_.token, [this](const pop3::Reply& reply) {
      target_.token.clear();
      if (!reply.ok)
        return fail(ProbeStep::Authenticate, authRejected("AUTH XOAUTH2 was refused"), "-ERR " + reply.text);
      step_ = ProbeStep::FirstCommand;
      pop3::Request stat;
      stat.line = "STAT";
      stat.done = [this](const pop3::Reply& reply) {
        if (!reply.ok) return fail(ProbeStep::FirstCommand, authRejected("STAT was refused"), "-ERR " + reply.text);
        outcome_.messages = std::strtoull(reply.text.c_str(), nullptr, 10);
        step_ = ProbeStep::Done;
        pop3::Request quit;
        quit.line = "QUIT";
        quit.done = [this](const pop3::Reply&) { finish(); };
        connection_->send(std::move(quit));
      };
      connection_->send(std::move(stat));
    });
  });
}

void Pop3AccessProbe::onConnectionLost(const Status& reason) {
  if (step_ == ProbeStep::Done) return finish();
  fail(step_, reason);
}

}  // namespace mailark::engine
