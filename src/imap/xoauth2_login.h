// The IMAP login sequence of an app-only client, shared by `mailark plan`
// and `mailark doctor`: CAPABILITY (unless the greeting carried it) ->
// AUTHENTICATE XOAUTH2 (SASL-IR when offered; a JSON error challenge is
// answered with an empty line) -> CAPABILITY again unless the tagged OK
// carried it.
//
// The token is sent only inside the AUTHENTICATE command, which is logged
// as "<redacted>". Threading: the connection's loop.
#pragma once

#include <functional>
#include <string>

#include "mailark/status.h"
#include "src/imap/imap_connection.h"

namespace mailark::imap {

enum class LoginStep { Capability, Authenticate };

struct LoginResult {
  Status status;                           // ok once logged in
  LoginStep failed_at = LoginStep::Capability;
  std::string server_text;                 // the refusing response, e.g. "NO [AUTHENTICATIONFAILED] ..."
};

// REQUIRES: `connection` has been opened (greeting received) and outlives
// the login. `done` runs once, from a command completion; it is not called
// if the connection is lost (onConnectionLost reports that).
void loginXoauth2(ImapConnection& connection, const std::string& mailbox, const std::string& token,
                  std::function<void(const LoginResult&)> done);

// "STATUS [CODE] text" of a tagged or untagged response, for messages.
std::string describeResponse(const Response& r);

}  // namespace mailark::imap
