#include "src/imap/command_builder.h"

namespace mailark::imap {

bool quotable(std::string_view value) {
  for (unsigned char c : value)
    if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80) return false;
  return true;
}

void CommandBuilder::separate() {
  std::string& last = segments_.back();
  if (!last.empty() && last.back() != '\n') last += ' ';
}

CommandBuilder& CommandBuilder::raw(std::string_view text) {
  separate();
  segments_.back() += text;
  return *this;
}

CommandBuilder& CommandBuilder::string(std::string_view value) {
  separate();
  std::string& cur = segments_.back();
  if (quotable(value)) {
    cur += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') cur += '\\';
      cur += c;
    }
    cur += '"';
    return *this;
  }
  cur += '{';
  cur += std::to_string(value.size());
  if (literal_plus_) {
    cur += "+}\r\n";
    cur += value;
    return *this;
  }
  cur += "}\r\n";
  segments_.emplace_back(value);
  return *this;
}

CommandBuilder& CommandBuilder::logAs(std::string_view text) {
  log_text_ = text;
  return *this;
}

Command CommandBuilder::build() {
  segments_.back() += "\r\n";
  Command c{std::move(segments_), std::move(log_text_)};
  if (c.log_text.empty()) {
    c.log_text = c.segments.front();
    while (!c.log_text.empty() && (c.log_text.back() == '\n' || c.log_text.back() == '\r')) c.log_text.pop_back();
  }
  return c;
}

std::string uidSet(const std::vector<uint32_t>& uids) {
  std::string out;
  size_t i = 0;
  while (i < uids.size()) {
    size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(uids[i]);
    if (j > i) {
      out += ':';
      out += std::to_string(uids[j]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace mailark::imap
