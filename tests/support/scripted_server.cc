#include "tests/support/scripted_server.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace mailark::test {

namespace {

std::string scriptPath() { return std::string(MAILARK_SOURCE_DIR) + "/tests/fakes/scripted_imap_server.py"; }

}  // namespace

ScriptedImapServer::ScriptedImapServer(const TestBed& bed, const std::string& scenario,
                                       std::vector<std::string> extra_args)
    : scenario_(scenario), extra_args_(std::move(extra_args)) {
  dir_ = makeTempDir("mailark-scripted");
  std::vector<std::string> argv = {"/usr/bin/python3", scriptPath(), "--bed",     bed.info().dir,
                                   "--dir",            dir_,         "--scenario", scenario};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  pid_ = startProcess(argv);
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

std::vector<TranscriptLine> ScriptedImapServer::transcriptLines() const {
  std::vector<TranscriptLine> out;
  std::istringstream lines(transcript());
  std::string line;
  while (std::getline(lines, line)) {
    // "<time> conn=<id> user=<login> <text>"; the login never holds a space.
    size_t a = line.find(" conn=");
    size_t b = a == std::string::npos ? a : line.find(" user=", a + 6);
    size_t c = b == std::string::npos ? b : line.find(' ', b + 6);
    if (c == std::string::npos) continue;
    TranscriptLine t;
    t.time = std::atof(line.substr(0, a).c_str());
    t.conn = std::atoi(line.substr(a + 6, b - a - 6).c_str());
    t.user = line.substr(b + 6, c - b - 6);
    t.text = line.substr(c + 1);
    out.push_back(std::move(t));
  }
  return out;
}

std::string ScriptedImapServer::message(uint32_t uid) const {
  std::vector<std::string> argv = {"/usr/bin/python3", scriptPath(), "--scenario", scenario_};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  argv.insert(argv.end(), {"--dump-message", std::to_string(uid)});
  ProcessResult r = runProcess(argv);
  return r.exit_code == 0 ? r.out : std::string();
}

std::string ScriptedImapServer::messageSha256(uint32_t uid) const {
  std::vector<std::string> argv = {"/usr/bin/python3", scriptPath(), "--scenario", scenario_};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  argv.insert(argv.end(), {"--dump-sha256", std::to_string(uid)});
  ProcessResult r = runProcess(argv);
  if (r.exit_code != 0 || r.out.size() < 64) return "";
  return r.out.substr(0, 64);
}

int peakConnections(const std::vector<TranscriptLine>& lines, const std::string& user) {
  std::map<int, bool> live;  // conn -> logged in as `user` and not yet gone
  int now = 0, peak = 0;
  for (const TranscriptLine& l : lines) {
    if (l.user != user) continue;
    if (l.text.find(" AUTHENTICATE ") != std::string::npos && !live[l.conn]) {
      live[l.conn] = true;
      peak = std::max(peak, ++now);
    } else if (l.text == "DISCONNECT" && live[l.conn]) {
      live[l.conn] = false;
      --now;
    }
  }
  return peak;
}

std::vector<uint32_t> uidsInSet(const std::string& set) {
  std::vector<uint32_t> out;
  std::istringstream parts(set);
  std::string part;
  while (std::getline(parts, part, ',')) {
    size_t colon = part.find(':');
    uint32_t lo = static_cast<uint32_t>(std::strtoul(part.c_str(), nullptr, 10));
    uint32_t hi = colon == std::string::npos ? lo : static_cast<uint32_t>(std::strtoul(part.c_str() + colon + 1, nullptr, 10));
    if (lo > hi) std::swap(lo, hi);
    for (uint64_t u = lo; u <= hi; ++u) out.push_back(static_cast<uint32_t>(u));
  }
  return out;
}

}  // namespace mailark::test
