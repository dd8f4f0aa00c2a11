#include "src/imap/imap_connection.h"

#include <algorithm>
#include <cctype>

#include "src/base/log.h"

namespace mailark::imap {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string describe(const Response& r) {
  std::string s = r.status;
  if (!r.code.empty()) s += " [" + r.code + "]";
  if (!r.text.empty()) s += " " + r.text;
  return s;
}

}  // namespace

ImapConnection::ImapConnection(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls,
                               ImapConnectionCallbacks* callbacks, Limits limits)
    : callbacks_(callbacks), connection_(loop, std::move(tls), this), parser_(this, limits) {}

ImapConnection::~ImapConnection() { close(); }

void ImapConnection::open(const std::string& host, uint16_t port, uint64_t idle_timeout_ms,
                          std::function<void(const Status&)> ready) {
  host_ = host;
  ready_ = std::move(ready);
  open_ = true;
  connection_.connect(host, port, idle_timeout_ms);
}

void ImapConnection::close() {
  open_ = false;
  connection_.close();
}

bool ImapConnection::hasCapability(std::string_view upper_name) const {
  return capabilities_.find(upper_name) != capabilities_.end();
}

void ImapConnection::noteCapabilities(std::string_view list) {
  capabilities_.clear();
  size_t pos = 0;
  while (pos < list.size()) {
    size_t end = list.find(' ', pos);
    if (end == std::string_view::npos) end = list.size();
    if (end > pos) capabilities_.insert(upper(list.substr(pos, end - pos)));
    pos = end + 1;
  }
}

void ImapConnection::send(Command command, Done done, ContinuationReply on_continuation) {
  if (!open_) return;
  Pending p;
  p.tag = std::to_string(next_tag_++);
  p.tag.insert(p.tag.begin(), 'A');
  log::debug(host_ + " C: " + p.tag + " " + command.log_text);
  std::string first = p.tag + " " + command.segments.front();
  p.command = std::move(command);
  p.done = std::move(done);
  p.on_continuation = std::move(on_continuation);
  pending_.push_back(std::move(p));
  connection_.write(first);
}

void ImapConnection::onConnected() {}

Status ImapConnection::onData(std::span<const char> bytes) {
  if (!open_) return Status(StatusCode::Cancelled, "connection closed");
  Status s = parser_.feed(bytes);
  if (open_) connection_.expectPlaintext(parser_.literalBytesLeft());
  return s;
}

void ImapConnection::lose(const Status& reason) {
  if (!open_) return;
  close();
  if (!greeted_) {
    auto ready = std::move(ready_);
    if (ready) ready(reason);
    return;
  }
  callbacks_->onConnectionLost(reason);
}

void ImapConnection::onClosed(const Status& reason) {
  if (!bye_text_.empty() && reason.code() == StatusCode::Transient) {
    return lose(transientError("server closed the connection: * BYE " + bye_text_));
  }
  lose(reason);
}

LiteralSink* ImapConnection::onLiteralStart(const LiteralContext& context) {
  if (!open_) return nullptr;
  return callbacks_->onLiteralStart(context);
}

void ImapConnection::handleContinuation(const Response& response) {
  if (pending_.empty()) {
    return lose(protocolError("server sent a continuation request with no command waiting"));
  }
  // The oldest command still sending is the one the server is waiting on.
  for (Pending& p : pending_) {
    if (p.next_segment < p.command.segments.size()) {
      connection_.write(p.command.segments[p.next_segment++]);
      return;
    }
  }
  Pending& p = pending_.back();
  if (p.on_continuation) {
    connection_.write(p.on_continuation(response.text) + "\r\n");
    return;
  }
  lose(protocolError("server sent an unexpected continuation request: " + response.text));
}

void ImapConnection::onResponse(Response&& response) {
  // A callback may have closed us while the rest of a read is still parsed.
  if (!open_) return;
  if (!response.code.empty() && upper(response.code.substr(0, 11)) == "CAPABILITY ") {
    noteCapabilities(std::string_view(response.code).substr(11));
  }
  switch (response.kind) {
    case Response::Kind::Continuation:
      return handleContinuation(response);
    case Response::Kind::Tagged: {
      if (pending_.empty() || pending_.front().tag != response.tag) {
        return lose(protocolError("server answered unknown tag " + response.tag));
      }
      Pending p = std::move(pending_.front());
      pending_.pop_front();
      log::debug(host_ + " S: " + response.tag + " " + describe(response));
      p.done(response);
      return;
    }
    case Response::Kind::Untagged:
      break;
  }
  if (!greeted_) {
    greeted_ = true;
    if (response.status == "OK" || response.status == "PREAUTH") {
      auto ready = std::move(ready_);
      ready(Status::ok());
      return;
    }
    std::string why = response.status == "BYE" ? "server refused the connection: " + describe(response)
                                               : "unexpected greeting: " + describe(response);
    close();
    auto ready = std::move(ready_);
    ready(transientError(why));
    return;
  }
  if (response.status == "BYE") {
    bye_text_ = response.code.empty() ? response.text : "[" + response.code + "] " + response.text;
    return;
  }
  if (!response.values.empty() && response.values[0].isAtom("CAPABILITY")) {
    std::string list;
    for (size_t i = 1; i < response.values.size(); ++i) {
      if (!list.empty()) list += ' ';
      list += response.values[i].text;
    }
    noteCapabilities(list);
    return;
  }
  callbacks_->onUntagged(response);
}

}  // namespace mailark::imap
