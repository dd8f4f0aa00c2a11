#include "src/imap/tokenizer.h"

#include <cstring>
#include <utility>

namespace mailark::imap {

void ValueStack::reset() {
  levels_.clear();
  levels_.emplace_back();
}

void ValueStack::close() {
  Value list;
  list.type = Value::Type::List;
  list.list = std::move(levels_.back());
  levels_.pop_back();
  levels_.back().push_back(std::move(list));
}

std::vector<Value> ValueStack::takeRoot() {
  std::vector<Value> root = std::move(levels_.front());
  reset();
  return root;
}

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Appends decimal digits to *out; false on overflow past 2^64-1.
bool accumulateDigit(uint64_t* out, char c) {
  const uint64_t d = static_cast<uint64_t>(c - '0');
  if (*out > (UINT64_MAX - d) / 10) return false;
  *out = *out * 10 + d;
  return true;
}

// Index of the ']' matching the '[' at `open`, or npos; used once per
// status line, where a code such as "PERMANENTFLAGS (OIB-Seen-[Gmail]/All)"
// may nest brackets.
size_t matchingBracket(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '[') {
      ++depth;
    } else if (s[i] == ']') {
      if (--depth == 0) return i;
    }
  }
  return std::string_view::npos;
}

// Scans an atom starting at `i`. A '[' with a later ']' swallows the whole
// bracketed part, so "BODY[HEADER.FIELDS (A B)]<0>" is one atom; an
// unmatched '[' is an ordinary atom character (Gmail's "OIB-Seen-[Gmail]/All"
// parses either way). *no_close_from remembers where the segment has no
// ']' left, so a line full of '[' costs one pass, not one per bracket.
size_t scanAtom(std::string_view s, size_t i, size_t* no_close_from) {
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '(' || c == ')') break;
    if (c == '[' && i < *no_close_from) {
      const size_t close = s.find(']', i + 1);
      if (close != std::string_view::npos) {
        i = close + 1;
        continue;
      }
      *no_close_from = i;
    }
    ++i;
  }
  return i;
}

// Reads the quoted string whose opening '"' is at *i; leaves *i after the
// closing quote. Only \" and \\ are escapes in IMAP; a backslash before any
// other byte is kept as is, because some servers send such names unescaped.
Status readQuoted(std::string_view s, size_t* i, std::string* out) {
  size_t j = *i + 1;
  size_t run = j;
  while (j < s.size()) {
    const char c = s[j];
    if (c == '"') {
      out->append(s.data() + run, j - run);
      *i = j + 1;
      return Status::ok();
    }
    if (c == '\\' && j + 1 < s.size() && (s[j + 1] == '"' || s[j + 1] == '\\')) {
      out->append(s.data() + run, j - run);
      out->push_back(s[j + 1]);
      j += 2;
      run = j;
      continue;
    }
    ++j;
  }
  return protocolError("unterminated quoted string in server response");
}

// Parses "{n}", "{n+}" or "~{n}" starting at `i`, which must end the segment.
Result<uint64_t> readLiteralAnnouncement(std::string_view s, size_t i) {
  if (s[i] == '~') ++i;
  ++i;  // '{'
  uint64_t size = 0;
  size_t digits = 0;
  while (i < s.size() && isDigit(s[i])) {
    if (!accumulateDigit(&size, s[i])) {
      return protocolError("literal size in server response exceeds 2^64-1");
    }
    ++i;
    ++digits;
  }
  if (i < s.size() && s[i] == '+') ++i;
  if (digits == 0 || i >= s.size() || s[i] != '}' || i + 1 != s.size()) {
    return protocolError("malformed literal announcement in server response: " +
                         quoteServerBytes(s));
  }
  return size;
}

}  // namespace

Result<SegmentEnd> tokenizeSegment(std::string_view s, size_t max_depth, ValueStack* stack) {
  size_t i = 0;
  const size_t n = s.size();
  size_t no_close_from = std::string_view::npos;
  while (i < n) {
    const char c = s[i];
    if (c == ' ') {
      ++i;
      continue;
    }
    if (c == '(') {
      if (stack->depth() >= max_depth) {
        return protocolError("server response nests lists deeper than the max_depth limit (" +
                             std::to_string(max_depth) + ")");
      }
      stack->open();
      ++i;
      continue;
    }
    if (c == ')') {
      if (stack->depth() == 0) {
        return protocolError("unbalanced ')' in server response: " + quoteServerBytes(s));
      }
      stack->close();
      ++i;
      continue;
    }
    if (c == '"') {
      Value v;
      v.type = Value::Type::String;
      MAILARK_RETURN_IF_ERROR(readQuoted(s, &i, &v.text));
      stack->top().push_back(std::move(v));
      continue;
    }
    if (c == '{' || (c == '~' && i + 1 < n && s[i + 1] == '{')) {
      Result<uint64_t> size = readLiteralAnnouncement(s, i);
      if (!size.isOk()) return size.status();
      SegmentEnd end;
      end.literal = true;
      end.literal_size = *size;
      return end;
    }
    const size_t start = i;
    i = scanAtom(s, i, &no_close_from);
    const std::string_view token = s.substr(start, i - start);
    Value v;
    bool all_digits = true;
    for (char d : token) {
      if (!isDigit(d)) {
        all_digits = false;
        break;
      }
    }
    if (all_digits) {
      v.type = Value::Type::Number;
      for (char d : token) {
        if (!accumulateDigit(&v.number, d)) {
          return protocolError("number in server response exceeds 2^64-1: " +
                               quoteServerBytes(token));
        }
      }
    } else if (token.size() == 3 && (token[0] | 0x20) == 'n' && (token[1] | 0x20) == 'i' &&
               (token[2] | 0x20) == 'l') {
      v.type = Value::Type::Nil;
    } else {
      v.type = Value::Type::Atom;
      v.text.assign(token);
    }
    stack->top().push_back(std::move(v));
  }
  return SegmentEnd{};
}

void splitRespText(std::string_view s, std::string* code, std::string* text) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (!s.empty() && s.front() == '[') {
    const size_t close = matchingBracket(s, 0);
    if (close != std::string_view::npos) {
      code->assign(s.substr(1, close - 1));
      s.remove_prefix(close + 1);
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    }
  }
  // Outlook pads some lines with a trailing space; it carries no meaning.
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  text->assign(s);
}

std::string quoteServerBytes(std::string_view bytes) {
  constexpr size_t kMax = 120;
  std::string out = "'";
  for (size_t i = 0; i < bytes.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  out += "'";
  if (bytes.size() > kMax) out += "...";
  return out;
}

}  // namespace mailark::imap
