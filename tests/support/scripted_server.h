// Runs tests/fakes/scripted_imap_server.py for one test: a scripted IMAP
// server on 127.0.0.1 with the test bed's certificate.
#pragma once

#include <string>

#include "tests/support/testbed.h"

namespace mailark::test {

class ScriptedImapServer {
 public:
  // Starts the server with `scenario` (see the script's docstring); port()
  // is 0 when it did not start.
  ScriptedImapServer(const TestBed& bed, const std::string& scenario);
  ~ScriptedImapServer();
  ScriptedImapServer(const ScriptedImapServer&) = delete;
  ScriptedImapServer& operator=(const ScriptedImapServer&) = delete;

  int port() const { return port_; }
  std::string transcript() const;

 private:
  std::string dir_;
  int pid_ = -1;
  int port_ = 0;
};

}  // namespace mailark::test
