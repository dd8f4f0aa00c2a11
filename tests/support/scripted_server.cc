#include "tests/support/scripted_server.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace mailark::test {

ScriptedImapServer::ScriptedImapServer(const TestBed& bed, const std::string& scenario) {
  dir_ = makeTempDir("mailark-scripted");
  pid_ = startProcess({"/usr/bin/python3", std::string(MAILARK_SOURCE_DIR) + "/tests/fakes/scripted_imap_server.py",
                       "--bed", bed.info().dir, "--dir", dir_, "--scenario", scenario});
  for (int i = 0; i < 500 && !std::filesystem::exists(dir_ + "/port"); ++i) usleep(10000);
  port_ = std::atoi(readFile(dir_ + "/port").c_str());
}

ScriptedImapServer::~ScriptedImapServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitForExit(pid_);
  }
  removeTree(dir_);
}

std::string ScriptedImapServer::transcript() const { return readFile(dir_ + "/transcript.log"); }

}  // namespace mailark::test
