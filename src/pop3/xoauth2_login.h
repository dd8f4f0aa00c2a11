// POP3 app-only login: AUTH XOAUTH2 in the continuation form (as Exchange
// Online expects), shared by `mailark plan` and `mailark doctor`. A "+"
// after the payload is the server's error challenge, answered with an
// empty line so that the -ERR follows. The payload (with the token) is
// never logged.
#pragma once

#include <functional>
#include <string>

#include "src/pop3/pop3_connection.h"

namespace mailark::pop3 {

// REQUIRES: `connection` is open (greeting received). `done` gets the
// server's final reply (+OK or -ERR); not called if the connection is lost.
void loginXoauth2(Pop3Connection& connection, const std::string& mailbox, const std::string& token,
                  std::function<void(const Reply&)> done);

}  // namespace mailark::pop3
