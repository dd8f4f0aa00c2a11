#include "src/base/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace mailark::log {

static Level g_level = Level::Info;

void setLevel(Level level) { g_level = level; }
bool enabled(Level level) { return level >= g_level; }

void write(Level level, std::string_view message) {
  if (!enabled(level)) return;
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  std::fprintf(stderr, "%s %s: %.*s\n", utcTimestamp().c_str(), kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

std::string utcTimestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[40];
  size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(millis));
  return stamp;
}

std::string redact(std::string_view text, std::string_view secret) {
  std::string out(text);
  if (secret.empty()) return out;
  for (size_t pos = 0; (pos = out.find(secret, pos)) != std::string::npos;) {
    out.replace(pos, secret.size(), "[REDACTED]");
    pos += 10;
  }
  return out;
}

}  // namespace mailark::log
