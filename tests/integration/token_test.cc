// Issue 3: app-only OAuth through the mailark binary against the test bed's
// fake Entra endpoint and the real Dovecot: `mailark token`, configuration
// AADSTS codes, retries inside a run, certificate credentials, two apps in
// one config, and a run that outlasts 30-second tokens.
#include <gtest/gtest.h>
#include <unistd.h>
#include <signal.h>
#include <regex>
#include <chrono>
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/support/testbed.h"

namespace mailark::test {
namespace {

std::string field(const std::string& dir, const char* key) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view v;
  if (parser.parse(readFile(dir + "/testbed.json")).get(doc) || doc[key].get(v)) return "";
  return std::string(v);
}

// Talks to the endpoint's test hooks with the curl tool.
std::string hook(const BedInfo& bed, const std::string& path, const std::string& post = "") {
  std::vector<std::string> argv = {"/usr/bin/curl", "-s", "--cacert", bed.ca_file};
  if (!post.empty()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "-d", post});
  argv.push_back(bed.authority + path);
  ProcessResult r = runProcess(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

struct Stats {
  int64_t token_requests = -1, tokens_issued = -1, injected_failures = -1;
  std::map<std::string, int64_t> by_client;
  std::vector<double> times;
  std::vector<int64_t> statuses;
};

Stats stats(const BedInfo& bed) {
  std::string body = hook(bed, "/_stats");
  Stats s;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(body).get(doc), simdjson::SUCCESS) << body;
  EXPECT_EQ(doc["token_requests"].get(s.token_requests), simdjson::SUCCESS);
  EXPECT_EQ(doc["tokens_issued"].get(s.tokens_issued), simdjson::SUCCESS);
  EXPECT_EQ(doc["injected_failures"].get(s.injected_failures), simdjson::SUCCESS);
  simdjson::dom::object by;
  if (doc["by_client"].get(by) == simdjson::SUCCESS)
    for (auto [k, v] : by) s.by_client[std::string(k)] = v.get_int64().value_unsafe();
  simdjson::dom::array reqs;
  if (doc["requests"].get(reqs) == simdjson::SUCCESS) {
    for (simdjson::dom::element e : reqs) {
      s.times.push_back(e.at(0).get_double().value_unsafe());
      s.statuses.push_back(e.at(2).get_int64().value_unsafe());
    }
  }
  return s;
}

void reset(const BedInfo& bed, const std::string& extra = "") {
  std::string body = R"({"reset_stats":true,"fail_next":0,"fail_code":0,"delay_ms":0)" +
                     (extra.empty() ? "" : "," + extra) + "}";
  EXPECT_NE(hook(bed, "/_config", body).find("ok"), std::string::npos);
}

class TokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { bed_ = new TestBed({"--mailboxes", "6"}); }
  static void TearDownTestSuite() {
    delete bed_;
    bed_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(bed_->ok()) << bed_->error();
    reset(bed_->info());
    archive_ = bed_->info().dir + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  std::string appSection(const std::string& client_id, const std::string& secret_file) const {
    const BedInfo& b = bed_->info();
    return "tenant = \"" + b.tenant + "\"\nclient_id = \"" + client_id + "\"\nclient_secret_file = \"" +
           secret_file + "\"\nauthority = \"" + b.authority + "\"\n";
  }

  std::string certApp(const std::string& name, bool wrong, const std::vector<std::string>& mailboxes) const {
    const BedInfo& b = bed_->info();
    std::string c = "[[app]]\nname = \"" + name + "\"\ntenant = \"" + b.tenant_id + "\"\nclient_id = \"" +
                    field(b.dir, "cert_client_id") + "\"\nauthority = \"" + b.authority + "\"\n";
    c += "certificate_file = \"" + field(b.dir, wrong ? "cert_wrong_certificate_file" : "cert_certificate_file") + "\"\n";
    c += "private_key_file = \"" + field(b.dir, wrong ? "cert_wrong_key_file" : "cert_private_key_file") + "\"\n";
    c += "[app.mailboxes]\nlist = [";
    for (size_t i = 0; i < mailboxes.size(); ++i) c += (i ? ", \"" : "\"") + mailboxes[i] + "\"";
    return c + "]\n";
  }

  std::string secretApp(const std::string& name, const std::vector<std::string>& mailboxes) const {
    const BedInfo& b = bed_->info();
    std::string c = "[[app]]\nname = \"" + name + "\"\n" + appSection(b.client_id, b.secret_file);
    c += "[app.mailboxes]\nlist = [";
    for (size_t i = 0; i < mailboxes.size(); ++i) c += (i ? ", \"" : "\"") + mailboxes[i] + "\"";
    return c + "]\n";
  }

  std::string writeMultiConfig(const std::string& name, const std::string& apps) const {
    const BedInfo& b = bed_->info();
    std::string text = "[server]\nhost = \"localhost\"\nport = " + std::to_string(b.imap_port) + "\nca_file = \"" +
                       b.ca_file + "\"\n[archive]\npath = \"" + archive_ + "\"\n" + apps;
    std::string path = b.dir + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  static TestBed* bed_;
  std::string archive_;
};
TestBed* TokenTest::bed_ = nullptr;

TEST_F(TokenTest, ReportsRolesAndExpiryButNeverTheToken) {
  const BedInfo& b = bed_->info();
  std::string config = bed_->writeConfig("main.toml", archive_, {b.mailboxes[0]});
  ProcessResult r = mailark({"token", "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("client id:  " + b.client_id), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("aud:        https://outlook.office365.com"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("roles:      IMAP.AccessAsApp, POP.AccessAsApp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expires:    "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("oid:        "), std::string::npos) << r.out;

  ProcessResult printed = mailark({"token", "--config", config, "--print"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  std::string token = printed.out.substr(0, printed.out.find('\n'));
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2) << "not a JWT";
  EXPECT_EQ(printed.out, token + "\n");
  EXPECT_EQ(r.out.find(token.substr(0, 40)), std::string::npos) << "report leaked the token";
  EXPECT_EQ((r.out + r.err).find(token.substr(token.size() - 40)), std::string::npos);
}

TEST_F(TokenTest, WarnsWhenImapRoleIsMissing) {
  const BedInfo& b = bed_->info();
  std::string config = bed_->writeConfig("noimap.toml", archive_, {b.mailboxes[0]},
                                         appSection(b.noimap_client_id, b.noimap_secret_file));
  ProcessResult r = mailark({"token", "--config", config});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("roles:      (none)"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("has no IMAP.AccessAsApp role"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Grant admin consent"), std::string::npos) << r.err;
}

TEST_F(TokenTest, ConfigurationCodesGiveTheirHintAndFailWithoutRetry) {
  const BedInfo& b = bed_->info();
  std::string config = bed_->writeConfig("codes.toml", archive_, {b.mailboxes[0]});
  const std::map<int, std::string> hints = {
      {7000215, "copy the secret's Value"}, {7000222, "create a new one"},  {700016, "not found in tenant"},
      {90002, "check the tenant id/domain and the cloud"}, {500011, "grant admin consent"},
      {65001, "Grant admin consent"}, {700027, "upload the right certificate"}, {7000112, "is disabled in tenant"},
      {70011, "invalid scope"}, {700022, "invalid scope"}};
  for (const auto& [code, hint] : hints) {
    reset(b, "\"fail_next\":5,\"fail_code\":" + std::to_string(code));
    ProcessResult r = mailark({"token", "--config", config});
    EXPECT_EQ(r.exit_code, 2) << code << r.out << r.err;
    EXPECT_NE(r.err.find("AADSTS" + std::to_string(code)), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(hint), std::string::npos) << r.err;
    EXPECT_EQ(stats(b).token_requests, 1) << "AADSTS" << code << " was retried";
  }
  // `run` stops the same way: non-zero, no retry.
  reset(b, "\"fail_next\":5,\"fail_code\":7000222");
  ProcessResult run = mailark({"run", "--config", config});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("AADSTS7000222"), std::string::npos) << run.err;
  EXPECT_EQ(stats(b).token_requests, 1);
}

TEST_F(TokenTest, RunHonoursRetryAfterAndSurvivesA500Burst) {
  const BedInfo& b = bed_->info();
  std::string config = bed_->writeConfig("retry.toml", archive_, {b.mailboxes[0], b.mailboxes[1]});
  reset(b, "\"fail_next\":1,\"fail_status\":429,\"retry_after\":2");
  ProcessResult r = mailark({"run", "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Stats s = stats(b);
  ASSERT_EQ(s.times.size(), 2u);
  EXPECT_EQ(s.statuses[0], 429);
  EXPECT_EQ(s.statuses[1], 200);
  EXPECT_GE(s.times[1] - s.times[0], 2.0) << "retried before Retry-After";

  reset(b, "\"fail_next\":3,\"fail_status\":500");
  ProcessResult burst = mailark({"run", "--config", config});
  ASSERT_EQ(burst.exit_code, 0) << burst.out << burst.err;
  s = stats(b);
  EXPECT_EQ(s.injected_failures, 3);
  EXPECT_EQ(s.tokens_issued, 1);
  ASSERT_EQ(s.times.size(), 4u);
  // Backoff grows: each wait is at least half of 1, 2, 4 s.
  EXPECT_GE(s.times[1] - s.times[0], 0.5);
  EXPECT_GE(s.times[2] - s.times[1], 1.0);
  EXPECT_GE(s.times[3] - s.times[2], 2.0);
  EXPECT_NE(burst.out.find("mailboxes: 2 ok, 0 failed"), std::string::npos) << burst.out;
}

TEST_F(TokenTest, TwoAppsArchiveTheirOwnMailboxesWithTheirOwnTokens) {
  const BedInfo& b = bed_->info();
  std::vector<std::string> first(b.mailboxes.begin(), b.mailboxes.begin() + 3);
  std::vector<std::string> second(b.mailboxes.begin() + 3, b.mailboxes.end());
  std::string config = writeMultiConfig("two.toml", secretApp("fabrikam", first) + certApp("contoso", false, second));
  ProcessResult r = mailark({"run", "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("mailboxes: 6 ok, 0 failed"), std::string::npos) << r.out;
  Stats s = stats(b);
  EXPECT_EQ(s.by_client[b.client_id], 1);
  EXPECT_EQ(s.by_client[field(b.dir, "cert_client_id")], 1);
  ProcessResult ls = mailark({"ls", "--config", config, "--mailbox", second[0]});
  EXPECT_EQ(ls.exit_code, 0);
  EXPECT_FALSE(ls.out.empty());

  ProcessResult tokens = mailark({"token", "--config", config});
  EXPECT_EQ(tokens.exit_code, 0) << tokens.err;
  EXPECT_NE(tokens.out.find("app:        fabrikam"), std::string::npos) << tokens.out;
  EXPECT_NE(tokens.out.find("app:        contoso"), std::string::npos) << tokens.out;
  ProcessResult one = mailark({"token", "--config", config, "--app", "contoso"});
  EXPECT_EQ(one.out.find("fabrikam"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("client id:  " + field(b.dir, "cert_client_id")), std::string::npos) << one.out;
}

TEST_F(TokenTest, WrongCertificateFailsOnlyThatAppsMailboxesWith700027) {
  const BedInfo& b = bed_->info();
  std::vector<std::string> first(b.mailboxes.begin(), b.mailboxes.begin() + 2);
  std::vector<std::string> second(b.mailboxes.begin() + 2, b.mailboxes.begin() + 4);
  std::string config = writeMultiConfig("wrong.toml", secretApp("good", first) + certApp("bad", true, second));
  ProcessResult r = mailark({"run", "--config", config});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("mailboxes: 2 ok, 2 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("AADSTS700027"), std::string::npos) << r.err;
  EXPECT_EQ(stats(b).by_client[field(b.dir, "cert_client_id")], 1) << "700027 was retried";
}

// A run longer than the 30-second token lifetime, made long by a slowed
// server rather than by the machine's speed: testbed_shaper adds 300 ms to
// every round trip, and one connection at a time archives 5 mailboxes of
// ~25 round trips each (>= 35 s whatever the CPU). Every mailbox must log in
// (no expired token), and the endpoint must see refreshes issued before the
// previous token expired.
TEST(TokenLifetime, RunOutlastingThirtySecondTokensRefreshesAhead) {
  TestBed bed({"--mailboxes", "5", "--token-lifetime", "30"});
  ASSERT_TRUE(bed.ok()) << bed.error();
  const BedInfo& b = bed.info();
  std::string port_file = b.dir + "/shaper.port";
  int shaper = startProcess({MAILARK_SHAPER_BIN, "--target", "127.0.0.1:" + std::to_string(b.imap_port), "--rtt-ms",
                             "300", "--mbit", "200", "--port-file", port_file});
  ASSERT_GT(shaper, 0);
  for (int i = 0; i < 500 && readFile(port_file).empty(); ++i) usleep(10000);
  std::string slow_port = readFile(port_file);
  ASSERT_FALSE(slow_port.empty());
  std::string config = bed.writeConfig("long.toml", b.dir + "/archive-long", b.mailboxes);
  std::string text = readFile(config);
  text = std::regex_replace(text, std::regex("port = [0-9]+"), "port = " + slow_port);
  std::ofstream(config) << text << "[limits]\nconnections = 1\n";
  reset(b);
  auto started = std::chrono::steady_clock::now();
  ProcessResult r = mailark({"run", "--config", config});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  kill(shaper, SIGTERM);
  waitForExit(shaper);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("mailboxes: 5 ok, 0 failed"), std::string::npos) << r.out;
  ASSERT_GT(seconds, 30.0) << "the shaped run must outlast one token";
  Stats s = stats(b);
  ASSERT_GE(s.times.size(), 2u) << "no refresh during a " << seconds << " s run";
  EXPECT_EQ(s.tokens_issued, static_cast<int64_t>(s.times.size()));
  for (size_t i = 1; i < s.times.size(); ++i)
    EXPECT_LT(s.times[i] - s.times[i - 1], 30.0) << "refresh " << i << " came after the token expired";
  std::printf("token requests during a %.1f s run: %zu\n", seconds, s.times.size());
}

}  // namespace
}  // namespace mailark::test
