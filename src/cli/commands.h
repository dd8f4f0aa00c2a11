// The mailark subcommands. Each returns the process exit code:
// 0 success, 1 some mailboxes failed, 2 the command could not run at all.
#pragma once

#include <string>
#include <vector>

namespace mailark::cli {

struct RunOptions {
  std::string config;
  std::string json_events;   // append one JSON event per line here
  std::string metrics_file;  // Prometheus text format, rewritten as the run goes
  bool progress = true;      // progress on stderr (live on a terminal)
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

struct VerifyOptions {
  std::string config;
  std::string mailbox;  // empty = all
  std::string sample;   // e.g. "10%"; empty = every object
};
// 0 all intact, 1 damaged or missing messages (each named), 2 could not run.
int verifyCommand(const VerifyOptions& options);

struct ExportOptions {
  std::string config;
  std::string mailbox;
  std::string folder;  // empty = all folders
  std::string format;  // eml | mbox | maildir
  std::string out;
};
int exportCommand(const ExportOptions& options);

struct TokenOptions {
  std::string config;
  std::string app;     // empty = every app
  bool print = false;  // print only the raw token (needs one app)
};
// Gets each app's token and prints tenant, client id, expiry, aud, roles,
// appid and oid (never the token, except with print). 0 fine, 1 a warning
// (a role missing, not an Exchange audience), 2 no token.
int tokenCommand(const TokenOptions& options);

// Prints the PowerShell an Exchange admin runs once for the configured
// apps and mailboxes (src/cli/powershell.h). 0, or 2 for a bad config.
int adminScriptCommand(const std::string& config);

struct PlanOptions {
  std::string config;
  double rate = 4.0;  // messages/s per mailbox (Exchange Online's published figure)
  bool json = false;
};
// Lists folders and what the next run would fetch, without fetching.
// 0 fine, 1 some mailbox could not be planned, 2 could not run.
int planCommand(const PlanOptions& options);

struct DoctorOptions {
  std::string config;
  std::vector<std::string> mailboxes;  // empty = every configured mailbox
  bool json = false;
};
// Checks each app and mailbox step by step (token, claims, TLS, login,
// access). 0 all fine, 1 some check failed, 2 could not run.
int doctorCommand(const DoctorOptions& options);

// Prints "mailark: <message>" to stderr and returns 2.
int reportFatal(const std::string& message);

}  // namespace mailark::cli
