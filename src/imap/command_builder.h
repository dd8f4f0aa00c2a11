// CommandBuilder: composes IMAP command lines with correct quoting.
//
// Strings that a quoted string cannot carry (CR, LF, NUL, 8-bit bytes) are
// sent as literals: "{n+}" when the server offers LITERAL+, otherwise as a
// synchronizing "{n}" that waits for the server's "+" before the bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailark::imap {

// A command without its tag. Each segment after the first is sent only after
// a continuation request ("+") from the server; the last segment ends with
// CRLF. A command without synchronizing literals has exactly one segment.
struct Command {
  std::vector<std::string> segments;
  // Shown in logs instead of the command text (e.g. "AUTHENTICATE XOAUTH2 <redacted>").
  std::string log_text;
};

class CommandBuilder {
 public:
  explicit CommandBuilder(bool literal_plus) : literal_plus_(literal_plus) { segments_.emplace_back(); }

  // Appends a space (unless first) and raw protocol text, e.g. "UID FETCH".
  CommandBuilder& raw(std::string_view text);
  // Appends an astring argument: quoted or literal as needed.
  CommandBuilder& string(std::string_view value);
  // Text to log in place of the command (for secret-bearing commands).
  CommandBuilder& logAs(std::string_view text);

  Command build();

 private:
  void separate();

  bool literal_plus_;
  std::vector<std::string> segments_;
  std::string log_text_;
};

// True when `value` can travel as a quoted string.
bool quotable(std::string_view value);

// Formats ascending UIDs as a compact IMAP sequence set: "1:5,7,9:12".
// REQUIRES: uids sorted ascending, no duplicates.
std::string uidSet(const std::vector<uint32_t>& uids);

}  // namespace mailark::imap
