// Incremental IMAP response parser (RFC 3501 / RFC 9051, client side).
//
// Bytes in, events out: feed() accepts any chunking (1 byte or 1 MB at a
// time) and resumes mid-token. No I/O, no libuv, no OpenSSL, so it can be
// fuzzed. Each complete response line (with its literals) becomes one
// Response delivered to ParserCallbacks::onResponse().
//
// Literals ({n} and literal8 ~{n}, also the LITERAL+ form {n+} if a server
// ever sends it) are either buffered into a String value, or -- when
// onLiteralStart() returns a sink -- streamed to the sink chunk by chunk as
// they arrive, never held whole. That is how message bodies go straight from
// the socket to the store.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailark/status.h"

namespace mailark::imap {

struct Value {
  enum class Type { Atom, Number, String, Nil, List, StreamedLiteral };
  Type type = Type::Atom;
  // Atom: raw text, e.g. "FETCH", "\\Seen", "BODY[]", "BODY[HEADER.FIELDS (A B)]"
  //   (a section's bracketed part, including nested parens, is one atom).
  // String: contents of a quoted string (escapes removed) or buffered literal.
  std::string text;
  uint64_t number = 0;        // Number (fits in 64 bits; bigger is a ProtocolError)
  std::vector<Value> list;    // List
  uint64_t literal_size = 0;  // StreamedLiteral: bytes that went to the sink

  bool isAtom(std::string_view upper) const;  // case-insensitive atom compare
};

struct Response {
  enum class Kind { Tagged, Untagged, Continuation };
  Kind kind = Kind::Untagged;
  std::string tag;  // Tagged only

  // Everything after the tag / "*" / "+", in order, as values. Examples:
  //   "* 5 FETCH (UID 9 ...)"  -> [Number 5, Atom FETCH, List(...)]
  //   "* LIST (\\HasNoChildren) \"/\" INBOX" -> [Atom LIST, List(...), String "/", Atom INBOX]
  // For status responses (OK, NO, BAD, BYE, PREAUTH first) values holds only
  // that atom; code and text hold the rest. Continuation: values empty.
  std::vector<Value> values;

  // Status responses: upper-cased "OK"/"NO"/"BAD"/"BYE"/"PREAUTH", else empty.
  std::string status;
  // Response code without brackets, e.g. "UIDVALIDITY 3857529045",
  // "CAPABILITY IMAP4rev1 ...", empty if none.
  std::string code;
  // Human-readable text after the code (also the text of a continuation).
  std::string text;
};

// Receives a streamed literal. A non-ok Status from write() aborts parsing
// with that Status (e.g. StorageFull).
class LiteralSink {
 public:
  virtual ~LiteralSink() = default;
  virtual Status write(std::span<const char> bytes) = 0;
};

struct LiteralContext {
  uint64_t size = 0;
  // The atom right before the literal, e.g. "BODY[]" or "BODY[]<0>"; empty
  // if the literal is not preceded by an atom in the same list.
  std::string_view preceding_atom;
  // For "* n FETCH" responses, n; else 0.
  uint64_t fetch_sequence = 0;
  // For a literal in a FETCH's item list: the UID sent before it in the same
  // list ("UID u ... BODY[] {n}"); else 0. Lets a client resume that message.
  uint32_t fetch_uid = 0;
};

// Called from inside ResponseParser::feed(). REQUIRES: a callback neither
// calls feed() again nor destroys the parser.
class ParserCallbacks {
 public:
  virtual ~ParserCallbacks() = default;
  // Called when a literal's size is known, before any of its bytes. Return
  // a sink to stream it (it must stay valid until onResponse() for this
  // response or until feed() fails), or nullptr to buffer it into a String
  // value (refused with ProtocolError above Limits::max_buffered_literal).
  virtual LiteralSink* onLiteralStart(const LiteralContext& context) = 0;
  virtual void onResponse(Response&& response) = 0;
};

struct Limits {
  size_t max_line = 1 << 20;                  // bytes of one response outside literals
  size_t max_depth = 64;                      // list nesting
  uint64_t max_literal = 1ull << 32;          // streamed literal size (4 GiB)
  size_t max_buffered_literal = 1 << 20;      // literal kept in memory
};

class ResponseParser {
 public:
  // `callbacks` must outlive the parser.
  ResponseParser(ParserCallbacks* callbacks, Limits limits = {});

  // Consumes all of `bytes`, calling back as responses complete. Tolerated
  // server quirks: repeated and trailing spaces, bare LF line ends, blank
  // lines between responses and after a literal inside a list, a bare "+",
  // and Exchange's "[CODE ...]" line without "* OK" (read as "* OK [CODE]").
  // Returns ProtocolError on malformed input or an exceeded limit (naming
  // which), Transient for a non-IMAP line such as "Server Unavailable. 15",
  // or the error a sink returned. After an error the parser is dead: every later
  // feed() returns the same error.
  Status feed(std::span<const char> bytes);

  // True when no response is partially parsed (between responses).
  bool idle() const;

  // Bytes of the literal being received that have not arrived yet; 0 when
  // no literal is in progress.
  uint64_t literalBytesLeft() const;

 private:
  // Implementation state is explicit so feed() can resume anywhere.
  struct State;
  // (Implementation detail; see response_parser.cc.)
 public:
  ~ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace mailark::imap
