#include "src/base/log.h"

#include <cstdio>
#include <ctime>

namespace mailark::log {

static Level g_level = Level::Info;

void setLevel(Level level) { g_level = level; }
bool enabled(Level level) { return level >= g_level; }

void write(Level level, std::string_view message) {
  if (!enabled(level)) return;
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::fprintf(stderr, "%s %s: %.*s\n", stamp, kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
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
