// Starts and drives tests/testbed (a real Dovecot + fake Entra endpoint)
// from C++ tests. One TestBed = one private Dovecot in a fresh temp dir.
#pragma once

#include <string>
#include <vector>

#include "tests/support/process.h"

namespace mailark::test {

struct BedInfo {
  std::string dir;
  int imap_port = 0;
  int pop3_port = 0;
  int token_port = 0;
  std::string authority;
  std::string tenant;
  std::string tenant_id;
  std::string client_id;
  std::string secret_file;
  std::string noimap_client_id;
  std::string noimap_secret_file;
  std::string nopop_client_id;  // app with IMAP.AccessAsApp only
  std::string nopop_secret_file;
  std::string ca_file;
  std::vector<std::string> mailboxes;
};

struct FetchedMessage {
  std::string folder;
  uint32_t uid = 0;
  std::string sha256;
  uint64_t size = 0;
};

class TestBed {
 public:
  // Starts a bed; on failure `error()` says why and info() is empty.
  explicit TestBed(const std::vector<std::string>& up_args);
  ~TestBed();

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const BedInfo& info() const { return info_; }

  // Runs testbed.py with a subcommand and --dir added.
  ProcessResult tool(std::vector<std::string> args) const;
  // Independent fetch (Python imaplib) of one mailbox: every message's hash.
  std::vector<FetchedMessage> fetch(const std::string& mailbox) const;
  // Delivers `count` new messages; returns their SHA-256s.
  std::vector<std::string> deliver(const std::string& mailbox, const std::string& folder, int count, int seed) const;

  // Writes a mailark config into the bed dir and returns its path.
  // `app_section` replaces the default [app] body when non-empty.
  std::string writeConfig(const std::string& name, const std::string& archive_dir,
                          const std::vector<std::string>& mailboxes, const std::string& app_section = "",
                          const std::string& server_extra = "") const;

 private:
  std::string error_;
  BedInfo info_;
};

// Runs the mailark binary under test.
ProcessResult mailark(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

std::string readFile(const std::string& path);
std::string sha256Hex(const std::string& bytes);
// A fresh directory under /tmp, world-traversable so Dovecot's mail user can reach it.
std::string makeTempDir(const std::string& prefix);
void removeTree(const std::string& dir);

}  // namespace mailark::test
