// Minimal leveled logging to stderr. Callers must never pass secrets; the
// redact() helper exists for the places that echo peer or config text.
#pragma once

#include <string>
#include <string_view>

namespace mailark::log {

enum class Level { Debug, Info, Warn, Error };

void setLevel(Level level);
bool enabled(Level level);
void write(Level level, std::string_view message);

inline void debug(std::string_view m) { if (enabled(Level::Debug)) write(Level::Debug, m); }
inline void info(std::string_view m) { write(Level::Info, m); }
inline void warn(std::string_view m) { write(Level::Warn, m); }
inline void error(std::string_view m) { write(Level::Error, m); }

// The current UTC time as RFC 3339 with milliseconds ("2026-11-23T14:32:10.123Z"),
// as log lines and JSON events carry it: runs are short enough that seconds
// cannot order what happened.
std::string utcTimestamp();

// Replaces every occurrence of `secret` in `text` with "[REDACTED]".
std::string redact(std::string_view text, std::string_view secret);

}  // namespace mailark::log
