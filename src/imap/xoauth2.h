// SASL XOAUTH2 initial response (Google/Microsoft): the mailbox to open plus
// the bearer token. The result carries the token: never log it.
#pragma once

#include <string>
#include <string_view>

namespace mailark::imap {

// base64("user=" mailbox "\x01auth=Bearer " token "\x01\x01")
std::string xoauth2InitialResponse(std::string_view mailbox, std::string_view token);

}  // namespace mailark::imap
