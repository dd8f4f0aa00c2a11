// Probes for `mailark doctor`: reach a host over TLS, and walk one mailbox
// through the steps of a run's login, one step at a time, stopping at the
// first that fails. They fetch nothing and change nothing (EXAMINE is
// read-only, POP3 only STATs).
//
// Threading: one loop. `done` runs exactly once; the owner must not destroy
// the probe inside it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mailark/status.h"
#include "src/imap/imap_connection.h"
#include "src/pop3/pop3_connection.h"
#include "src/tls/tls_connection.h"

namespace mailark::engine {

// DNS + TCP + TLS handshake with certificate and host name verification,
// then closes. `done` gets ok, or the Status of the first failure (Tls for
// an untrusted certificate).
class TlsReachProbe : private tls::ConnectionCallbacks {
 public:
  TlsReachProbe(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls);
  ~TlsReachProbe() override;
  void start(const std::string& host, uint16_t port, uint64_t timeout_ms, std::function<void(const Status&)> done);

 private:
  void onConnected() override;
  Status onData(std::span<const char> bytes) override;
  void onClosed(const Status& reason) override;
  void finish(const Status& s);

  tls::TlsConnection connection_;
  std::function<void(const Status&)> done_;
};

enum class ProbeStep {
  Connect,       // DNS/TCP/TLS and the server's greeting
  Authenticate,  // AUTHENTICATE XOAUTH2 / AUTH XOAUTH2
  FirstCommand,  // the first command after login (IMAP: LIST "" ""; POP3: STAT)
  Examine,       // IMAP: EXAMINE INBOX
  Done,          // every step passed
};

struct ProbeOutcome {
  ProbeStep failed_at = ProbeStep::Done;  // Done when everything passed
  Status status;
  std::string server_text;     // the refusing response, as the server sent it
  bool not_connected = false;  // "User is authenticated but not connected" (or a BYE after login)
  uint64_t messages = 0;       // INBOX (IMAP) or maildrop (POP3) messages, when reached
};

struct ProbeTarget {
  std::string host;
  uint16_t port = 993;
  uint64_t timeout_ms = 30'000;
  std::string mailbox;
  std::string token;  // never logged
};

// What the IMAP and POP3 probes share: the target, the step reached, the
// outcome so far and the one-shot `done`.
class LoginProbe {
 public:
  virtual ~LoginProbe() = default;

 protected:
  // Takes the target and `done`, and starts at ProbeStep::Connect.
  void begin(ProbeTarget target, std::function<void(const ProbeOutcome&)> done);
  // Records the failure of `step` and finishes; ignored once finished.
  void fail(ProbeStep step, const Status& s, const std::string& server_text = "");
  // Closes the connection and runs `done` with the outcome, once.
  void finish();
  virtual void closeConnection() = 0;

  ProbeTarget target_;
  ProbeStep step_ = ProbeStep::Connect;
  ProbeOutcome outcome_;

 private:
  std::function<void(const ProbeOutcome&)> done_;
};

// Walks the IMAP steps Connect -> Authenticate -> FirstCommand -> Examine.
class ImapAccessProbe : public LoginProbe, private imap::ImapConnectionCallbacks {
 public:
  ImapAccessProbe(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls);
  ~ImapAccessProbe() override;
  void start(ProbeTarget target, std::function<void(const ProbeOutcome&)> done);

 private:
  void firstCommand();
  void examine();
  void closeConnection() override { connection_->close(); }
  void onUntagged(imap::Response& response) override;
  imap::LiteralSink* onLiteralStart(const imap::LiteralContext& context) override;
  void onConnectionLost(const Status& reason) override;

  std::unique_ptr<imap::ImapConnection> connection_;
};

// Walks the POP3 steps Connect -> Authenticate -> FirstCommand (STAT).
class Pop3AccessProbe : public LoginProbe, private pop3::Pop3ConnectionCallbacks {
 public:
  Pop3AccessProbe(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls);
  ~Pop3AccessProbe() override;
  void start(ProbeTarget target, std::function<void(const ProbeOutcome&)> done);

 private:
  void closeConnection() override { connection_->close(); }
  void onConnectionLost(const Status& reason) override;

  std::unique_ptr<pop3::Pop3Connection> connection_;
};

}  // namespace mailark::engine
