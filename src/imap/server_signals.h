// Recognizes the Exchange Online signals a client must act on, as typed
// values rather than text for the engine to match. Pure functions.
//
//   "<tag> NO|BAD Request is throttled. Suggested Backoff Time: N milliseconds"
//   "* BYE Session invalidated - AccessTokenExpired"
//   "<tag> BAD User is authenticated but not connected."
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "src/imap/response_parser.h"

namespace mailark::imap {

enum class ServerSignal {
  None,
  Throttled,             // wait backoff(), then retry
  AccessTokenExpired,    // reconnect with a fresh token
  NotConnected,          // the app has no access to this mailbox
};

struct Classified {
  ServerSignal signal = ServerSignal::None;
  std::chrono::milliseconds backoff{0};  // Throttled only; capped
};

// The longest wait we honour; Exchange has been seen asking for 300 s.
inline constexpr std::chrono::milliseconds kMaxThrottleBackoff{5 * 60 * 1000};

// Looks at a tagged NO/BAD or an untagged BYE (text and code).
Classified classify(const Response& response);

// Parses "Backoff Time[:=\s]+(\d+)" out of free text; nullopt if absent.
std::optional<std::chrono::milliseconds> throttleBackoff(std::string_view text);

}  // namespace mailark::imap
