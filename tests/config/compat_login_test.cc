// Issue 8: "mailbox@clientID@tenantID" logins (HarePoint Workflow Extensions
// and similar tools) are split into an app and a mailbox; the secret still
// comes from client_secret_file / client_secret_env.
#include "src/config/compat_login.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "src/config/config.h"

namespace mailark::config {
namespace {

const char* kClient = "11111111-2222-3333-4444-555555555555";
const char* kClient2 = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const char* kTenantId = "99999999-8888-7777-6666-555555555555";

TEST(CompatLoginTest, SplitTable) {
  struct Case {
    std::string in;
    bool ok;
    std::string mailbox, client, tenant;
  } cases[] = {
      {std::string("user@contoso.com@") + kClient + "@" + kTenantId, true, "user@contoso.com", kClient, kTenantId},
      {std::string("user@contoso.com@") + kClient + "@contoso.onmicrosoft.com", true, "user@contoso.com", kClient,
       "contoso.onmicrosoft.com"},
      {std::string("USER@Contoso.com@") + "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE@" + kTenantId, true, "USER@Contoso.com",
       "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE", kTenantId},
      {"user@contoso.com", false, "", "", ""},
      {"a@b@c@d.com", false, "", "", ""},                                          // client part not a GUID
      {std::string("user@contoso.com@") + kClient + "@", false, "", "", ""},       // no tenant
      {std::string("user@contoso.com@") + kClient + "@nodot", false, "", "", ""},  // tenant neither GUID nor domain
      {std::string("@") + kClient + "@" + kTenantId, false, "", "", ""},           // no mailbox
      {std::string("user@") + kClient + "@" + kTenantId, false, "", "", ""},       // mailbox without domain
      {std::string("a@b@c.com@") + kClient + "@" + kTenantId, false, "", "", ""},  // too many '@'
      {std::string("user@contoso.com@") + "1111111-2222-3333-4444-5555555555550@" + kTenantId, false, "", "", ""},
  };
  for (const Case& c : cases) {
    std::optional<CompatLogin> got = parseCompatLogin(c.in);
    ASSERT_EQ(got.has_value(), c.ok) << c.in;
    if (!got) continue;
    EXPECT_EQ(got->mailbox, c.mailbox);
    EXPECT_EQ(got->client_id, c.client);
    EXPECT_EQ(got->tenant, c.tenant);
  }
}

class CompatConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mailark-compat-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/secret") << "s3cr3t-value";
    chmod((dir_ + "/secret").c_str(), 0600);
  }
  void TearDown() override {
    unlink((dir_ + "/secret").c_str());
    unlink((dir_ + "/mailark.toml").c_str());
    rmdir(dir_.c_str());
  }
  std::string write(const std::string& text) {
    std::string path = dir_ + "/mailark.toml";
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(CompatConfigTest, LoginsWithoutAppIdsBecomeOneAppPerClientAndTenant) {
  std::string file = write(std::string("[app]\nclient_secret_file = \"secret\"\n[archive]\npath = \"a\"\n") +
                           "[mailboxes]\nlist = [\"u1@contoso.com@" + kClient + "@" + kTenantId + "\", \"u2@contoso.com@" +
                           kClient + "@" + kTenantId + "\", \"u3@fabrikam.com@" + kClient2 + "@fabrikam.com\"]\n");
  Result<Config> cfg = loadConfig(file, SecretNeed::Load);
  ASSERT_TRUE(cfg.isOk()) << cfg.status().message();
  ASSERT_EQ(cfg->apps.size(), 2u);  // the id-less [app] only carried the secret
  const AppConfig& a = cfg->apps[0];
  EXPECT_EQ(a.client_id, kClient);
  EXPECT_EQ(a.tenant, kTenantId);
  EXPECT_EQ(a.client_secret, "s3cr3t-value");
  ASSERT_EQ(a.mailboxes.size(), 2u);
  EXPECT_EQ(a.mailboxes[0].address, "u1@contoso.com");
  EXPECT_EQ(a.mailboxes[1].address, "u2@contoso.com");
  const AppConfig& b = cfg->apps[1];
  EXPECT_EQ(b.client_id, kClient2);
  EXPECT_EQ(b.tenant, "fabrikam.com");
  EXPECT_EQ(b.client_secret, "s3cr3t-value");
  ASSERT_EQ(b.mailboxes.size(), 1u);
  EXPECT_EQ(b.mailboxes[0].address, "u3@fabrikam.com");
  EXPECT_NE(a.name, b.name);
}

TEST_F(CompatConfigTest, LoginOfTheConfiguredAppJoinsIt) {
  std::string file = write(std::string("[app]\ntenant = \"") + kTenantId + "\"\nclient_id = \"" + kClient +
                           "\"\nclient_secret_file = \"secret\"\n[archive]\npath = \"a\"\n"
                           "[mailboxes]\nlist = [\"plain@contoso.com\", \"u1@contoso.com@" + kClient + "@" + kTenantId +
                           "\", \"plain@contoso.com@" + kClient + "@" + kTenantId + "\"]\n");
  Result<Config> cfg = loadConfig(file, SecretNeed::Load);
  ASSERT_TRUE(cfg.isOk()) << cfg.status().message();
  ASSERT_EQ(cfg->apps.size(), 1u);
  ASSERT_EQ(cfg->apps[0].mailboxes.size(), 2u);  // the duplicate "plain" login collapses
  EXPECT_EQ(cfg->apps[0].mailboxes[0].address, "plain@contoso.com");
  EXPECT_EQ(cfg->apps[0].mailboxes[1].address, "u1@contoso.com");
}

TEST_F(CompatConfigTest, PlainMailboxesStillNeedTheAppIds) {
  std::string file = write("[app]\nclient_secret_file = \"secret\"\n[archive]\npath = \"a\"\n"
                           "[mailboxes]\nlist = [\"plain@contoso.com\"]\n");
  Result<Config> cfg = loadConfig(file, SecretNeed::Load);
  ASSERT_FALSE(cfg.isOk());
  EXPECT_EQ(cfg.status().code(), StatusCode::Config);
  EXPECT_NE(cfg.status().message().find("tenant is required"), std::string::npos) << cfg.status().message();
  EXPECT_EQ(cfg.status().message().find("s3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace mailark::config
