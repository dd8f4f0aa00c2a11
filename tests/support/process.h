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

// Runs a program with stdout into a pipe that takes 4 KiB before the
// writer blocks; reads `read_bytes` from it and then closes it, as
// `| head -c N` does. `out` holds the bytes read, `err` the program's
// stderr. Once its output exceeds 4 KiB + read_bytes, the program's write
// after the close fails with EPIPE (or SIGPIPE kills it).
ProcessResult runIntoEarlyClosingReader(const std::vector<std::string>& argv, size_t read_bytes);

// Starts a program in the background with stdout/stderr sent to /dev/null;
// returns its pid (or -1). Reap it with waitForExit().
int startProcess(const std::vector<std::string>& argv);
// Waits for `pid`; returns its exit code, or 128 + signal number.
int waitForExit(int pid);

}  // namespace mailark::test
