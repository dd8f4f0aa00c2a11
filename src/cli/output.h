// Standard output for commands whose output is often piped into another
// program (`mailark ls | head -1`). SIGPIPE is ignored (main.cc), so a
// reader that went away shows up as a failed write (EPIPE). That is a
// normal way to stop reading, not an error of ours: the command ends
// quietly with its own exit code. Any other write failure (a full disk
// behind `> file`) is reported and the command exits 2.
#pragma once

#include <string_view>

namespace mailark::cli {

// Writes `bytes` to stdout. Returns false once stdout has failed (for any
// reason); callers may then stop producing output.
bool writeStdout(std::string_view bytes);

// False once a write to stdout has failed.
bool stdoutWritable();

// Flushes stdout at the end of a command. Returns `exit_code` when every
// byte was written or the reader went away; otherwise prints "mailark:
// cannot write to standard output: <reason>" to stderr and returns 2.
int finishStdout(int exit_code);

}  // namespace mailark::cli
