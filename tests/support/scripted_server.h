// Runs tests/fakes/scripted_imap_server.py for one test: a scripted IMAP
// server on 127.0.0.1 with the test bed's certificate.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/support/testbed.h"

namespace mailark::test {

// One line of the server's transcript.log:
// "<time> conn=<id> user=<login or -> <text>".
struct TranscriptLine {
  double time = 0;
  int conn = 0;
  std::string user;  // "-" before the connection logged in
  std::string text;  // the command as received, or CONNECT/DISCONNECT/KICK/CUT ...
};

class ScriptedImapServer {
 public:
  // Starts the server with `scenario` (see the script's docstring) and any
  // further script flags (--messages N, --big-bytes B, --fetch-delay-ms D);
  // port() is 0 when it did not start.
  ScriptedImapServer(const TestBed& bed, const std::string& scenario, std::vector<std::string> extra_args = {});
  ~ScriptedImapServer();
  ScriptedImapServer(const ScriptedImapServer&) = delete;
  ScriptedImapServer& operator=(const ScriptedImapServer&) = delete;

  int port() const { return port_; }
  std::string transcript() const;
  // The transcript parsed; lines that do not have the format are skipped.
  std::vector<TranscriptLine> transcriptLines() const;
  // The exact bytes the server holds for `uid` (same scenario and flags),
  // from the script's --dump-message mode; empty when there is no such UID.
  std::string message(uint32_t uid) const;
  // Hex SHA-256 of those bytes, computed by the script (cheaper than
  // message() for very large messages); empty when there is no such UID.
  std::string messageSha256(uint32_t uid) const;

 private:
  std::string dir_;
  std::string scenario_;
  std::vector<std::string> extra_args_;
  int pid_ = -1;
  int port_ = 0;
};

// The most connections `user` had logged in at the same time: a connection
// counts from its AUTHENTICATE line to its DISCONNECT line.
int peakConnections(const std::vector<TranscriptLine>& lines, const std::string& user);

// UIDs named by a UID set such as "1:5,7,9:10" ("*" is not expected).
std::vector<uint32_t> uidsInSet(const std::string& set);

}  // namespace mailark::test
