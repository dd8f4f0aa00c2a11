// Config keys added for POP3: [server] pop3_port, [mailboxes] pop3 and
// [mailboxes] protocol.
#include <gtest/gtest.h>

#include <fstream>

#include "src/config/config.h"
#include "tests/store/test_dirs.h"

namespace mailark::config {
namespace {

using mailark::testing::TempDir;

Result<Config> load(const TempDir& dir, const std::string& body) {
  std::string path = dir.path() + "/mailark.toml";
  std::ofstream(path) << "[archive]\npath = \"a\"\n" << body;
  return loadConfig(path, SecretNeed::Skip);
}

TEST(Pop3Config, MixedMailboxesAndPort) {
  TempDir dir;
  Result<Config> c = load(dir, "[server]\npop3_port = 1995\n[mailboxes]\nlist = [\"i@x.test\"]\npop3 = [\"p@x.test\"]\n");
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  const AppConfig& app = c->apps.front();
  EXPECT_EQ(app.server.pop3_port, 1995);
  EXPECT_EQ(app.server.port, 993);
  ASSERT_EQ(app.mailboxes.size(), 2u);
  for (const MailboxSpec& m : app.mailboxes)
    EXPECT_EQ(m.protocol, m.address == "p@x.test" ? Protocol::Pop3 : Protocol::Imap) << m.address;
}

TEST(Pop3Config, DefaultsAndProtocolKey) {
  TempDir dir;
  Result<Config> c = load(dir, "[mailboxes]\nprotocol = \"pop3\"\nlist = [\"p@x.test\"]\n");
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->apps.front().server.pop3_port, 995);
  ASSERT_EQ(c->apps.front().mailboxes.size(), 1u);
  EXPECT_EQ(c->apps.front().mailboxes[0].protocol, Protocol::Pop3);
}

TEST(Pop3Config, BadValuesAreConfigErrors) {
  TempDir dir;
  for (const char* body : {"[server]\npop3_port = 0\n", "[mailboxes]\nprotocol = \"smtp\"\n",
                           "[mailboxes]\npop3 = \"p@x.test\"\n",
                           "[mailboxes]\nlist = [\"p@x.test\"]\npop3 = [\"p@x.test\"]\n"}) {
    Result<Config> c = load(dir, body);
    ASSERT_FALSE(c.isOk()) << body;
    EXPECT_EQ(c.status().code(), StatusCode::Config) << body;
  }
}

}  // namespace
}  // namespace mailark::config
