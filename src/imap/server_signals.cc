#include "src/imap/server_signals.h"

#include <algorithm>
#include <cctype>

namespace mailark::imap {

namespace {

bool containsNoCase(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

}  // namespace

std::optional<std::chrono::milliseconds> throttleBackoff(std::string_view text) {
  static constexpr std::string_view kKey = "backoff time";
  auto it = std::search(text.begin(), text.end(), kKey.begin(), kKey.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
  if (it == text.end()) return std::nullopt;
  size_t pos = static_cast<size_t>(it - text.begin()) + kKey.size();
  while (pos < text.size() && (text[pos] == ':' || text[pos] == '=' || std::isspace(static_cast<unsigned char>(text[pos])))) ++pos;
  uint64_t ms = 0;
  size_t digits = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) && digits < 12) {
    ms = ms * 10 + static_cast<uint64_t>(text[pos] - '0');
    ++pos;
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  return std::min(std::chrono::milliseconds(ms), kMaxThrottleBackoff);
}

Classified classify(const Response& r) {
  std::string_view text = r.text;
  if (r.status == "BYE" && (containsNoCase(text, "AccessTokenExpired") || containsNoCase(r.code, "AccessTokenExpired")))
    return {ServerSignal::AccessTokenExpired, {}};
  if (r.status == "NO" || r.status == "BAD" || r.status == "BYE") {
    if (containsNoCase(text, "throttled")) {
      // No number: Exchange's smallest observed backoff is tens of seconds.
      return {ServerSignal::Throttled, throttleBackoff(text).value_or(std::chrono::seconds(30))};
    }
    if (containsNoCase(text, "authenticated but not connected")) return {ServerSignal::NotConnected, {}};
  }
  return {};
}

}  // namespace mailark::imap
