// Runs a program (no shell) and captures its exit code, stdout and stderr.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace mailark::test {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

// `env` entries are added to (or replace in) the current environment.
ProcessResult runProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});

// Starts a program in the background with stdout/stderr sent to /dev/null;
// returns its pid (or -1). Reap it with waitForExit().
int startProcess(const std::vector<std::string>& argv);
// Waits for `pid`; returns its exit code, or 128 + signal number.
int waitForExit(int pid);

}  // namespace mailark::test
