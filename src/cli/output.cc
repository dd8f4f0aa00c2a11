#include "src/cli/output.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "src/cli/commands.h"

namespace mailark::cli {

namespace {

// The errno of the first failed write; 0 while all went well. stdio keeps
// only an error flag, and errno may be overwritten before the end.
int first_error = 0;

void noteFailure() {
  if (first_error == 0) first_error = errno != 0 ? errno : EIO;
}

// A pipe whose reader closed polls as POLLERR for its writer (a socket as
// POLLHUP), whatever errno said; this also covers a failure that stdio
// reported from an earlier call.
bool readerGone() {
  pollfd p{STDOUT_FILENO, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

}  // namespace

bool writeStdout(std::string_view bytes) {
  if (!stdoutWritable()) return false;
  errno = 0;
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) == bytes.size()) return true;
  noteFailure();
  return false;
}

bool stdoutWritable() { return first_error == 0 && !std::ferror(stdout); }

int finishStdout(int exit_code) {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) noteFailure();
  if (first_error == 0) return exit_code;
  if (first_error == EPIPE || readerGone()) return exit_code;
  return reportFatal(std::string("cannot write to standard output: ") + std::strerror(first_error));
}

}  // namespace mailark::cli
