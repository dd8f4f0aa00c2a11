// Modified UTF-7 (RFC 3501 section 5.1.3), the encoding of IMAP mailbox
// names on servers without UTF8=ACCEPT (Exchange Online among them).
#pragma once

#include <string>
#include <string_view>

#include "mailark/status.h"

namespace mailark::imap {

// Decodes a mailbox name as sent by the server into UTF-8. Rejects, with
// ProtocolError, what RFC 3501 forbids: bytes outside printable US-ASCII,
// a '&' shift without its closing '-', base64 padding or a bad alphabet,
// leftover bits, unpaired UTF-16 surrogates, printable ASCII that was
// base64-encoded, and two base64 runs back to back ("&AGE-&Jjo-").
Result<std::string> decodeMutf7(std::string_view mutf7);

// Encodes a UTF-8 mailbox name for the wire. Returns Config when `utf8` is
// not valid UTF-8 (names come from configuration or from decodeMutf7()).
Result<std::string> encodeMutf7(std::string_view utf8);

// Like encodeMutf7() but replaces each byte of invalid UTF-8 with U+FFFD,
// as go-imap does; for display and logs, never for names sent to a server.
std::string encodeMutf7Lossy(std::string_view utf8);

}  // namespace mailark::imap
