#include "src/imap/xoauth2.h"

#include "src/base/base64.h"

namespace mailark::imap {

std::string xoauth2InitialResponse(std::string_view mailbox, std::string_view token) {
  std::string raw;
  raw.reserve(mailbox.size() + token.size() + 24);
  raw += "user=";
  raw += mailbox;
  raw += "\x01" "auth=Bearer ";
  raw += token;
  raw += "\x01\x01";
  return base64Encode(raw);
}

}  // namespace mailark::imap
