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

enum class Protocol { Imap, Pop3 };

struct MailboxSpec {
  std::string address;
  Protocol protocol = Protocol::Imap;
};

struct ServerConfig {
  std::string host = "outlook.office365.com";
  uint16_t port = 993;               // IMAP (implicit TLS)
  uint16_t pop3_port = 995;          // POP3 (implicit TLS), for mailboxes with Protocol::Pop3
  std::string ca_file;               // optional extra trust anchor (also for the token endpoint)
  uint32_t timeout_seconds = 120;    // idle timeout of a connection
};

// One app registration (tenant + client) with its own token, server and
// mailboxes. A config with a single [app] section has one AppConfig; each
// [[app]] table adds one (with its own [app.server] overrides and
// [app.mailboxes]).
struct AppConfig {
  std::string name = "default";
  std::string tenant;
  std::string client_id;
  std::string client_secret;       // loaded; empty when not requested or with a certificate
  std::string client_secret_file;  // where it came from (one of these two)
  std::string client_secret_env;
  // Certificate credentials instead of a secret (both files set): PEM files;
  // the key is loaded by the token client (src/auth/client_assertion.h).
  std::string certificate_file;
  std::string private_key_file;
  std::string assertion_alg = "PS256";  // or "RS256" (x5t SHA-1 thumbprint)
  std::string cloud = "global";         // global | usgov | usgov-dod | china
  std::string authority = "https://login.microsoftonline.com";  // default from cloud
  std::string scope = "https://outlook.office365.com/.default";  // default from cloud
  ServerConfig server;
  std::vector<MailboxSpec> mailboxes;  // de-duplicated, in file order
};

struct ArchiveConfig {
  std::string path;
  std::string compression = "zstd";  // "zstd" (fast level) or "none"
  uint32_t pack_size_mb = 512;       // a pack file is rolled over past this size
  // Threads that hash, compress and write messages of more than 64 KiB
  // (smaller ones are cheaper on the loop thread). -1: one per core with
  // zstd, none without compression.
  int32_t store_threads = -1;
  // Messages of at most 64 KiB go to the store threads too, this many
  // sharing one hand-off; 0 stores them on the loop thread (the least CPU
  // per message). Worth it where spare cores, not CPU, are what is left.
  uint32_t small_message_group = 0;
};

// Protocol tuning; the defaults suit Exchange Online and Dovecot.
struct ImapConfig {
  bool include_non_mail_folders = false;  // Calendar, Contacts, Tasks, ... (skipped by default)
  uint32_t pipeline_depth = 2;            // UID FETCH commands in flight per connection
  uint32_t max_line_kb = 1024;            // longest response line outside literals
  uint32_t max_message_mb = 1024;         // largest message accepted (Exchange allows 150 MB)
  uint32_t batch_messages = 250;          // messages per UID FETCH (also the unit a folder is split by)
  // Messages at least this large are fetched in 1 MiB pieces by all the
  // mailbox's connections at once (Exchange caps each connection's rate); 0: never.
  uint32_t split_message_mb = 2;
};

struct LimitsConfig {
  uint32_t connections = 100;            // IMAP/POP3 connections open at once, over all mailboxes
  uint32_t connections_per_mailbox = 2;  // Exchange counts ~16-20 per mailbox, other clients included
  // More than 4 per mailbox needs this, since other clients of the mailbox
  // share Exchange's per-mailbox budget.
  bool allow_many_connections_per_mailbox = false;
};

struct Config {
  std::string file;  // the config file's path
  std::vector<AppConfig> apps;  // at least one
  ArchiveConfig archive;
  LimitsConfig limits;
  ImapConfig imap;
  std::vector<std::string> warnings;  // e.g. a secret file readable by others

  // Every configured mailbox address, over all apps, in config order.
  std::vector<std::string> allMailboxes() const;
};

enum class SecretNeed { Load, Skip };

// Parses and validates `path`. Relative paths inside the file are resolved
// against the file's directory. With SecretNeed::Skip (status, ls, cat) the
// [app] section and mailbox list may be incomplete.
Result<Config> loadConfig(const std::string& path, SecretNeed need);

}  // namespace mailark::config
