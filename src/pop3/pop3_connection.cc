#include "src/pop3/pop3_connection.h"

#include "src/base/log.h"

namespace mailark::pop3 {

Pop3Connection::Pop3Connection(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls,
                               Pop3ConnectionCallbacks* callbacks, Limits limits)
    : callbacks_(callbacks), connection_(loop, std::move(tls), this), parser_(this, limits) {}

Pop3Connection::~Pop3Connection() { close(); }

void Pop3Connection::open(const std::string& host, uint16_t port, uint64_t idle_timeout_ms,
                          std::function<void(const Status&)> ready) {
  host_ = host;
  ready_ = std::move(ready);
  open_ = true;
  parser_.expect(Shape::Single);  // the greeting
  connection_.connect(host, port, idle_timeout_ms);
}

void Pop3Connection::close() {
  open_ = false;
  connection_.close();
}

void Pop3Connection::send(Request request) {
  if (!open_) return;
  log::debug(host_ + " C: " + (request.log_text.empty() ? request.line : request.log_text));
  std::string wire = request.line + "\r\n";
  parser_.expect(request.shape, request.sink);
  pending_.push_back(std::move(request));
  connection_.write(wire);
}

void Pop3Connection::onConnected() {}

Status Pop3Connection::onData(std::span<const char> bytes) {
  if (!open_) return Status(StatusCode::Cancelled, "connection closed");
  Status s = parser_.feed(bytes);
  if (!open_ && s.isOk()) return Status(StatusCode::Cancelled, "connection closed");
  return s;
}

void Pop3Connection::lose(const Status& reason) {
  if (!open_) return;
  close();
  if (!greeted_) {
    auto ready = std::move(ready_);
    if (ready) ready(reason);
    return;
  }
  callbacks_->onConnectionLost(reason);
}

void Pop3Connection::onClosed(const Status& reason) {
  // A server that closes in the middle of a multi-line reply truncated it.
  if (parser_.inMultiLine() && reason.code() == StatusCode::Transient) {
    return lose(transientError("connection closed in the middle of a multi-line reply (" + reason.message() + ")"));
  }
  lose(reason);
}

Status Pop3Connection::onStatus(Indicator indicator, std::string_view text) {
  if (!open_) return Status(StatusCode::Cancelled, "connection closed");
  current_.ok = indicator == Indicator::Ok;
  current_.text = std::string(text);
  if (!greeted_) return Status::ok();
  if (pending_.empty()) return internalError("POP3 reply with no request");
  Request& r = pending_.front();
  if (indicator == Indicator::Continuation) {
    if (!r.on_continuation) return protocolError("server sent an unexpected \"+\" continuation");
    std::string answer = r.on_continuation(text);
    connection_.write(answer + "\r\n");
    return Status::ok();
  }
  log::debug(host_ + " S: " + (current_.ok ? "+OK " : "-ERR ") + current_.text);
  if (current_.ok && r.shape == Shape::Body && r.on_body_start) return r.on_body_start();
  return Status::ok();
}

Status Pop3Connection::onLine(std::string_view line) {
  if (!open_) return Status(StatusCode::Cancelled, "connection closed");
  if (pending_.empty() || !pending_.front().on_line) return Status::ok();
  return pending_.front().on_line(line);
}

Status Pop3Connection::onEnd() {
  if (!open_) return Status(StatusCode::Cancelled, "connection closed");
  if (!greeted_) {
    greeted_ = true;
    auto ready = std::move(ready_);
    if (current_.ok) {
      ready(Status::ok());
    } else {
      close();
      ready(transientError("server refused the connection: -ERR " + current_.text));
    }
    return open_ ? Status::ok() : Status(StatusCode::Cancelled, "connection closed");
  }
  if (pending_.empty()) return internalError("POP3 reply with no request");
  Request r = std::move(pending_.front());
  pending_.pop_front();
  if (r.done) r.done(current_);
  return open_ ? Status::ok() : Status(StatusCode::Cancelled, "connection closed");
}

}  // namespace mailark::pop3
