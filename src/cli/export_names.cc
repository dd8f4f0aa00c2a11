#include "src/cli/export_names.h"

#include <cstdio>
#include <cstring>
#include <set>

namespace mailark::cli {

std::string safeFolderFileName(std::string_view folder) {
  std::string out;
  for (size_t i = 0; i < folder.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(folder[i]);
    bool escape = c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '%' || (i == 0 && c == '.');
    if (escape) {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.empty()) out = "%";  // cannot come from a non-empty name: '%' alone is always escaped
  return out;
}

std::optional<std::time_t> parseInternalDate(std::string_view text) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::string s(text);
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0, zone = 0;
  char month[4] = {0};
  char sign = '+';
  if (std::sscanf(s.c_str(), "%d-%3s-%d %d:%d:%d %c%4d", &day, month, &year, &hh, &mm, &ss, &sign, &zone) != 8)
    return std::nullopt;
  int mon = -1;
  for (int i = 0; i < 12; ++i)
    if (std::strcmp(month, kMonths[i]) == 0) mon = i;
  if (mon < 0 || (sign != '+' && sign != '-')) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  std::time_t t = timegm(&tm);
  int offset = (zone / 100) * 3600 + (zone % 100) * 60;
  return sign == '+' ? t - offset : t + offset;
}

std::string asctimeUtc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a %b %e %H:%M:%S %Y", &tm);
  return text;
}

std::string maildirFlags(std::string_view imap_flags) {
  std::set<char> letters;
  size_t pos = 0;
  while (pos < imap_flags.size()) {
    size_t end = imap_flags.find(' ', pos);
    if (end == std::string_view::npos) end = imap_flags.size();
    std::string_view f = imap_flags.substr(pos, end - pos);
    if (f == "\\Draft") letters.insert('D');
    if (f == "\\Flagged") letters.insert('F');
    if (f == "$Forwarded") letters.insert('P');
    if (f == "\\Answered") letters.insert('R');
    if (f == "\\Seen") letters.insert('S');
    if (f == "\\Deleted") letters.insert('T');
    pos = end + 1;
  }
  return std::string(letters.begin(), letters.end());
}

void MboxrdQuoter::feed(std::string_view chunk, std::string* out) {
  for (char c : chunk) {
    if (!at_line_start_) {
      out->push_back(c);
      if (c == '\n') at_line_start_ = true;
      continue;
    }
    held_.push_back(c);
    // Still a possible ">*From " prefix?
    size_t gt = held_.find_first_not_of('>');
    std::string_view rest = gt == std::string::npos ? std::string_view() : std::string_view(held_).substr(gt);
    bool could_be = std::string_view("From ").substr(0, rest.size()) == rest;
    if (could_be && rest.size() == 5) {  // it is one: quote it
      out->push_back('>');
      out->append(held_);
      held_.clear();
      at_line_start_ = false;
    } else if (!could_be) {
      out->append(held_);
      at_line_start_ = held_.back() == '\n';
      held_.clear();
    }
  }
}

void MboxrdQuoter::finish(std::string* out) {
  out->append(held_);
  held_.clear();
  at_line_start_ = true;
}

}  // namespace mailark::cli
