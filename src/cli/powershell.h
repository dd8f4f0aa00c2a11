// PowerShell text for the Exchange admin (`mailark admin-script`). Pure: no
// I/O, so the quoting rule is unit-tested.
//
// Every value taken from the config (mailbox addresses, app ids, names)
// reaches the script only through singleQuoted(): a single-quoted
// PowerShell string is verbatim (no $ expansion, no backtick escapes, no
// subexpressions), and its only special characters are the quote itself
// and the Unicode quotes PowerShell treats as the same quote. Doubling
// them is the whole escaping rule; double-quoted strings are never used
// for values.
#pragma once

#include <string>
#include <string_view>

#include "src/config/config.h"

namespace mailark::cli {

// `value` as a PowerShell single-quoted string literal: wrapped in ' and
// every ', U+2018, U+2019, U+201A and U+201B doubled. Bytes that are not
// valid UTF-8 are copied as they are (they cannot end the literal).
std::string singleQuoted(std::string_view value);

// A line comment: "# " + text with CR/LF replaced by spaces, so a value
// shown in a comment can never start a new line of code.
std::string comment(std::string_view text);

// The whole admin script for `cfg`: for every app, install/import
// ExchangeOnlineManagement, Connect-ExchangeOnline, find or create the
// service principal of the Enterprise Application by AppId, grant FullAccess
// to each configured mailbox unless it already has it, and check
// ImapEnabled/PopEnabled per mailbox protocol. Idempotent: re-running it
// changes nothing that is already in place.
std::string adminScript(const config::Config& cfg);

}  // namespace mailark::cli
