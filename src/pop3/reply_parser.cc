#include "src/pop3/reply_parser.h"

#include <cstring>

namespace mailark::pop3 {

namespace {

// A short, printable excerpt of hostile bytes for an error message.
std::string excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 60)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 60) out += "...";
  return out;
}

std::string_view afterIndicator(std::string_view line, size_t len) {
  return line.size() > len ? line.substr(len + 1) : std::string_view();
}

}  // namespace

ReplyParser::ReplyParser(ReplyCallbacks* callbacks, Limits limits) : callbacks_(callbacks), limits_(limits) {}

void ReplyParser::expect(Shape shape, BodySink* sink) { expected_.push_back({shape, sink}); }

Status ReplyParser::die(Status status) {
  state_ = State::Dead;
  dead_ = status;
  return status;
}

Status ReplyParser::feed(std::span<const char> bytes) {
  if (state_ == State::Dead) return dead_;
  size_t pos = 0;
  while (pos < bytes.size()) {
    Status s;
    switch (state_) {
      case State::StatusLine:
        s = statusByte(bytes, &pos);
        break;
      case State::DataLine:
        s = dataByte(bytes, &pos);
        break;
      case State::Dead:
        return dead_;
      default:
        s = bodyBytes(bytes, &pos);
        break;
    }
    if (!s.isOk()) return die(s);
  }
  return Status::ok();
}

Result<bool> ReplyParser::takeLine(std::span<const char> bytes, size_t* pos) {
  const char* start = bytes.data() + *pos;
  size_t avail = bytes.size() - *pos;
  const void* nl = std::memchr(start, '\n', avail);
  size_t take = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) + 1 : avail;
  // +2 leaves room for the CRLF, which is not part of the limit.
  if (line_.size() + take > limits_.max_line + 2) {
    return protocolError("server sent a line longer than " + std::to_string(limits_.max_line) + " bytes");
  }
  line_.append(start, take);
  *pos += take;
  if (!nl) return false;
  line_.pop_back();
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_.size() > limits_.max_line) {
    return protocolError("server sent a line longer than " + std::to_string(limits_.max_line) + " bytes");
  }
  return true;
}

Status ReplyParser::statusByte(std::span<const char> bytes, size_t* pos) {
  if (expected_.empty()) {
    return protocolError("server sent data while no reply was expected");
  }
  Result<bool> done = takeLine(bytes, pos);
  if (!done) return done.status();
  if (!*done) return Status::ok();
  Status s = handleStatusLine();
  line_.clear();
  return s;
}

Status ReplyParser::handleStatusLine() {
  std::string_view line = line_;
  const Expected current = expected_.front();
  Indicator indicator;
  std::string_view text;
  if (line.starts_with("+OK") && (line.size() == 3 || line[3] == ' ')) {
    indicator = Indicator::Ok;
    text = afterIndicator(line, 3);
  } else if (line.starts_with("-ERR") && (line.size() == 4 || line[4] == ' ')) {
    indicator = Indicator::Err;
    text = afterIndicator(line, 4);
  } else if (current.shape == Shape::Sasl && line.starts_with("+") && (line.size() == 1 || line[1] == ' ')) {
    indicator = Indicator::Continuation;
    text = afterIndicator(line, 1);
  } else {
    return protocolError("server sent a malformed status line (expected +OK or -ERR): \"" + excerpt(line) + "\"");
  }
  MAILARK_RETURN_IF_ERROR(callbacks_->onStatus(indicator, text));
  if (indicator == Indicator::Continuation) return Status::ok();
  if (indicator == Indicator::Err || current.shape == Shape::Single || current.shape == Shape::Sasl) {
    return endReply();
  }
  body_bytes_ = 0;
  state_ = current.shape == Shape::Lines ? State::DataLine : State::BodyLineStart;
  return Status::ok();
}

Status ReplyParser::endReply() {
  expected_.pop_front();
  state_ = State::StatusLine;
  line_.clear();
  return callbacks_->onEnd();
}

Status ReplyParser::dataByte(std::span<const char> bytes, size_t* pos) {
  Result<bool> done = takeLine(bytes, pos);
  if (!done) return done.status();
  if (!*done) return Status::ok();
  if (line_ == ".") return endReply();
  std::string_view line = line_;
  if (line.starts_with('.')) line.remove_prefix(1);
  Status s = callbacks_->onLine(line);
  line_.clear();
  return s;
}

Status ReplyParser::emitBody(std::span<const char> bytes) {
  body_bytes_ += bytes.size();
  if (body_bytes_ > limits_.max_body) {
    return protocolError("message larger than the limit of " + std::to_string(limits_.max_body) + " bytes");
  }
  BodySink* sink = expected_.front().sink;
  return sink ? sink->write(bytes) : Status::ok();
}

Status ReplyParser::bodyBytes(std::span<const char> bytes, size_t* pos) {
  char c = bytes[*pos];
  switch (state_) {
    case State::BodyLineStart:
      if (c == '.') {
        ++*pos;
        state_ = State::BodyDot;
      } else {
        state_ = State::BodyMid;
      }
      return Status::ok();
    case State::BodyMid: {
      const char* start = bytes.data() + *pos;
      size_t avail = bytes.size() - *pos;
      const void* nl = std::memchr(start, '\n', avail);
      size_t take = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) + 1 : avail;
      *pos += take;
      if (nl) state_ = State::BodyLineStart;
      return emitBody(std::span<const char>(start, take));
    }
    case State::BodyDot:
      // ".\r\n" ends the reply; any other dot-led line loses its first dot.
      if (c == '\r') {
        ++*pos;
        state_ = State::BodyDotCr;
        return Status::ok();
      }
      if (c == '\n') {  // ".\n" from a server that sends bare LF
        ++*pos;
        return endReply();
      }
      state_ = State::BodyMid;
      return Status::ok();
    case State::BodyDotCr:
      if (c == '\n') {
        ++*pos;
        return endReply();
      }
      state_ = State::BodyMid;
      return emitBody(std::span<const char>("\r", 1));
    default:
      return internalError("pop3 body parser in a non-body state");
  }
}

}  // namespace mailark::pop3
