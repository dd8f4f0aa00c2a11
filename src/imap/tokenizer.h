// Tokenizer for one complete IMAP line segment (the bytes between the start
// of a line or the end of a literal and the next CRLF).
//
// ResponseParser buffers until a segment is complete and then calls
// tokenizeSegment() exactly once per segment, so no byte is scanned twice
// and no token ever straddles two feed() calls. Open lists survive across
// segments in a ValueStack, because a literal can sit in the middle of a
// list ("(BODY[] {5}\r\nhello UID 7)").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mailark/status.h"
#include "src/imap/response_parser.h"

namespace mailark::imap {

// The lists of one response that are still open; level 0 is the response's
// top-level value sequence.
class ValueStack {
 public:
  ValueStack() { reset(); }

  void reset();
  size_t depth() const { return levels_.size() - 1; }
  std::vector<Value>& top() { return levels_.back(); }
  const std::vector<Value>& root() const { return levels_.front(); }
  void open() { levels_.emplace_back(); }
  // REQUIRES: depth() > 0
  void close();
  // REQUIRES: depth() == 0. Leaves the stack reset.
  std::vector<Value> takeRoot();

 private:
  std::vector<std::vector<Value>> levels_;
};

// How a segment ended.
struct SegmentEnd {
  // True when the segment ended with a literal announcement ({n}, {n+} or
  // ~{n}); the literal's bytes follow the CRLF.
  bool literal = false;
  uint64_t literal_size = 0;
};

// Appends the values in `segment` (no CR/LF) to `stack`. Tolerates repeated
// and trailing spaces. Returns ProtocolError for an unterminated quoted
// string, an unbalanced ')', a number above 2^64-1, a malformed literal
// announcement, or nesting deeper than `max_depth`.
Result<SegmentEnd> tokenizeSegment(std::string_view segment, size_t max_depth,
                                   ValueStack* stack);

// Splits resp-text ("[CODE args] human text") into the code without
// brackets and the text. A '[' without a matching ']' is treated as text.
void splitRespText(std::string_view resp_text, std::string* code, std::string* text);

// A short, printable rendering of server bytes for error messages: at most
// 120 bytes, non-printable bytes as \xNN.
std::string quoteServerBytes(std::string_view bytes);

}  // namespace mailark::imap
