// Tests for loadConfig(): each case writes a real mailark.toml (plus secret
// and mailbox files) into a temporary directory and checks what was loaded,
// or that the error is a Config Status naming the file and the problem.
#include "src/config/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/store/test_dirs.h"

namespace mailark::config {
namespace {

namespace fs = std::filesystem;

constexpr char kSecret[] = "s3cr3t-Value~with.odd_chars";

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }

  // Writes `text` to dir/<name> (creating parent dirs) and returns the path.
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    fs::path p = fs::path(dir_.path()) / name;
    fs::create_directories(p.parent_path());
    {
      std::ofstream out(p, std::ios::binary | std::ios::trunc);
      out << text;
    }
    // chmod explicitly: the umask must not decide the world-readable test.
    EXPECT_EQ(::chmod(p.c_str(), mode), 0);
    return p.string();
  }

  std::string path(const std::string& name) const { return (fs::path(dir_.path()) / name).string(); }

  // A complete config using a secret file in the same directory.
  std::string writeValid(const std::string& extra = "") {
    write("secret", std::string(kSecret) + "\n");
    return write("mailark.toml",
                 "[app]\n"
                 "tenant = \"contoso.onmicrosoft.com\"\n"
                 "client_id = \"11111111-2222-3333-4444-555555555555\"\n"
                 "client_secret_file = \"secret\"\n"
                 "\n"
                 "[archive]\n"
                 "path = \"archive\"\n"
                 "\n"
                 "[mailboxes]\n"
                 "list = [\"alice@contoso.com\"]\n" +
                     extra);
  }

  testing::TempDir dir_;
};

// Every failure must be a Config Status that names the file and contains
// `needle`, and must never leak the secret.
void expectConfigError(const Result<Config>& r, const std::string& file, const std::string& needle) {
  ASSERT_FALSE(r.isOk()) << "expected an error containing: " << needle;
  const Status s = r.status();
  EXPECT_EQ(s.code(), StatusCode::Config) << s.toString();
  EXPECT_NE(s.message().find(file), std::string::npos) << "message does not name the file: " << s.message();
  EXPECT_NE(s.message().find(needle), std::string::npos) << "message lacks \"" << needle << "\": " << s.message();
  EXPECT_EQ(s.message().find(kSecret), std::string::npos) << "secret leaked: " << s.message();
}

std::string configWith(const std::string& app, const std::string& rest) {
  return "[app]\n" + app + "\n[archive]\npath = \"/srv/archive\"\n\n[mailboxes]\nlist = [\"a@contoso.com\"]\n" + rest;
}

TEST_F(ConfigTest, ValidConfigGetsDefaults) {
  const std::string file = writeValid();
  Result<Config> r = loadConfig(file, SecretNeed::Load);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->apps.size(), 1u);
  const Config& c = *r;
  EXPECT_EQ(c.file, file);
  EXPECT_EQ(c.apps.front().tenant, "contoso.onmicrosoft.com");
  EXPECT_EQ(c.apps.front().client_id, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(c.apps.front().client_secret, kSecret);  // trailing newline trimmed
  EXPECT_EQ(c.apps.front().client_secret_file, path("secret"));
  EXPECT_EQ(c.apps.front().client_secret_env, "");
  EXPECT_EQ(c.apps.front().authority, "https://login.microsoftonline.com");
  EXPECT_EQ(c.apps.front().scope, "https://outlook.office365.com/.default");
  EXPECT_EQ(c.apps.front().server.host, "outlook.office365.com");
  EXPECT_EQ(c.apps.front().server.port, 993);
  EXPECT_EQ(c.apps.front().server.ca_file, "");
  EXPECT_EQ(c.apps.front().server.timeout_seconds, 120u);
  EXPECT_EQ(c.limits.connections, 100u);
  EXPECT_EQ(c.limits.connections_per_mailbox, 2u);
  EXPECT_EQ(c.imap.batch_messages, 250u);
  EXPECT_EQ(c.imap.split_message_mb, 2u);
  EXPECT_EQ(c.archive.path, path("archive"));
  EXPECT_EQ(c.archive.small_message_group, 0u);
  EXPECT_EQ(c.allMailboxes(), std::vector<std::string>{"alice@contoso.com"});
  EXPECT_TRUE(c.warnings.empty()) << c.warnings.front();
}

TEST_F(ConfigTest, ExplicitValuesOverrideDefaults) {
  write("ca.pem", "not parsed by the loader\n");
  write("secret", std::string(kSecret) + "\r\n");
  const std::string file = write("mailark.toml",
                                 "[app]\n"
                                 "tenant = \"0b5e1d43-0000-4000-8000-000000000001\"\n"
                                 "client_id = \"cid\"\n"
                                 "client_secret_file = \"secret\"\n"
                                 "authority = \"https://127.0.0.1:8443/\"\n"
                                 "scope = \"https://imap.example/.default\"\n"
                                 "[server]\n"
                                 "host = \"127.0.0.1\"\n"
                                 "port = 10993\n"
                                 "ca_file = \"ca.pem\"\n"
                                 "timeout_seconds = 30\n"
                                 "[archive]\n"
                                 "path = \"/abs/archive\"\n"
                                 "small_message_group = 16\n"
                                 "[limits]\n"
                                 "connections = 3\n"
                                 "[mailboxes]\n"
                                 "list = [\"a@x.test\"]\n");
  Result<Config> r = loadConfig(file, SecretNeed::Load);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->apps.front().authority, "https://127.0.0.1:8443");  // trailing slash removed
  EXPECT_EQ(r->apps.front().scope, "https://imap.example/.default");
  EXPECT_EQ(r->apps.front().client_secret, kSecret);
  EXPECT_EQ(r->apps.front().server.host, "127.0.0.1");
  EXPECT_EQ(r->apps.front().server.port, 10993);
  EXPECT_EQ(r->apps.front().server.ca_file, path("ca.pem"));
  EXPECT_EQ(r->apps.front().server.timeout_seconds, 30u);
  EXPECT_EQ(r->archive.path, "/abs/archive");  // absolute paths are kept
  EXPECT_EQ(r->archive.small_message_group, 16u);
  EXPECT_EQ(r->limits.connections, 3u);
}

TEST_F(ConfigTest, RelativePathsResolveAgainstTheConfigDirectory) {
  write("keys/secret", std::string(kSecret));
  write("certs/ca.pem", "x\n");
  write("lists/boxes.txt", "b@contoso.com\n");
  const std::string file = write("etc/mailark.toml",
                                 "[app]\n"
                                 "tenant = \"contoso.com\"\n"
                                 "client_id = \"cid\"\n"
                                 "client_secret_file = \"../keys/secret\"\n"
                                 "[server]\n"
                                 "ca_file = \"../certs/ca.pem\"\n"
                                 "[archive]\n"
                                 "path = \"../data/./archive\"\n"
                                 "[mailboxes]\n"
                                 "file = \"../lists/boxes.txt\"\n");
  // The working directory must not matter.
  const fs::path old_cwd = fs::current_path();
  fs::current_path("/");
  Result<Config> r = loadConfig(file, SecretNeed::Load);
  fs::current_path(old_cwd);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->apps.front().client_secret_file, path("keys/secret"));
  EXPECT_EQ(r->apps.front().client_secret, kSecret);  // no newline at all: kept whole
  EXPECT_EQ(r->apps.front().server.ca_file, path("certs/ca.pem"));
  EXPECT_EQ(r->archive.path, path("data/archive"));
  EXPECT_EQ(r->allMailboxes(), std::vector<std::string>{"b@contoso.com"});
}

TEST_F(ConfigTest, MailboxesFromListAndFileKeepOrderWithoutDuplicates) {
  write("boxes.txt",
        "# the archive set\n"
        "\n"
        "carol@contoso.com\n"
        "   dave@contoso.com   # trailing comment\n"
        "alice@contoso.com\n"
        "\t\n"
        "carol@contoso.com\r\n"
        "erin@contoso.com");  // last line without newline
  write("secret", kSecret);
  const std::string file = write("mailark.toml",
                                 "[app]\ntenant = \"contoso.com\"\nclient_id = \"cid\"\nclient_secret_file = \"secret\"\n"
                                 "[archive]\npath = \"a\"\n"
                                 "[mailboxes]\n"
                                 "list = [\"alice@contoso.com\", \"bob@contoso.com\", \"alice@contoso.com\"]\n"
                                 "file = \"boxes.txt\"\n");
  Result<Config> r = loadConfig(file, SecretNeed::Load);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->allMailboxes(), (std::vector<std::string>{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com",
                                                    "dave@contoso.com", "erin@contoso.com"}));
  for (const MailboxSpec& m : r->apps.front().mailboxes) EXPECT_EQ(m.protocol, Protocol::Imap) << m.address;
}

TEST_F(ConfigTest, InvalidAddressInFileNamesFileAndLine) {
  writeValid();
  write("boxes.txt", "ok@contoso.com\n# comment\nnot-an-address\n");
  const std::string file = write("mailark.toml",
                                 configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n",
                                            "file = \"boxes.txt\"\n"));
  Result<Config> r = loadConfig(file, SecretNeed::Load);
  expectConfigError(r, file, "not-an-address");
  expectConfigError(r, file, path("boxes.txt") + " line 3");
}

TEST_F(ConfigTest, InvalidAddressesInListAreRefused) {
  write("secret", kSecret);
  for (const std::string bad : {"@contoso.com", "alice@", "alice", "al ice@contoso.com", "a\\\"b@contoso.com"}) {
    SCOPED_TRACE(bad);
    const std::string file =
        write("mailark.toml", "[app]\ntenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n"
                              "[archive]\npath = \"a\"\n[mailboxes]\nlist = [\"" + bad + "\"]\n");
    expectConfigError(loadConfig(file, SecretNeed::Load), file, "is not an e-mail address");
  }
}

TEST_F(ConfigTest, MailboxListMustHoldStrings) {
  write("secret", kSecret);
  const std::string file = write("mailark.toml", "[app]\ntenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n"
                        "[archive]\npath = \"a\"\n[mailboxes]\nlist = [\"a@b.c\", 5]\n");
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "only strings");
}

TEST_F(ConfigTest, MissingMailboxFileIsAnError) {
  write("secret", kSecret);
  const std::string file = write(
      "mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n",
                                 "file = \"nope.txt\"\n"));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, path("nope.txt"));
}

TEST_F(ConfigTest, NoMailboxesIsAnErrorUnlessSkipped) {
  write("secret", kSecret);
  const std::string file =
      write("mailark.toml", "[app]\ntenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n"
                            "[archive]\npath = \"a\"\n");
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "no mailboxes configured");
  // An empty list and a file of only comments count as none too.
  write("boxes.txt", "# nobody yet\n\n");
  write("mailark.toml", "[app]\ntenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n"
                        "[archive]\npath = \"a\"\n[mailboxes]\nlist = []\nfile = \"boxes.txt\"\n");
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "no mailboxes configured");

  Result<Config> skipped = loadConfig(file, SecretNeed::Skip);
  ASSERT_TRUE(skipped.isOk()) << skipped.status().toString();
  ASSERT_EQ(skipped->apps.size(), 1u);
  EXPECT_TRUE(skipped->allMailboxes().empty());
}

TEST_F(ConfigTest, SecretFromEnvironment) {
  const std::string var = "MAILARK_UNIT_TEST_SECRET_" + std::to_string(::getpid());
  const std::string file = write(
      "mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_env = \"" + var + "\"\n", ""));

  ASSERT_EQ(::unsetenv(var.c_str()), 0);
  expectConfigError(loadConfig(file, SecretNeed::Load), file, var + ", but that environment variable is not set");

  ASSERT_EQ(::setenv(var.c_str(), "", 1), 0);
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "not set");

  ASSERT_EQ(::setenv(var.c_str(), kSecret, 1), 0);
  Result<Config> r = loadConfig(file, SecretNeed::Load);
  ::unsetenv(var.c_str());
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->apps.front().client_secret, kSecret);
  EXPECT_EQ(r->apps.front().client_secret_env, var);
  EXPECT_EQ(r->apps.front().client_secret_file, "");
}

// Regression: a secret pasted into client_secret_env instead of a variable
// name is refused without being echoed.
TEST_F(ConfigTest, SecretPastedIntoEnvNameIsNotEchoed) {
  const std::string file = write(
      "mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_env = \"" +
                                     std::string(kSecret) + "\"\n",
                                 ""));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "client_secret_env");
}

TEST_F(ConfigTest, SecretSkippedLeavesSecretEmpty) {
  const std::string var = "MAILARK_UNIT_TEST_UNSET_" + std::to_string(::getpid());
  ::unsetenv(var.c_str());
  const std::string file = write(
      "mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_env = \"" + var + "\"\n", ""));
  Result<Config> r = loadConfig(file, SecretNeed::Skip);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->apps.front().client_secret, "");
}

TEST_F(ConfigTest, SecretFileAndEnvTogetherAreRefused) {
  write("secret", kSecret);
  const std::string file =
      write("mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n"
                                       "client_secret_env = \"X\"\n",
                                       ""));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "not both");
}

TEST_F(ConfigTest, NoSecretSourceIsAnError) {
  const std::string file = write("mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\n", ""));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "client_secret_file or client_secret_env is required");
}

TEST_F(ConfigTest, EmptySecretFileIsAnError) {
  write("secret", "\n\r\n  \n");  // only whitespace the loader trims
  const std::string file =
      write("mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n", ""));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, path("secret") + " is empty");
}

TEST_F(ConfigTest, MissingSecretFileIsAnError) {
  const std::string file =
      write("mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"gone\"\n", ""));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, path("gone") + " cannot be read");
}

TEST_F(ConfigTest, WorldReadableSecretFileWarns) {
  write("secret", std::string(kSecret) + "\n", 0644);
  const std::string file =
      write("mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n", ""));
  Result<Config> r = loadConfig(file, SecretNeed::Load);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->apps.front().client_secret, kSecret);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find(path("secret")), std::string::npos) << r->warnings[0];
  EXPECT_NE(r->warnings[0].find("readable by other users"), std::string::npos) << r->warnings[0];
  EXPECT_EQ(r->warnings[0].find(kSecret), std::string::npos);

  // Group-readable only is not "others": no warning.
  write("secret", std::string(kSecret) + "\n", 0640);
  Result<Config> quiet = loadConfig(file, SecretNeed::Load);
  ASSERT_TRUE(quiet.isOk()) << quiet.status().toString();
  EXPECT_TRUE(quiet->warnings.empty());
}

TEST_F(ConfigTest, InlineSecretIsRefusedWithoutEchoingIt) {
  const std::string file = write(
      "mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret = \"" + std::string(kSecret) + "\"\n", ""));
  for (SecretNeed need : {SecretNeed::Load, SecretNeed::Skip}) {
    Result<Config> r = loadConfig(file, need);
    expectConfigError(r, file, "client_secret is not allowed");
    expectConfigError(r, file, "client_secret_file");
  }
}

TEST_F(ConfigTest, UnknownKeysAreNamedWithTheirLine) {
  write("secret", kSecret);
  const std::string file = write("mailark.toml",
                                 "[app]\n"                                  // 1
                                 "tenant = \"t.com\"\n"                     // 2
                                 "client_id = \"c\"\n"                      // 3
                                 "client_secret_file = \"secret\"\n"        // 4
                                 "[server]\n"                               // 5
                                 "host = \"imap.example\"\n"                // 6
                                 "prot = 143\n"                             // 7
                                 "[archive]\npath = \"a\"\n"
                                 "[mailboxes]\nlist = [\"a@b.c\"]\n");
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "unknown key \"prot\" in [server] (line 7)");

  write("mailark.toml", "colour = \"blue\"\n[archive]\npath = \"a\"\n");
  expectConfigError(loadConfig(file, SecretNeed::Skip), file, "unknown key \"colour\" (line 1)");

  write("mailark.toml", "[archive]\npath = \"a\"\n\n[limits]\nconections = 4\n");
  expectConfigError(loadConfig(file, SecretNeed::Skip), file, "unknown key \"conections\" in [limits] (line 5)");

  write("mailark.toml", "[app]\ntenant = \"t.com\"\nclientid = \"c\"\n[archive]\npath = \"a\"\n");
  expectConfigError(loadConfig(file, SecretNeed::Skip), file, "unknown key \"clientid\" in [app] (line 3)");
}

TEST_F(ConfigTest, BadPortIsRefused) {
  write("secret", kSecret);
  for (const std::string port : {"0", "65536", "-1", "\"993\"", "9.5"}) {
    SCOPED_TRACE(port);
    const std::string file = write(
        "mailark.toml", configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n",
                                   "[server]\nport = " + port + "\n"));
    expectConfigError(loadConfig(file, SecretNeed::Load), file, "[server] port must be a number from 1 to 65535");
  }
}

TEST_F(ConfigTest, MoreThanFourConnectionsPerMailboxNeedsTheExplicitOption) {
  write("secret", kSecret);
  const std::string app = "tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n";
  std::string file = write("mailark.toml", configWith(app, "[limits]\nconnections_per_mailbox = 4\n"));
  Result<Config> four = loadConfig(file, SecretNeed::Load);
  ASSERT_TRUE(four.isOk()) << four.status().toString();
  EXPECT_EQ(four->limits.connections_per_mailbox, 4u);
  EXPECT_TRUE(four->warnings.empty());

  write("mailark.toml", configWith(app, "[limits]\nconnections_per_mailbox = 6\n"));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "set allow_many_connections_per_mailbox = true");

  write("mailark.toml",
        configWith(app, "[limits]\nconnections_per_mailbox = 6\nallow_many_connections_per_mailbox = true\n"));
  Result<Config> six = loadConfig(file, SecretNeed::Load);
  ASSERT_TRUE(six.isOk()) << six.status().toString();
  EXPECT_EQ(six->limits.connections_per_mailbox, 6u);
  ASSERT_EQ(six->warnings.size(), 1u);
  EXPECT_NE(six->warnings[0].find("connections_per_mailbox = 6"), std::string::npos) << six->warnings[0];
}

TEST_F(ConfigTest, OtherNumericLimitsAreChecked) {
  write("secret", kSecret);
  const std::string app = "tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n";
  std::string file = write("mailark.toml", configWith(app, "[limits]\nconnections = 0\n"));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "[limits] connections must be a whole number from 1 to 1000");
  write("mailark.toml", configWith(app, "[imap]\nbatch_messages = 0\n"));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "[imap] batch_messages must be a whole number from 1");
  write("mailark.toml", configWith(app, "[imap]\nsplit_message_mb = -1\n"));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "[imap] split_message_mb must be a whole number from 0 to 4096");
  std::string threads = configWith(app, "");
  threads.replace(threads.find("path = "), 0, "store_threads = 65\n");
  write("mailark.toml", threads);
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "[archive] store_threads must be a whole number from 0 to 64");
  std::string grouped = configWith(app, "");
  grouped.replace(grouped.find("path = "), 0, "store_threads = 0\nsmall_message_group = 16\n");
  write("mailark.toml", grouped);
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "[archive] small_message_group needs store threads");
  write("mailark.toml", configWith(app, "[server]\ntimeout_seconds = 0\n"));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "[server] timeout_seconds");
  write("mailark.toml", configWith(app, "[server]\nhost = \"\"\n"));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "[server] host must not be empty");
  write("mailark.toml", configWith(app, "[server]\nhost = 5\n"));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "[server] host must be a string");
  write("mailark.toml", configWith(app, "[server]\nca_file = \"missing.pem\"\n"));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, path("missing.pem") + " does not exist");
}

TEST_F(ConfigTest, MultiTenantAliasesAreRefused) {
  write("secret", kSecret);
  for (const std::string tenant : {"common", "organizations", "consumers"}) {
    SCOPED_TRACE(tenant);
    const std::string file = write(
        "mailark.toml",
        configWith("tenant = \"" + tenant + "\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n", ""));
    expectConfigError(loadConfig(file, SecretNeed::Load), file, "tenant \"" + tenant + "\" cannot be used");
  }
}

TEST_F(ConfigTest, RequiredAppFields) {
  write("secret", kSecret);
  std::string file = write("mailark.toml", configWith("client_id = \"c\"\nclient_secret_file = \"secret\"\n", ""));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "[app] tenant is required");
  write("mailark.toml", configWith("tenant = \"t.com\"\nclient_secret_file = \"secret\"\n", ""));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "[app] client_id is required");
  write("mailark.toml",
        configWith("tenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n"
                   "authority = \"http://login.example\"\n",
                   ""));
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "authority must be an https:// URL");
}

TEST_F(ConfigTest, MissingArchiveSection) {
  write("secret", kSecret);
  const std::string file =
      write("mailark.toml", "[app]\ntenant = \"t.com\"\nclient_id = \"c\"\nclient_secret_file = \"secret\"\n"
                            "[mailboxes]\nlist = [\"a@b.c\"]\n");
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "missing [archive] section");
  expectConfigError(loadConfig(file, SecretNeed::Skip), file, "missing [archive] section");

  write("mailark.toml", "[archive]\n");
  expectConfigError(loadConfig(file, SecretNeed::Skip), file, "[archive] path is required");
}

TEST_F(ConfigTest, MissingAppSection) {
  const std::string file = write("mailark.toml", "[archive]\npath = \"a\"\n[mailboxes]\nlist = [\"a@b.c\"]\n");
  expectConfigError(loadConfig(file, SecretNeed::Load), file, "missing [app] section");

  Result<Config> r = loadConfig(file, SecretNeed::Skip);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->apps.size(), 1u);
  EXPECT_EQ(r->archive.path, path("a"));
  EXPECT_EQ(r->apps.front().client_secret, "");
  EXPECT_EQ(r->allMailboxes(), std::vector<std::string>{"a@b.c"});
}

TEST_F(ConfigTest, TomlSyntaxErrorGivesLine) {
  const std::string file = write("mailark.toml",
                                 "[archive]\n"         // 1
                                 "path = \"a\"\n"      // 2
                                 "\n"                  // 3
                                 "[server\n"           // 4: unterminated header
                                 "host = \"x\"\n");
  expectConfigError(loadConfig(file, SecretNeed::Skip), file, "line 4");

  write("mailark.toml", "[archive]\npath = \"unterminated\n");
  expectConfigError(loadConfig(file, SecretNeed::Skip), file, "line 2");
}

TEST_F(ConfigTest, MissingConfigFile) {
  const std::string file = path("does-not-exist.toml");
  expectConfigError(loadConfig(file, SecretNeed::Skip), file, "cannot read the config file");
}

}  // namespace
}  // namespace mailark::config
