// Issue 8: `mailark doctor` names each setup failure, provoked for real in
// the test bed (or, for "authenticated but not connected", a scripted
// server): bad secret, unknown tenant, token without the role, wrong
// audience, unknown mailbox, no FullAccess, untrusted TLS. It never prints
// the secret or the token.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <simdjson.h>

#include "tests/support/scripted_server.h"
#include "tests/support/testbed.h"

namespace mailark::test {
namespace {

struct Check {
  std::string subject, step, detail, fix, cause;
  bool ok = false;
};

struct Doctor {
  ProcessResult process;
  bool ok = false;
  std::vector<Check> checks;

  // The check of `subject` that failed (there is at most one: doctor stops
  // at the first failure of each subject); empty step when none failed.
  Check failed(const std::string& subject) const {
    for (const Check& c : checks)
      if (c.subject == subject && !c.ok) return c;
    return {};
  }
  bool passed(const std::string& subject, const std::string& step) const {
    for (const Check& c : checks)
      if (c.subject == subject && c.step == step && c.ok) return true;
    return false;
  }
};

Doctor doctor(const std::string& config, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"doctor", "--config", config, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  Doctor d;
  d.process = mailark(args);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(d.process.out).get(root), simdjson::SUCCESS) << d.process.out << d.process.err;
  EXPECT_EQ(root["ok"].get(d.ok), simdjson::SUCCESS);
  simdjson::dom::array checks;
  EXPECT_EQ(root["checks"].get(checks), simdjson::SUCCESS);
  for (simdjson::dom::element e : checks) {
    Check c;
    std::string_view subject, step, detail, fix, cause;
    EXPECT_EQ(e["subject"].get(subject), simdjson::SUCCESS);
    EXPECT_EQ(e["step"].get(step), simdjson::SUCCESS);
    EXPECT_EQ(e["ok"].get(c.ok), simdjson::SUCCESS);
    EXPECT_EQ(e["detail"].get(detail), simdjson::SUCCESS);
    EXPECT_EQ(e["fix"].get(fix), simdjson::SUCCESS);
    EXPECT_EQ(e["cause"].get(cause), simdjson::SUCCESS);
    c.subject = subject, c.step = step, c.detail = detail, c.fix = fix, c.cause = cause;
    d.checks.push_back(std::move(c));
  }
  return d;
}

class DoctorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { bed_ = new TestBed({"--mailboxes", "2", "--no-seed"}); }
  static void TearDownTestSuite() {
    delete bed_;
    bed_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(bed_->ok()) << bed_->error();
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  const BedInfo& info() const { return bed_->info(); }
  std::string archive() const { return info().dir + "/archive-" + name_; }

  std::string app(const std::string& tenant, const std::string& client_id, const std::string& secret_file,
                  const std::string& extra = "") const {
    return "tenant = \"" + tenant + "\"\nclient_id = \"" + client_id + "\"\nclient_secret_file = \"" + secret_file +
           "\"\nauthority = \"" + info().authority + "\"\n" + extra;
  }
  std::string secret() const { return readFile(info().secret_file); }

  // The secret and the token never appear in what doctor prints.
  void expectNoSecrets(const Doctor& d) const {
    std::string all = d.process.out + d.process.err;
    EXPECT_EQ(all.find(secret()), std::string::npos);
    EXPECT_EQ(all.find("eyJ"), std::string::npos) << "looks like a JWT in the output";
  }

  static TestBed* bed_;
  std::string name_;
};
TestBed* DoctorTest::bed_ = nullptr;

TEST_F(DoctorTest, HealthySetupPassesEveryStepWithExitZero) {
  std::string config = bed_->writeConfig(name_ + ".toml", archive(), info().mailboxes);
  Doctor d = doctor(config);
  EXPECT_EQ(d.process.exit_code, 0) << d.process.out;
  EXPECT_TRUE(d.ok);
  for (const char* step : {"config", "token_host", "token", "token_claims"}) EXPECT_TRUE(d.passed("app default", step)) << step;
  for (const std::string& m : info().mailboxes)
    for (const char* step : {"server_host", "authenticate", "mailbox_access", "examine_inbox"})
      EXPECT_TRUE(d.passed(m, step)) << m << " " << step;
  expectNoSecrets(d);

  // The table for people: a tick per step, no crosses.
  ProcessResult table = mailark({"doctor", "--config", config});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("\u2713 AUTHENTICATE XOAUTH2"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("\u2717"), std::string::npos) << table.out;
}

TEST_F(DoctorTest, BadSecretIsNamedWithItsAadstsCode) {
  std::string bad = info().dir + "/wrong.secret";
  std::ofstream(bad) << "not-the-secret";
  chmod(bad.c_str(), 0600);
  std::string config = bed_->writeConfig(name_ + ".toml", archive(), {info().mailboxes[0]},
                                         app(info().tenant, info().client_id, bad));
  Doctor d = doctor(config);
  EXPECT_EQ(d.process.exit_code, 1);
  EXPECT_FALSE(d.ok);
  Check c = d.failed("app default");
  EXPECT_EQ(c.step, "token");
  EXPECT_EQ(c.cause, "AADSTS7000215");
  EXPECT_NE(c.fix.find("Certificates & secrets"), std::string::npos) << c.fix;
  EXPECT_TRUE(d.passed("app default", "token_host"));
  EXPECT_EQ(d.failed(info().mailboxes[0]).step, "skipped");
  std::string all = d.process.out + d.process.err;
  EXPECT_EQ(all.find("not-the-secret"), std::string::npos);
  expectNoSecrets(d);
}

TEST_F(DoctorTest, UnknownTenantIsNamed) {
  std::string config = bed_->writeConfig(name_ + ".toml", archive(), {info().mailboxes[0]},
                                         app("nosuchtenant.test", info().client_id, info().secret_file));
  Doctor d = doctor(config);
  EXPECT_EQ(d.process.exit_code, 1);
  Check c = d.failed("app default");
  EXPECT_EQ(c.step, "token");
  EXPECT_EQ(c.cause, "AADSTS90002");
  EXPECT_NE(c.fix.find("nosuchtenant.test"), std::string::npos) << c.fix;
}

TEST_F(DoctorTest, TokenWithoutTheImapRoleIsNamed) {
  std::string config = bed_->writeConfig(name_ + ".toml", archive(), {info().mailboxes[0]},
                                         app(info().tenant, info().noimap_client_id, info().noimap_secret_file));
  Doctor d = doctor(config);
  EXPECT_EQ(d.process.exit_code, 1);
  Check c = d.failed("app default");
  EXPECT_EQ(c.step, "token_claims");
  EXPECT_EQ(c.cause, "missing_role_imap");
  EXPECT_NE(c.fix.find("IMAP.AccessAsApp"), std::string::npos);
  EXPECT_NE(c.fix.find("Grant admin consent"), std::string::npos);
  EXPECT_TRUE(d.passed("app default", "token"));
}

TEST_F(DoctorTest, WrongAudienceTokenIsRefusedAtLoginAndNamed) {
  std::string config =
      bed_->writeConfig(name_ + ".toml", archive(), {info().mailboxes[0]},
                        app(info().tenant, info().client_id, info().secret_file,
                            "scope = \"https://ps.outlook.com/.default\"\n"));
  Doctor d = doctor(config);
  EXPECT_EQ(d.process.exit_code, 1);
  EXPECT_TRUE(d.passed("app default", "token_claims"));  // Exchange accepts this audience; the bed does not
  Check c = d.failed(info().mailboxes[0]);
  EXPECT_EQ(c.step, "authenticate");
  EXPECT_EQ(c.cause, "wrong_audience");
  EXPECT_NE(c.fix.find("https://ps.outlook.com"), std::string::npos) << c.fix;
  EXPECT_NE(c.fix.find("Enterprise Application"), std::string::npos) << c.fix;
  expectNoSecrets(d);
}

TEST_F(DoctorTest, UnknownMailboxIsToldApartFromAppSetup) {
  std::string ghost = "ghost@contoso.test";
  std::string config = bed_->writeConfig(name_ + ".toml", archive(), {ghost, info().mailboxes[0]});
  Doctor d = doctor(config);
  EXPECT_EQ(d.process.exit_code, 1);
  Check c = d.failed(ghost);
  EXPECT_EQ(c.step, "authenticate");
  EXPECT_EQ(c.cause, "unknown_mailbox");
  EXPECT_NE(c.fix.find(ghost), std::string::npos);
  EXPECT_TRUE(d.passed(info().mailboxes[0], "examine_inbox"));
  EXPECT_EQ(d.failed(info().mailboxes[0]).step, "");
}

TEST_F(DoctorTest, MailboxOptionSelectsAndNamesUnconfiguredOnes) {
  std::string config = bed_->writeConfig(name_ + ".toml", archive(), info().mailboxes);
  Doctor d = doctor(config, {"--mailbox", info().mailboxes[1], "--mailbox", "nobody@contoso.test"});
  EXPECT_EQ(d.process.exit_code, 1);
  EXPECT_EQ(d.failed("nobody@contoso.test").cause, "not_configured");
  EXPECT_TRUE(d.passed(info().mailboxes[1], "examine_inbox"));
  for (const Check& c : d.checks) EXPECT_NE(c.subject, info().mailboxes[0]) << "not asked for";
}

TEST_F(DoctorTest, AuthenticatedButNotConnectedNamesFullAccessAndCasMailbox) {
  ScriptedImapServer server(*bed_, "not_connected");
  ASSERT_GT(server.port(), 0);
  std::string path = bed_->writeConfig(name_ + ".toml", archive(), {info().mailboxes[0]});
  std::string text = std::regex_replace(readFile(path), std::regex("port = [0-9]+"),
                                        "port = " + std::to_string(server.port()));
  std::ofstream(path) << text;
  Doctor d = doctor(path);
  EXPECT_EQ(d.process.exit_code, 1);
  Check c = d.failed(info().mailboxes[0]);
  EXPECT_EQ(c.step, "mailbox_access");
  EXPECT_EQ(c.cause, "not_connected");
  EXPECT_NE(c.detail.find("User is authenticated but not connected"), std::string::npos) << c.detail;
  EXPECT_NE(c.fix.find("Add-MailboxPermission"), std::string::npos);
  EXPECT_NE(c.fix.find("Set-CASMailbox"), std::string::npos);
  EXPECT_TRUE(d.passed(info().mailboxes[0], "authenticate"));
  // The one command after login was the probe; nothing was selected or fetched.
  std::string transcript = server.transcript();
  EXPECT_EQ(transcript.find("EXAMINE"), std::string::npos) << transcript;
  EXPECT_EQ(transcript.find("FETCH"), std::string::npos) << transcript;
}

TEST_F(DoctorTest, NoCaFileMeansTheTokenHostIsNotTrusted) {
  std::string config = bed_->writeConfig(name_ + ".toml", archive(), {info().mailboxes[0]}, "", "# no ca_file\n");
  Doctor d = doctor(config);
  EXPECT_EQ(d.process.exit_code, 1);
  Check c = d.failed("app default");
  EXPECT_EQ(c.step, "token_host");
  EXPECT_EQ(c.cause, "tls_untrusted");
  EXPECT_NE(c.fix.find("ca_file"), std::string::npos);
}

TEST_F(DoctorTest, PopMailboxWithoutThePopRoleIsNamed) {
  std::string path = bed_->writeConfig(name_ + ".toml", archive(), {info().mailboxes[0]},
                                        app(info().tenant, info().nopop_client_id, info().nopop_secret_file));
  std::string text = std::regex_replace(readFile(path), std::regex("list = \\["), "pop3 = [\"" + info().mailboxes[1] + "\"]\nlist = [");
  text = std::regex_replace(text, std::regex("\\[server\\]\n"), "[server]\npop3_port = " + std::to_string(info().pop3_port) + "\n");
  std::ofstream(path) << text;
  Doctor d = doctor(path);
  EXPECT_EQ(d.process.exit_code, 1);
  EXPECT_EQ(d.failed("app default").cause, "missing_role_pop");
}

TEST_F(DoctorTest, PopMailboxPassesStat) {
  std::string path = bed_->writeConfig(name_ + ".toml", archive(), {info().mailboxes[0]});
  std::string text = std::regex_replace(readFile(path), std::regex("list = \\["), "pop3 = [\"" + info().mailboxes[1] + "\"]\nlist = [");
  text = std::regex_replace(text, std::regex("\\[server\\]\n"), "[server]\npop3_port = " + std::to_string(info().pop3_port) + "\n");
  std::ofstream(path) << text;
  Doctor d = doctor(path);
  EXPECT_EQ(d.process.exit_code, 0) << d.process.out;
  EXPECT_TRUE(d.passed(info().mailboxes[1], "stat"));
  EXPECT_TRUE(d.passed(info().mailboxes[0], "examine_inbox"));
}

// "mailbox@clientID@tenantID" (HarePoint style) with only the secret in
// [app]: doctor checks the derived app and `run` archives the mailbox.
TEST_F(DoctorTest, CompatLoginFormIsSplitIntoAppAndMailbox) {
  std::string login = info().mailboxes[0] + "@" + info().client_id + "@" + info().tenant_id;
  std::string config = bed_->writeConfig(name_ + ".toml", archive(), {login},
                                         "client_secret_file = \"" + info().secret_file + "\"\nauthority = \"" +
                                             info().authority + "\"\n");
  Doctor d = doctor(config);
  EXPECT_EQ(d.process.exit_code, 0) << d.process.out << d.process.err;
  std::string app = "app " + info().client_id + "@" + info().tenant_id;
  EXPECT_TRUE(d.passed(app, "token_claims")) << d.process.out;
  EXPECT_TRUE(d.passed(info().mailboxes[0], "examine_inbox")) << d.process.out;

  bed_->deliver(info().mailboxes[0], "INBOX", 2, 11);
  ProcessResult run = mailark({"run", "--quiet", "--config", config});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("fetched:   2 messages"), std::string::npos) << run.out;
  ProcessResult ls = mailark({"ls", "--config", config, "--json"});
  EXPECT_NE(ls.out.find("\"mailbox\":\"" + info().mailboxes[0] + "\""), std::string::npos) << ls.out;
}

TEST(DoctorUntrustedImap, UntrustedMailServerCertificateIsNamed) {
  TestBed bed({"--mailboxes", "1", "--no-seed", "--untrusted-imap-cert"});
  ASSERT_TRUE(bed.ok()) << bed.error();
  std::string config = bed.writeConfig("untrusted-imap.toml", bed.info().dir + "/archive-untrusted", bed.info().mailboxes);
  Doctor d = doctor(config);
  EXPECT_EQ(d.process.exit_code, 1);
  EXPECT_TRUE(d.passed("app default", "token_claims"));
  Check c = d.failed(bed.info().mailboxes[0]);
  EXPECT_EQ(c.step, "server_host");
  EXPECT_EQ(c.cause, "tls_untrusted");
  EXPECT_NE(c.fix.find("ca_file"), std::string::npos);
}

TEST(DoctorConfig, UnreadableConfigIsACheckNotACrash) {
  std::string dir = makeTempDir("mailark-doctor-config");
  std::string path = dir + "/broken.toml";
  std::ofstream(path) << "[app\n";
  Doctor d = doctor(path);
  EXPECT_EQ(d.process.exit_code, 1);
  EXPECT_EQ(d.failed(path).step, "config");
  removeTree(dir);
}

}  // namespace
}  // namespace mailark::test
