// Pop3Connection: one POP3 client connection over implicit TLS (port 995).
//
// Owns the connection state (greeting, replies expected, in order) and
// nothing about what a job wants from the mailbox. Commands may be queued;
// POP3 answers them in order, and each request says what shape its reply
// has (see ReplyParser). Data lines go to the request's on_line, message
// bytes to its BodySink, SASL challenges to on_continuation.
//
// Threading: belongs to one libuv loop.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "mailark/status.h"
#include "src/pop3/reply_parser.h"
#include "src/tls/tls_connection.h"

namespace mailark::pop3 {

class Pop3ConnectionCallbacks {
 public:
  virtual ~Pop3ConnectionCallbacks() = default;
  // The connection ended unexpectedly (network, TLS, timeout, protocol
  // error, a callback's error). Final; pending request callbacks are not
  // called.
  virtual void onConnectionLost(const Status& reason) = 0;
};

struct Reply {
  bool ok = false;   // +OK (true) or -ERR
  std::string text;  // the status line after the indicator
};

struct Request {
  std::string line;      // the command, without CRLF
  std::string log_text;  // what the debug log shows; empty = `line`
  Shape shape = Shape::Single;
  // Shape::Lines: each data line; an error ends the connection.
  std::function<Status(std::string_view line)> on_line;
  // Shape::Body: receives the message; must stay valid until `done`.
  BodySink* sink = nullptr;
  // Shape::Sasl: answers a "+" challenge with a line (no CRLF). The result
  // may carry a secret and is never logged.
  std::function<std::string(std::string_view challenge)> on_continuation;
  // Shape::Body: called at "+OK", before the first byte reaches `sink`.
  std::function<Status()> on_body_start;
  std::function<void(const Reply&)> done;
};

class Pop3Connection : private tls::ConnectionCallbacks, private ReplyCallbacks {
 public:
  // `callbacks` must outlive the connection.
  Pop3Connection(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls, Pop3ConnectionCallbacks* callbacks,
                 Limits limits = {});
  ~Pop3Connection() override;

  // Connects and reads the greeting; `ready` gets ok after "+OK", or the
  // reason it failed (a "-ERR" greeting is Transient). After `ready`, loss
  // is reported via onConnectionLost().
  void open(const std::string& host, uint16_t port, uint64_t idle_timeout_ms,
            std::function<void(const Status&)> ready);

  // Sends a command; `done` runs with its reply once complete.
  void send(Request request);

  // Closes without further callbacks. Idempotent.
  void close();

  size_t requestsInFlight() const { return pending_.size(); }

 private:
  // tls::ConnectionCallbacks
  void onConnected() override;
  Status onData(std::span<const char> bytes) override;
  void onClosed(const Status& reason) override;
  // ReplyCallbacks
  Status onStatus(Indicator indicator, std::string_view text) override;
  Status onLine(std::string_view line) override;
  Status onEnd() override;

  void lose(const Status& reason);

  Pop3ConnectionCallbacks* callbacks_;
  tls::TlsConnection connection_;
  ReplyParser parser_;
  std::function<void(const Status&)> ready_;
  bool greeted_ = false;
  bool open_ = false;
  std::deque<Request> pending_;  // front: the request being answered
  Reply current_;                // status of the reply being parsed
  std::string host_;
};

}  // namespace mailark::pop3
