// ReplyParser: incremental POP3 reply parser (RFC 1939, RFC 2449, RFC 5034).
//
// Bytes in, events out; no I/O. POP3 replies do not say whether they are
// single- or multi-line, so the caller tells the parser what each command
// it sent will be answered with, in order, via expect(). feed() accepts any
// split of the input (one byte or a megabyte) and produces the same events.
//
// Multi-line data is dot-unstuffed (a leading "." is removed from every line
// but the terminating "."). Shape::Lines hands each line to the callbacks
// without its CRLF and bounded by Limits::max_line; Shape::Body streams the
// bytes, CRLFs included, straight into a BodySink without buffering lines,
// so a message never has to fit in memory. The CRLF before the terminating
// "." belongs to the last line: a message that lacked a final CRLF on the
// server comes out with one (POP3 cannot express its absence).
//
// Errors (ProtocolError): a status line that is not "+OK", "-ERR" or (for
// Shape::Sasl) "+"; a line longer than max_line; a body over max_body;
// bytes that arrive while no reply is expected. After an error the parser
// is dead: every later feed() returns the same error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>

#include "mailark/status.h"

namespace mailark::pop3 {

enum class Shape {
  Single,  // one status line (USER, QUIT, STAT, UIDL n, ...)
  Lines,   // +OK then data lines up to "." (CAPA, UIDL, LIST); -ERR is one line
  Body,    // like Lines, but the data is a message streamed to a sink (RETR)
  Sasl,    // AUTH: any number of "+ <challenge>" lines, then +OK or -ERR
};

enum class Indicator { Ok, Err, Continuation };

struct Limits {
  size_t max_line = 8192;             // status and data lines (RFC 2449: 512 for status)
  uint64_t max_body = 1ull << 32;     // bytes of one streamed message (4 GiB)
};

// Receives the unstuffed bytes of a Shape::Body reply. A non-ok Status
// stops the parser with that Status.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual Status write(std::span<const char> bytes) = 0;
};

class ReplyCallbacks {
 public:
  virtual ~ReplyCallbacks() = default;
  // The status line: its indicator and the text after it (no CRLF, no
  // separating space). A Continuation is followed by another status line of
  // the same reply.
  virtual Status onStatus(Indicator indicator, std::string_view text) = 0;
  // One data line of a Shape::Lines reply, unstuffed, without CRLF. Valid
  // only during the call.
  virtual Status onLine(std::string_view line) = 0;
  // The reply is complete (after -ERR, +OK of a Single/Sasl reply, or the
  // terminating "."). The callback may expect() further replies.
  virtual Status onEnd() = 0;
};

class ReplyParser {
 public:
  // `callbacks` must outlive the parser.
  explicit ReplyParser(ReplyCallbacks* callbacks, Limits limits = {});

  // Queues the shape of the next reply. `sink` (Shape::Body only) must stay
  // valid until that reply's onEnd() or until the parser is destroyed.
  void expect(Shape shape, BodySink* sink = nullptr);

  // Parses `bytes`; returns the first error (from the input or a callback).
  Status feed(std::span<const char> bytes);

  // True when no reply is partly parsed and none is expected.
  bool idle() const { return expected_.empty() && state_ == State::StatusLine && line_.empty(); }
  // True while a multi-line reply has started but not ended.
  bool inMultiLine() const { return state_ == State::DataLine || state_ == State::BodyLineStart ||
                                    state_ == State::BodyMid || state_ == State::BodyDot ||
                                    state_ == State::BodyDotCr; }

 private:
  enum class State { StatusLine, DataLine, BodyLineStart, BodyMid, BodyDot, BodyDotCr, Dead };
  struct Expected {
    Shape shape;
    BodySink* sink;
  };

  // Each consumes from bytes[pos]; they advance *pos.
  Status statusByte(std::span<const char> bytes, size_t* pos);
  Status dataByte(std::span<const char> bytes, size_t* pos);
  Status bodyBytes(std::span<const char> bytes, size_t* pos);
  // Appends up to and including the next LF to line_; true when complete.
  Result<bool> takeLine(std::span<const char> bytes, size_t* pos);
  Status handleStatusLine();
  Status endReply();
  Status emitBody(std::span<const char> bytes);
  Status die(Status status);

  ReplyCallbacks* callbacks_;
  Limits limits_;
  std::deque<Expected> expected_;
  State state_ = State::StatusLine;
  std::string line_;         // the status or data line being assembled
  uint64_t body_bytes_ = 0;  // of the current Body reply
  Status dead_;
};

}  // namespace mailark::pop3
