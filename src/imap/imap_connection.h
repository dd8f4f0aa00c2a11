// ImapConnection: one IMAP client connection over implicit TLS.
//
// Owns the connection state (tags, capabilities, commands in flight) and
// nothing about what a job wants from the mailbox: untagged data and
// literals go to ImapConnectionCallbacks, tagged completions to the
// per-command callback. Commands may be pipelined; each completes in order.
//
// Threading: belongs to one libuv loop.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "mailark/status.h"
#include "src/imap/command_builder.h"
#include "src/imap/response_parser.h"
#include "src/tls/tls_connection.h"

namespace mailark::imap {

class ImapConnectionCallbacks {
 public:
  virtual ~ImapConnectionCallbacks() = default;
  // Untagged data other than CAPABILITY (which the connection keeps).
  virtual void onUntagged(Response& response) = 0;
  // See ParserCallbacks::onLiteralStart.
  virtual LiteralSink* onLiteralStart(const LiteralContext& context) = 0;
  // The connection ended unexpectedly (network, TLS, protocol error, BYE).
  // Final; pending command callbacks are not called.
  virtual void onConnectionLost(const Status& reason) = 0;
};

class ImapConnection : private tls::ConnectionCallbacks, private ParserCallbacks {
 public:
  // `callbacks` must outlive the connection.
  ImapConnection(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls,
                 ImapConnectionCallbacks* callbacks, Limits limits = {});
  ~ImapConnection() override;

  // Connects and reads the greeting; `ready` gets ok after "* OK" (or
  // PREAUTH), or the reason it failed. After `ready`, loss is reported via
  // onConnectionLost().
  void open(const std::string& host, uint16_t port, uint64_t idle_timeout_ms,
            std::function<void(const Status&)> ready);

  // Sends a command; `done` gets the tagged response (status OK/NO/BAD).
  // `on_continuation` answers a "+" that is not for a literal (SASL): it gets
  // the continuation text and returns the line to send (without CRLF).
  using Done = std::function<void(Response& tagged)>;
  using ContinuationReply = std::function<std::string(const std::string& text)>;
  void send(Command command, Done done, ContinuationReply on_continuation = nullptr);

  // Closes without further callbacks. Idempotent.
  void close();

  bool hasCapability(std::string_view upper_name) const;
  bool capabilitiesKnown() const { return !capabilities_.empty(); }
  size_t commandsInFlight() const { return pending_.size(); }
  // Text of the last untagged BYE, if any.
  const std::string& byeText() const { return bye_text_; }

 private:
  struct Pending {
    std::string tag;
    Command command;
    size_t next_segment = 1;  // segments[0] was sent already
    Done done;
    ContinuationReply on_continuation;
  };

  // tls::ConnectionCallbacks
  void onConnected() override;
  Status onData(std::span<const char> bytes) override;
  void onClosed(const Status& reason) override;
  // ParserCallbacks
  LiteralSink* onLiteralStart(const LiteralContext& context) override;
  void onResponse(Response&& response) override;

  void noteCapabilities(std::string_view list);
  void handleContinuation(const Response& response);
  void lose(const Status& reason);

  ImapConnectionCallbacks* callbacks_;
  tls::TlsConnection connection_;
  ResponseParser parser_;
  std::function<void(const Status&)> ready_;
  bool greeted_ = false;
  bool open_ = false;
  uint32_t next_tag_ = 1;
  std::deque<Pending> pending_;
  std::set<std::string, std::less<>> capabilities_;
  std::string bye_text_;
  std::string host_;
};

}  // namespace mailark::imap
