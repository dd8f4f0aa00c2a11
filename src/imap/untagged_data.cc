#include "src/imap/untagged_data.h"

#include <charconv>
#include <strings.h>

namespace mailark::imap {

namespace {

std::string valueText(const Value& v) {
  return v.type == Value::Type::Number ? std::to_string(v.number) : v.text;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::optional<uint64_t> partialOrigin(std::string_view name) {
  constexpr std::string_view kPrefix = "BODY[]<";
  if (name.size() < kPrefix.size() + 2 || name.back() != '>' || !equalsNoCase(name.substr(0, kPrefix.size()), kPrefix))
    return std::nullopt;
  std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - 1);
  uint64_t origin = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), origin);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return origin;
}

std::optional<FetchData> parseFetch(const Response& r) {
  if (r.kind != Response::Kind::Untagged || r.values.size() < 3) return std::nullopt;
  if (r.values[0].type != Value::Type::Number || !r.values[1].isAtom("FETCH") ||
      r.values[2].type != Value::Type::List)
    return std::nullopt;
  FetchData d;
  d.sequence = r.values[0].number;
  const std::vector<Value>& items = r.values[2].list;
  for (size_t i = 0; i + 1 < items.size(); i += 2) {
    const Value& name = items[i];
    const Value& value = items[i + 1];
    if (name.type != Value::Type::Atom) return std::nullopt;
    if (name.isAtom("UID")) {
      if (value.type != Value::Type::Number || value.number == 0 || value.number > UINT32_MAX) return std::nullopt;
      d.uid = static_cast<uint32_t>(value.number);
    } else if (name.isAtom("RFC822.SIZE")) {
      if (value.type == Value::Type::Number) d.rfc822_size = value.number;
    } else if (name.isAtom("INTERNALDATE")) {
      if (value.type == Value::Type::String) d.internaldate = value.text;
    } else if (name.isAtom("FLAGS")) {
      if (value.type != Value::Type::List) return std::nullopt;
      std::string flags;
      for (const Value& f : value.list) {
        // \Recent belongs to one session (and is gone in IMAP4rev2), not to the message.
        if (f.isAtom("\\RECENT")) continue;
        if (!flags.empty()) flags += ' ';
        flags += valueText(f);
      }
      d.flags = std::move(flags);
    } else if (std::optional<uint64_t> origin = partialOrigin(name.text); name.isAtom("BODY[]") || origin) {
      d.body_origin = origin;
      if (value.type == Value::Type::StreamedLiteral) d.body_streamed = true;
      else if (value.type == Value::Type::String) d.body = value.text;
      else if (value.type == Value::Type::Nil) d.body_nil = true;
    }
  }
  return d;
}

bool ListEntry::selectable() const {
  for (const std::string& a : attributes)
    if (equalsNoCase(a, "\\Noselect") || equalsNoCase(a, "\\NonExistent")) return false;
  return true;
}

std::optional<ListEntry> parseList(const Response& r) {
  if (r.kind != Response::Kind::Untagged || r.values.size() != 4 || !r.values[0].isAtom("LIST") ||
      r.values[1].type != Value::Type::List)
    return std::nullopt;
  ListEntry e;
  for (const Value& a : r.values[1].list) e.attributes.push_back(valueText(a));
  if (r.values[2].type == Value::Type::String) e.delimiter = r.values[2].text;
  else if (r.values[2].type != Value::Type::Nil) return std::nullopt;
  const Value& name = r.values[3];
  if (name.type != Value::Type::String && name.type != Value::Type::Atom && name.type != Value::Type::Number)
    return std::nullopt;
  e.name = valueText(name);
  return e;
}

std::optional<StatusData> parseStatus(const Response& r) {
  if (r.kind != Response::Kind::Untagged || r.values.size() != 3 || !r.values[0].isAtom("STATUS") ||
      r.values[2].type != Value::Type::List)
    return std::nullopt;
  const Value& name = r.values[1];
  if (name.type != Value::Type::String && name.type != Value::Type::Atom && name.type != Value::Type::Number)
    return std::nullopt;
  StatusData d;
  d.name = valueText(name);
  const std::vector<Value>& items = r.values[2].list;
  if (items.size() % 2 != 0) return std::nullopt;
  for (size_t i = 0; i < items.size(); i += 2) {
    if (items[i + 1].type != Value::Type::Number) return std::nullopt;
    uint64_t n = items[i + 1].number;
    bool fits = n <= UINT32_MAX;
    if (items[i].isAtom("MESSAGES")) d.messages = n;
    else if (items[i].isAtom("UIDNEXT") && fits) d.uidnext = static_cast<uint32_t>(n);
    else if (items[i].isAtom("UIDVALIDITY") && fits) d.uidvalidity = static_cast<uint32_t>(n);
    else if (items[i].isAtom("SIZE")) d.size = n;
    else if (items[i].isAtom("HIGHESTMODSEQ")) d.highest_modseq = n;
  }
  return d;
}

bool sameMailboxName(std::string_view a, std::string_view b) {
  auto isInbox = [](std::string_view n) { return n.size() == 5 && strncasecmp(n.data(), "INBOX", 5) == 0; };
  return a == b || (isInbox(a) && isInbox(b));
}

std::optional<uint64_t> parseExists(const Response& r) {
  if (r.kind != Response::Kind::Untagged || r.values.size() != 2 || r.values[0].type != Value::Type::Number ||
      !r.values[1].isAtom("EXISTS"))
    return std::nullopt;
  return r.values[0].number;
}

std::optional<uint64_t> codeNumber64(const std::string& code, std::string_view name) {
  if (code.size() <= name.size() + 1 || !equalsNoCase(std::string_view(code).substr(0, name.size()), name) ||
      code[name.size()] != ' ')
    return std::nullopt;
  uint64_t n = 0;
  const char* begin = code.data() + name.size() + 1;
  const char* end = code.data() + code.size();
  auto [ptr, ec] = std::from_chars(begin, end, n);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return n;
}

std::optional<uint32_t> codeNumber(const std::string& code, std::string_view name) {
  std::optional<uint64_t> n = codeNumber64(code, name);
  if (!n || *n > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(*n);
}

}  // namespace mailark::imap
