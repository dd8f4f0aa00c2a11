// The mailark configuration file (TOML) and how it is loaded and checked.
//
// Every problem is a Config Status naming the file, the key and what to do.
// The client secret is read from a file or an environment variable, never
// from the config text or the command line, and is never printed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mailark/status.h"

namespace mailark::config {

struct AppConfig {
  std::string tenant;
  std::string client_id;
  std::string client_secret;       // loaded; empty when not requested
  std::string client_secret_file;  // where it came from (one of these two)
  std::string client_secret_env;
  std::string authority = "https://login.microsoftonline.com";
  std::string scope = "https://outlook.office365.com/.default";
};

struct ServerConfig {
  std::string host = "outlook.office365.com";
  uint16_t port = 993;
  std::string ca_file;               // optional extra trust anchor (also for the token endpoint)
  uint32_t timeout_seconds = 120;    // idle timeout of a connection
};

struct ArchiveConfig {
  std::string path;
};

struct LimitsConfig {
  uint32_t connections = 16;  // mailboxes archived at once (one connection each)
};

struct Config {
  std::string file;  // the config file's path
  AppConfig app;
  ServerConfig server;
  ArchiveConfig archive;
  LimitsConfig limits;
  std::vector<std::string> mailboxes;  // de-duplicated, in file order
  std::vector<std::string> warnings;   // e.g. a secret file readable by others
};

enum class SecretNeed { Load, Skip };

// Parses and validates `path`. Relative paths inside the file are resolved
// against the file's directory. With SecretNeed::Skip (status, ls, cat) the
// [app] section and mailbox list may be incomplete.
Result<Config> loadConfig(const std::string& path, SecretNeed need);

}  // namespace mailark::config
