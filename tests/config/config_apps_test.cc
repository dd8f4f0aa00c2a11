// Issue 3: several apps ([[app]]), certificate credentials, clouds and the
// permission check of credential files.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "src/config/config.h"
#include "tests/store/test_dirs.h"

namespace mailark::config {
namespace {

namespace fs = std::filesystem;

class ConfigAppsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    write("a.secret", "secret-a\n");
    write("b.secret", "secret-b\n");
    write("cert.pem", "not parsed by the config loader\n", 0644);
    write("cert.key", "not parsed by the config loader\n");
  }

  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    fs::path p = fs::path(dir_.path()) / name;
    {
      std::ofstream out(p, std::ios::binary | std::ios::trunc);
      out << text;
    }
    EXPECT_EQ(::chmod(p.c_str(), mode), 0);
    return p.string();
  }

  Result<Config> load(const std::string& text, SecretNeed need = SecretNeed::Load) {
    return loadConfig(write("mailark.toml", text), need);
  }

  testing::TempDir dir_;
};

constexpr char kArchive[] = "[archive]\npath = \"archive\"\n";

void expectError(const Result<Config>& r, const std::string& needle) {
  ASSERT_FALSE(r.isOk()) << "expected an error containing: " << needle;
  EXPECT_EQ(r.status().code(), StatusCode::Config);
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
}

TEST_F(ConfigAppsTest, TwoAppsWithOwnCredentialsServersAndMailboxes) {
  Result<Config> r = load(std::string(kArchive) +
                          "[server]\nhost = \"imap.example\"\nport = 1993\n"
                          "[[app]]\nname = \"fabrikam\"\ntenant = \"fabrikam.example\"\nclient_id = \"id-a\"\n"
                          "client_secret_file = \"a.secret\"\n"
                          "[app.mailboxes]\nlist = [\"a1@fabrikam.example\", \"a2@fabrikam.example\"]\n"
                          "[[app]]\nname = \"contoso\"\ntenant = \"contoso.example\"\nclient_id = \"id-b\"\n"
                          "certificate_file = \"cert.pem\"\nprivate_key_file = \"cert.key\"\nassertion_alg = \"RS256\"\n"
                          "[app.server]\nport = 2993\n"
                          "[app.mailboxes]\npop3 = [\"b1@contoso.example\"]\n");
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->apps.size(), 2u);
  const AppConfig& a = r->apps[0];
  const AppConfig& b = r->apps[1];
  EXPECT_EQ(a.name, "fabrikam");
  EXPECT_EQ(a.client_secret, "secret-a");
  EXPECT_EQ(a.server.host, "imap.example");
  EXPECT_EQ(a.server.port, 1993);
  ASSERT_EQ(a.mailboxes.size(), 2u);
  EXPECT_EQ(a.mailboxes[1].address, "a2@fabrikam.example");
  EXPECT_EQ(b.name, "contoso");
  EXPECT_TRUE(b.client_secret.empty());
  EXPECT_EQ(b.certificate_file, (fs::path(dir_.path()) / "cert.pem").string());
  EXPECT_EQ(b.private_key_file, (fs::path(dir_.path()) / "cert.key").string());
  EXPECT_EQ(b.assertion_alg, "RS256");
  EXPECT_EQ(b.server.host, "imap.example");  // falls back to the top-level [server]
  EXPECT_EQ(b.server.port, 2993);            // overridden
  ASSERT_EQ(b.mailboxes.size(), 1u);
  EXPECT_EQ(b.mailboxes[0].protocol, Protocol::Pop3);
  EXPECT_EQ(r->allMailboxes().size(), 3u);
}

TEST_F(ConfigAppsTest, AMailboxBelongsToOneApp) {
  Result<Config> r = load(std::string(kArchive) +
                          "[[app]]\nname = \"one\"\ntenant = \"t.example\"\nclient_id = \"a\"\nclient_secret_file = \"a.secret\"\n"
                          "[app.mailboxes]\nlist = [\"x@t.example\"]\n"
                          "[[app]]\nname = \"two\"\ntenant = \"t.example\"\nclient_id = \"b\"\nclient_secret_file = \"b.secret\"\n"
                          "[app.mailboxes]\nlist = [\"y@t.example\", \"x@t.example\"]\n");
  expectError(r, "\"x@t.example\"");
  expectError(r, "listed under both [[app]] one and two");
}

TEST_F(ConfigAppsTest, AppsNeedUniqueNames) {
  std::string app = "[[app]]\nname = \"same\"\ntenant = \"t.example\"\nclient_id = \"a\"\nclient_secret_file = \"a.secret\"\n"
                    "[app.mailboxes]\nlist = [\"%@t.example\"]\n";
  std::string one = app, two = app;
  one.replace(one.find('%'), 1, "p");
  two.replace(two.find('%'), 1, "q");
  expectError(load(std::string(kArchive) + one + two), "name \"same\" is used twice");
  expectError(load(std::string(kArchive) +
                   "[[app]]\ntenant = \"t.example\"\nclient_id = \"a\"\nclient_secret_file = \"a.secret\"\n"),
              "needs a name");
}

TEST_F(ConfigAppsTest, MixingAppFormsOrTopLevelMailboxesIsAnError) {
  Result<Config> mixed = load(std::string(kArchive) +
                              "[app]\ntenant = \"t.example\"\nclient_id = \"a\"\nclient_secret_file = \"a.secret\"\n"
                              "[[app]]\nname = \"x\"\n");
  ASSERT_FALSE(mixed.isOk());
  EXPECT_EQ(mixed.status().code(), StatusCode::Config);
  expectError(load(std::string(kArchive) + "[mailboxes]\nlist = [\"a@t.example\"]\n"
                   "[[app]]\nname = \"x\"\ntenant = \"t.example\"\nclient_id = \"a\"\nclient_secret_file = \"a.secret\"\n"),
              "[mailboxes] cannot be used with [[app]]");
}

TEST_F(ConfigAppsTest, CloudPicksEndpointsAndExplicitKeysOverride) {
  std::string base = std::string(kArchive) + "[mailboxes]\nlist = [\"a@t.example\"]\n";
  Result<Config> gov = load(base + "[app]\ntenant = \"t.example\"\nclient_id = \"a\"\nclient_secret_file = \"a.secret\"\n"
                                   "cloud = \"usgov\"\n");
  ASSERT_TRUE(gov.isOk()) << gov.status().toString();
  EXPECT_EQ(gov->apps[0].authority, "https://login.microsoftonline.us");
  EXPECT_EQ(gov->apps[0].scope, "https://outlook.office365.us/.default");
  EXPECT_EQ(gov->apps[0].server.host, "outlook.office365.us");

  Result<Config> china = load(base + "[app]\ntenant = \"t.example\"\nclient_id = \"a\"\nclient_secret_file = \"a.secret\"\n"
                                     "cloud = \"china\"\nauthority = \"https://login.chinacloudapi.cn/\"\n"
                                     "[server]\nhost = \"imap.example\"\n");
  ASSERT_TRUE(china.isOk()) << china.status().toString();
  EXPECT_EQ(china->apps[0].authority, "https://login.chinacloudapi.cn");
  EXPECT_EQ(china->apps[0].scope, "https://partner.outlook.cn/.default");
  EXPECT_EQ(china->apps[0].server.host, "imap.example");

  Result<Config> global = load(base + "[app]\ntenant = \"t.example\"\nclient_id = \"a\"\nclient_secret_file = \"a.secret\"\n");
  ASSERT_TRUE(global.isOk());
  EXPECT_EQ(global->apps[0].authority, "https://login.microsoftonline.com");
  EXPECT_EQ(global->apps[0].server.host, "outlook.office365.com");

  expectError(load(base + "[app]\ntenant = \"t.example\"\nclient_id = \"a\"\nclient_secret_file = \"a.secret\"\n"
                          "cloud = \"mars\"\n"),
              "cloud \"mars\" is not known");
}

TEST_F(ConfigAppsTest, CertificateKeysAreCheckedTogether) {
  std::string base = std::string(kArchive) + "[mailboxes]\nlist = [\"a@t.example\"]\n[app]\ntenant = \"t.example\"\nclient_id = \"a\"\n";
  expectError(load(base + "certificate_file = \"cert.pem\"\n"), "need both certificate_file and private_key_file");
  expectError(load(base + "certificate_file = \"cert.pem\"\nprivate_key_file = \"cert.key\"\nclient_secret_file = \"a.secret\"\n"),
              "not both");
  expectError(load(base + "certificate_file = \"none.pem\"\nprivate_key_file = \"cert.key\"\n"), "does not exist");
  expectError(load(base + "certificate_file = \"cert.pem\"\nprivate_key_file = \"cert.key\"\nassertion_alg = \"HS256\"\n"),
              "assertion_alg");
  Result<Config> ok = load(base + "certificate_file = \"cert.pem\"\nprivate_key_file = \"cert.key\"\n");
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  EXPECT_EQ(ok->apps[0].assertion_alg, "PS256");
  EXPECT_TRUE(ok->warnings.empty());
}

TEST_F(ConfigAppsTest, WorldReadableKeyWarnsOrIsRefusedWithStrictPermissions) {
  write("cert.key", "key\n", 0644);
  std::string base = std::string(kArchive) + "[mailboxes]\nlist = [\"a@t.example\"]\n[app]\ntenant = \"t.example\"\nclient_id = \"a\"\n"
                     "certificate_file = \"cert.pem\"\nprivate_key_file = \"cert.key\"\n";
  Result<Config> warn = load(base);
  ASSERT_TRUE(warn.isOk()) << warn.status().toString();
  ASSERT_EQ(warn->warnings.size(), 1u);
  EXPECT_NE(warn->warnings[0].find("private_key_file"), std::string::npos) << warn->warnings[0];
  EXPECT_NE(warn->warnings[0].find("readable by other users"), std::string::npos) << warn->warnings[0];
  expectError(load(base + "strict_permissions = true\n"), "refused because strict_permissions = true");

  write("a.secret", "secret-a\n", 0604);
  expectError(load(std::string(kArchive) + "[mailboxes]\nlist = [\"a@t.example\"]\n[app]\ntenant = \"t.example\"\n"
                   "client_id = \"a\"\nclient_secret_file = \"a.secret\"\nstrict_permissions = true\n"),
              "client_secret_file");
}

}  // namespace
}  // namespace mailark::config
