// Pure helpers for `mailark export`: safe file names, dates, flags, mboxrd.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace mailark::cli {

// Maps a folder name (any UTF-8, possibly hostile: "../x", "a/../../b") to
// one safe path component: '/', '\\', '%', control bytes and a leading '.'
// become %XX, so the mapping is injective (no collisions) and the result
// is never ".", ".." or a path. Non-ASCII UTF-8 is kept readable.
std::string safeFolderFileName(std::string_view folder);

// IMAP INTERNALDATE ("17-Jul-1996 02:44:25 -0700") -> Unix time.
std::optional<std::time_t> parseInternalDate(std::string_view text);

// "Wed Jul 17 09:44:25 1996" (UTC), the mbox From_ line date.
std::string asctimeUtc(std::time_t t);

// IMAP flags -> Maildir info letters in ASCII order, e.g. "\\Seen \\Answered" -> "RS".
std::string maildirFlags(std::string_view imap_flags);

// Appends `chunk` to `out` with mboxrd quoting: every line matching
// ^>*From  gets one more '>'. `at_line_start` carries state across chunks;
// `pending` holds a partial line prefix that may still become "From ".
class MboxrdQuoter {
 public:
  void feed(std::string_view chunk, std::string* out);
  void finish(std::string* out);  // flushes a held-back prefix

 private:
  bool at_line_start_ = true;
  std::string held_;  // start of the current line while it could be >*From
};

}  // namespace mailark::cli
