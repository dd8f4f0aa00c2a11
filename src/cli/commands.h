// The mailark subcommands. Each returns the process exit code:
// 0 success, 1 some mailboxes failed, 2 the command could not run at all.
#pragma once

#include <string>

namespace mailark::cli {

struct RunOptions {
  std::string config;
};
int runCommand(const RunOptions& options);

int statusCommand(const std::string& config);

struct LsOptions {
  std::string config;
  std::string mailbox;  // empty = all
  bool json = false;
};
int lsCommand(const LsOptions& options);

int catCommand(const std::string& config, const std::string& sha256);

// Prints "mailark: <message>" to stderr and returns 2.
int reportFatal(const std::string& message);

}  // namespace mailark::cli
