#include "src/pop3/reply_data.h"

#include <cctype>
#include <set>

namespace mailark::pop3 {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t start = line.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    out.push_back(line.substr(start, end - start));
    pos = end;
  }
  return out;
}

}  // namespace

Result<UidlEntry> parseUidlLine(std::string_view line) {
  std::vector<std::string_view> w = words(line);
  if (w.size() != 2) return protocolError("malformed UIDL line \"" + printable(line) + "\" (expected: number uidl)");
  UidlEntry e;
  uint64_t n = 0;
  for (char c : w[0]) {
    if (c < '0' || c > '9' || n > 0xffffffffull / 10) return protocolError("bad message number in UIDL line \"" + printable(line) + "\"");
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0 || n > 0xffffffffull) return protocolError("bad message number in UIDL line \"" + printable(line) + "\"");
  e.number = static_cast<uint32_t>(n);
  if (w[1].size() > 70) return protocolError("UIDL longer than 70 characters in \"" + printable(line) + "\"");
  for (char c : w[1]) {
    if (c < 0x21 || c > 0x7e) return protocolError("UIDL with a byte outside 0x21..0x7E in \"" + printable(line) + "\"");
  }
  e.uidl = std::string(w[1]);
  return e;
}

Status checkUidlListing(const std::vector<UidlEntry>& entries) {
  std::set<uint32_t> numbers;
  std::set<std::string_view> uidls;
  for (const UidlEntry& e : entries) {
    if (!numbers.insert(e.number).second)
      return protocolError("UIDL listing names message " + std::to_string(e.number) + " twice");
    if (!uidls.insert(e.uidl).second)
      return protocolError("UIDL listing gives two messages the same UIDL \"" + e.uidl +
                           "\"; UIDLs must be unique, so neither can be archived by UIDL");
  }
  return Status::ok();
}

Capability parseCapaLine(std::string_view line) {
  Capability c;
  std::vector<std::string_view> w = words(line);
  if (w.empty()) return c;
  c.name = upper(w[0]);
  for (size_t i = 1; i < w.size(); ++i) c.args.emplace_back(w[i]);
  return c;
}

const Capability* findCapability(const std::vector<Capability>& capas, std::string_view name) {
  for (const Capability& c : capas)
    if (c.name == name) return &c;
  return nullptr;
}

bool hasSaslMechanism(const std::vector<Capability>& capas, std::string_view mechanism) {
  const Capability* sasl = findCapability(capas, "SASL");
  if (sasl == nullptr) return false;
  for (const std::string& m : sasl->args)
    if (upper(m) == mechanism) return true;
  return false;
}

}  // namespace mailark::pop3
