#include "src/imap/response_parser.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "src/base/log.h"
#include "src/imap/tokenizer.h"

namespace mailark::imap {

bool Value::isAtom(std::string_view upper) const {
  if (type != Type::Atom || text.size() != upper.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != upper[i]) return false;
  }
  return true;
}

namespace {

// Upper-cases `word` into *upper when it is one of the five status words.
bool statusWord(std::string_view word, std::string* upper) {
  static constexpr std::string_view kWords[] = {"OK", "NO", "BAD", "BYE", "PREAUTH"};
  for (std::string_view w : kWords) {
    if (word.size() != w.size()) continue;
    bool same = true;
    for (size_t i = 0; i < w.size() && same; ++i) same = (word[i] & ~0x20) == w[i];
    if (same) {
      upper->assign(w);
      return true;
    }
  }
  return false;
}

// tag = 1*<ASTRING-CHAR except "+"> (RFC 3501 section 9).
bool isTag(std::string_view tag) {
  if (tag.empty()) return false;
  for (char c : tag) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (std::strchr("(){%*\"\\+", c) != nullptr) return false;
  }
  return true;
}

// Splits off the first space-separated word of `s` (leading spaces skipped).
std::string_view firstWord(std::string_view s, std::string_view* rest) {
  size_t start = 0;
  while (start < s.size() && s[start] == ' ') ++start;
  size_t end = s.find(' ', start);
  if (end == std::string_view::npos) end = s.size();
  *rest = s.substr(end);
  return s.substr(start, end - start);
}

}  // namespace

struct ResponseParser::State {
  enum class Phase { Line, Literal, Failed };

  ParserCallbacks* callbacks;
  Limits limits;
  Phase phase = Phase::Line;

  // Bytes of the current segment that arrived in earlier feed() calls; the
  // segment is tokenized once its LF arrives (isync socket_read_line).
  std::string partial;
  // Whether the current response's first segment has been seen.
  bool in_response = false;
  // Non-literal bytes of the current response in completed segments.
  size_t response_bytes = 0;
  Response response;
  ValueStack stack;

  // Literal in progress.
  uint64_t literal_size = 0;
  uint64_t literal_left = 0;
  LiteralSink* sink = nullptr;
  std::string literal_text;

  Status error;

  State(ParserCallbacks* cb, Limits l) : callbacks(cb), limits(l) {}

  // The only place the phase changes.
  void setPhase(Phase next) {
    if (log::enabled(log::Level::Debug)) {
      static constexpr const char* kNames[] = {"Line", "Literal", "Failed"};
      log::debug(std::string("imap parser: ") + kNames[static_cast<int>(phase)] + " -> " +
                 kNames[static_cast<int>(next)]);
    }
    phase = next;
  }

  Status fail(Status s) {
    error = std::move(s);
    setPhase(Phase::Failed);
    return error;
  }

  void resetResponse() {
    in_response = false;
    response_bytes = 0;
    response = Response();
    stack.reset();
  }

  Status onSegment(std::string_view segment);
  Status startResponse(std::string_view line, std::string_view* values_part, bool* complete);
  Status startLiteral(uint64_t size);
  Status finishLiteral();
  void emit();
  Status consumeLiteral(const char* p, size_t n, size_t* used);
};

Status ResponseParser::State::startResponse(std::string_view line, std::string_view* values_part,
                                            bool* complete) {
  *complete = false;
  if (line[0] == '+') {
    // "+ text", and the bare "+" that AOL and Yandex send.
    response.kind = Response::Kind::Continuation;
    splitRespText(line.substr(1), &response.code, &response.text);
    *complete = true;
    return Status::ok();
  }
  if (line[0] == '[') {
    // Exchange 2013 sends "[COPYUID 55 31 6]" with no "* OK" in front
    // (MailKit issue 115); read it as the untagged OK it stands for.
    response.kind = Response::Kind::Untagged;
    response.status = "OK";
    Value v;
    v.type = Value::Type::Atom;
    v.text = "OK";
    response.values.push_back(std::move(v));
    splitRespText(line, &response.code, &response.text);
    *complete = true;
    return Status::ok();
  }
  std::string_view rest;
  const std::string_view first = firstWord(line, &rest);
  if (first == "*") {
    response.kind = Response::Kind::Untagged;
  } else if (isTag(first)) {
    response.kind = Response::Kind::Tagged;
    response.tag.assign(first);
  } else {
    return transientError("server sent a non-IMAP line: " + quoteServerBytes(line));
  }
  std::string_view after_word;
  const std::string_view word = firstWord(rest, &after_word);
  if (statusWord(word, &response.status)) {
    Value v;
    v.type = Value::Type::Atom;
    v.text.assign(word);
    response.values.push_back(std::move(v));
    splitRespText(after_word, &response.code, &response.text);
    *complete = true;
    return Status::ok();
  }
  if (response.kind == Response::Kind::Tagged) {
    // A tagged response is always a status response; anything else is a
    // line such as Exchange's "Server Unavailable. 15".
    return transientError("server sent a non-IMAP line: " + quoteServerBytes(line));
  }
  *values_part = rest;
  return Status::ok();
}

void ResponseParser::State::emit() {
  if (response.status.empty()) response.values = stack.takeRoot();
  Response done = std::move(response);
  resetResponse();
  callbacks->onResponse(std::move(done));
}

Status ResponseParser::State::onSegment(std::string_view segment) {
  response_bytes += segment.size();
  segment.remove_suffix(1);  // LF
  // CRLF is the rule; a bare LF is tolerated.
  if (!segment.empty() && segment.back() == '\r') segment.remove_suffix(1);

  std::string_view values_part = segment;
  if (!in_response) {
    if (segment.empty()) {
      // Stray blank lines carry nothing; skip them.
      response_bytes = 0;
      return Status::ok();
    }
    bool complete = false;
    MAILARK_RETURN_IF_ERROR(startResponse(segment, &values_part, &complete));
    in_response = true;
    if (complete) {
      emit();
      return Status::ok();
    }
  }
  Result<SegmentEnd> end = tokenizeSegment(values_part, limits.max_depth, &stack);
  if (!end.isOk()) return end.status();
  if (end->literal) return startLiteral(end->literal_size);
  if (stack.depth() != 0) {
    // Gmail has been recorded sending " \r\n" between a literal and the
    // ')' that closes the FETCH list; a blank line there says nothing, so
    // the response goes on. Any other line ending inside a list is an error.
    if (values_part.find_first_not_of(' ') == std::string_view::npos) return Status::ok();
    return protocolError("server response ended inside an unclosed '(' list");
  }
  emit();
  return Status::ok();
}

Status ResponseParser::State::startLiteral(uint64_t size) {
  if (size > limits.max_literal) {
    return protocolError("server announced a " + std::to_string(size) +
                         "-byte literal, above the max_literal limit (" +
                         std::to_string(limits.max_literal) + ")");
  }
  LiteralContext context;
  context.size = size;
  const std::vector<Value>& top = stack.top();
  if (!top.empty() && top.back().type == Value::Type::Atom) {
    context.preceding_atom = top.back().text;
  }
  const std::vector<Value>& root = stack.root();
  if (response.kind == Response::Kind::Untagged && root.size() >= 2 &&
      root[0].type == Value::Type::Number && root[1].isAtom("FETCH")) {
    context.fetch_sequence = root[0].number;
    if (stack.depth() == 1) {  // directly in the FETCH item list
      for (size_t i = 0; i + 1 < top.size(); i += 2) {
        if (top[i].isAtom("UID") && top[i + 1].type == Value::Type::Number && top[i + 1].number <= UINT32_MAX)
          context.fetch_uid = static_cast<uint32_t>(top[i + 1].number);
      }
    }
  }
  sink = callbacks->onLiteralStart(context);
  if (sink == nullptr && size > limits.max_buffered_literal) {
    return protocolError("server sent a " + std::to_string(size) +
                         "-byte literal to buffer, above the max_buffered_literal limit (" +
                         std::to_string(limits.max_buffered_literal) + ")");
  }
  literal_size = size;
  literal_left = size;
  literal_text.clear();
  setPhase(Phase::Literal);
  if (size == 0) return finishLiteral();
  return Status::ok();
}

Status ResponseParser::State::finishLiteral() {
  Value v;
  if (sink != nullptr) {
    v.type = Value::Type::StreamedLiteral;
    v.literal_size = literal_size;
  } else {
    v.type = Value::Type::String;
    v.text = std::move(literal_text);
    literal_text = std::string();
  }
  sink = nullptr;
  stack.top().push_back(std::move(v));
  setPhase(Phase::Line);
  return Status::ok();
}

// The hot path for message bodies: hands the caller's bytes straight to the
// sink, or appends them to the buffer, with no per-byte work.
Status ResponseParser::State::consumeLiteral(const char* p, size_t n, size_t* used) {
  const size_t take = static_cast<size_t>(std::min<uint64_t>(literal_left, n));
  if (sink != nullptr) {
    MAILARK_RETURN_IF_ERROR(sink->write(std::span<const char>(p, take)));
  } else {
    literal_text.append(p, take);
  }
  literal_left -= take;
  *used = take;
  if (literal_left == 0) return finishLiteral();
  return Status::ok();
}

ResponseParser::ResponseParser(ParserCallbacks* callbacks, Limits limits)
    : state_(std::make_unique<State>(callbacks, limits)) {}

ResponseParser::~ResponseParser() = default;

bool ResponseParser::idle() const {
  return state_->phase == State::Phase::Line && !state_->in_response && state_->partial.empty();
}

uint64_t ResponseParser::literalBytesLeft() const {
  return state_->phase == State::Phase::Literal ? state_->literal_left : 0;
}

Status ResponseParser::feed(std::span<const char> bytes) {
  State& st = *state_;
  if (st.phase == State::Phase::Failed) return st.error;
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n > 0) {
    if (st.phase == State::Phase::Literal) {
      size_t used = 0;
      Status s = st.consumeLiteral(p, n, &used);
      if (!s.isOk()) return st.fail(std::move(s));
      p += used;
      n -= used;
      continue;
    }
    // Only bytes not seen before are searched for the LF.
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', n));
    const size_t take = lf != nullptr ? static_cast<size_t>(lf - p) + 1 : n;
    if (st.response_bytes + st.partial.size() + take > st.limits.max_line) {
      return st.fail(protocolError("server response longer than the max_line limit (" +
                                   std::to_string(st.limits.max_line) + " bytes)"));
    }
    if (lf == nullptr) {
      st.partial.append(p, take);
      break;
    }
    std::string_view segment;
    if (st.partial.empty()) {
      // Common case: the whole segment is in this chunk; parse it in place.
      segment = std::string_view(p, take);
    } else {
      st.partial.append(p, take);
      segment = st.partial;
    }
    p += take;
    n -= take;
    Status s = st.onSegment(segment);
    st.partial.clear();
    if (!s.isOk()) return st.fail(std::move(s));
  }
  return Status::ok();
}

}  // namespace mailark::imap
