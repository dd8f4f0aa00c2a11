// Issue 4: a scripted, misbehaving IMAP server (tests/fakes) drives the
// failure paths a real server cannot be made to take on demand. Tokens come
// from the real test bed's fake Entra endpoint; the IMAP side is scripted.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/scripted_server.h"
#include "tests/support/testbed.h"

namespace mailark::test {
namespace {

namespace fs = std::filesystem;

using ScriptedServer = ScriptedImapServer;

struct Outcome {
  ProcessResult run;
  std::vector<uint32_t> uids;  // archived, ascending
};

class MisbehavingServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { bed_ = new TestBed({"--mailboxes", "1", "--no-seed"}); }
  static void TearDownTestSuite() {
    delete bed_;
    bed_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(bed_->ok()) << bed_->error();
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    archive_ = bed_->info().dir + "/" + name_;
  }

  std::string config(const ScriptedServer& server, std::vector<std::string> mailboxes = {}) {
    if (mailboxes.empty()) mailboxes = {bed_->info().mailboxes[0]};
    std::string extra = "ca_file = \"" + bed_->info().ca_file + "\"\n";
    std::string path = bed_->writeConfig(name_ + ".toml", archive_, mailboxes, "", extra);
    // Point [server] at the scripted server instead of Dovecot.
    std::string text = readFile(path);
    text = std::regex_replace(text, std::regex("port = [0-9]+"), "port = " + std::to_string(server.port()));
    std::ofstream(path) << text;
    return path;
  }

  Outcome run(const std::string& cfg) {
    Outcome o;
    o.run = mailark({"run", "--config", cfg});
    ProcessResult ls = mailark({"ls", "--config", cfg});
    std::istringstream lines(ls.out);
    std::string line;
    while (std::getline(lines, line)) {
      std::vector<std::string> f;
      std::stringstream ss(line);
      std::string field;
      while (std::getline(ss, field, '\t')) f.push_back(field);
      if (f.size() >= 4) o.uids.push_back(static_cast<uint32_t>(std::stoul(f[3])));
    }
    std::sort(o.uids.begin(), o.uids.end());
    return o;
  }

  // Nothing half-written is left in the store's scratch space.
  void expectNoPartialFiles() {
    if (fs::exists(archive_ + "/tmp")) {
      EXPECT_TRUE(fs::is_empty(archive_ + "/tmp"));
    }
  }

  static TestBed* bed_;
  std::string name_;
  std::string archive_;
};

TestBed* MisbehavingServer::bed_ = nullptr;

const std::vector<uint32_t> kAll = {1, 2, 3};

TEST_F(MisbehavingServer, NormalServerReadOnlyCommandsOnly) {
  ScriptedServer server(*bed_, "normal");
  Outcome o = run(config(server));
  ASSERT_EQ(o.run.exit_code, 0) << o.run.err;
  EXPECT_EQ(o.uids, kAll);
  std::string t = server.transcript();
  EXPECT_NE(t.find("EXAMINE"), std::string::npos);
  EXPECT_NE(t.find("BODY.PEEK[]"), std::string::npos);
  // Never anything that could change the mailbox or set \Seen.
  for (const char* forbidden : {" SELECT ", " STORE ", " EXPUNGE", " COPY ", " MOVE ", "BODY[]"})
    EXPECT_EQ(t.find(forbidden), std::string::npos) << forbidden;
}

TEST_F(MisbehavingServer, ThrottledFetchIsWaitedOutAndRetried) {
  ScriptedServer server(*bed_, "throttle");
  Outcome o = run(config(server));
  ASSERT_EQ(o.run.exit_code, 0) << o.run.err;
  EXPECT_EQ(o.uids, kAll);
  EXPECT_NE(o.run.err.find("throttled"), std::string::npos) << o.run.err;
  // The same body fetch was sent twice, at least the suggested 1200 ms apart.
  std::vector<double> times;
  std::istringstream lines(server.transcript());
  std::string line;
  while (std::getline(lines, line))
    if (line.find("BODY.PEEK[]") != std::string::npos) times.push_back(std::stod(line));
  ASSERT_EQ(times.size(), 2u);
  EXPECT_GE(times[1] - times[0], 1.2);
}

// EXAMINE and the UID listing go in one flight (STATUS gave the
// UIDVALIDITY). A throttled EXAMINE is resent later, so the listing is
// answered first, possibly against no selected folder: it must not count,
// and the folder is listed again after the EXAMINE that did succeed.
TEST_F(MisbehavingServer, ThrottledExamineInOneFlightIsListedAgainAfterIt) {
  ScriptedServer server(*bed_, "throttle_examine");
  Outcome o = run(config(server));
  ASSERT_EQ(o.run.exit_code, 0) << o.run.err;
  EXPECT_EQ(o.uids, kAll);
  std::vector<std::string> commands;  // EXAMINE and listings, in order
  std::istringstream lines(server.transcript());
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" EXAMINE ") != std::string::npos) commands.push_back("EXAMINE");
    if (line.find("(UID RFC822.SIZE)") != std::string::npos) commands.push_back("LIST-UIDS");
  }
  // Sent together, EXAMINE throttled; EXAMINE again; then a fresh listing.
  EXPECT_EQ(commands, (std::vector<std::string>{"EXAMINE", "LIST-UIDS", "EXAMINE", "LIST-UIDS"}));
}

TEST_F(MisbehavingServer, ByeMidLiteralReconnectsAndCompletesWithoutDuplicates) {
  ScriptedServer server(*bed_, "bye_mid_literal");
  std::string cfg = config(server);
  Outcome first = run(cfg);
  // The connection dies inside message 3's literal: the half-received bytes
  // are dropped, the job reconnects and fetches just what is missing.
  EXPECT_EQ(first.run.exit_code, 0) << first.run.err;
  EXPECT_NE(first.run.err.find("reconnecting"), std::string::npos) << first.run.err;
  EXPECT_EQ(first.uids, kAll);
  EXPECT_NE(first.run.out.find("fetched:   3 messages"), std::string::npos) << first.run.out;
  expectNoPartialFiles();
  std::string t = server.transcript();
  EXPECT_NE(t.find("UID FETCH 3 (UID INTERNALDATE FLAGS BODY.PEEK[])"), std::string::npos) << t;
  Outcome second = run(cfg);
  ASSERT_EQ(second.run.exit_code, 0) << second.run.err;
  EXPECT_EQ(second.uids, kAll);
  EXPECT_NE(second.run.out.find("fetched:   0 messages"), std::string::npos) << second.run.out;
}

TEST_F(MisbehavingServer, SilentlyOmittedUidIsAskedForAgain) {
  ScriptedServer server(*bed_, "omit_uid");
  std::string cfg = config(server);
  Outcome first = run(cfg);
  EXPECT_EQ(first.run.exit_code, 0) << first.run.err;
  EXPECT_EQ(first.uids, kAll);
  // The FETCH that came back without UID 2 is followed by one for just UID 2.
  EXPECT_NE(server.transcript().find("UID FETCH 2 (UID INTERNALDATE FLAGS BODY.PEEK[])"), std::string::npos);
  Outcome second = run(cfg);
  ASSERT_EQ(second.run.exit_code, 0) << second.run.err;
  EXPECT_EQ(second.uids, kAll);
  EXPECT_NE(second.run.out.find("fetched:   0 messages"), std::string::npos) << second.run.out;
}

TEST_F(MisbehavingServer, ExpungeDuringFetchKeepsTheRestAndSettles) {
  ScriptedServer server(*bed_, "expunge_during_fetch");
  std::string cfg = config(server);
  Outcome first = run(cfg);
  EXPECT_EQ(first.run.exit_code, 0) << first.run.err;
  EXPECT_EQ(first.uids, (std::vector<uint32_t>{1, 3}));
  EXPECT_NE(first.run.err.find("also when asked again (UIDs 2)"), std::string::npos) << first.run.err;
  // The expunged message no longer exists: the next run has nothing to do.
  Outcome second = run(cfg);
  ASSERT_EQ(second.run.exit_code, 0) << second.run.err;
  EXPECT_EQ(second.uids, (std::vector<uint32_t>{1, 3}));
  EXPECT_NE(second.run.out.find("fetched:   0 messages"), std::string::npos) << second.run.out;
}

TEST_F(MisbehavingServer, LiteralOverTheLimitIsAProtocolErrorNotAnAllocation) {
  ScriptedServer server(*bed_, "huge_literal");
  Outcome o = run(config(server));
  EXPECT_EQ(o.run.exit_code, 1) << o.run.err;
  EXPECT_NE(o.run.err.find("max_literal"), std::string::npos) << o.run.err;
  EXPECT_TRUE(o.uids.empty());
  expectNoPartialFiles();
}

TEST_F(MisbehavingServer, NonImapLineIsTransientNamedAndRetried) {
  ScriptedServer server(*bed_, "garbage_line");
  Outcome o = run(config(server));
  EXPECT_EQ(o.run.exit_code, 0) << o.run.err;
  EXPECT_NE(o.run.err.find("Server Unavailable. 15"), std::string::npos) << o.run.err;
  EXPECT_NE(o.run.err.find("reconnecting"), std::string::npos) << o.run.err;
  EXPECT_EQ(o.uids, kAll);
}

TEST_F(MisbehavingServer, BinaryGarbageIsRefusedCleanlyAndRetried) {
  ScriptedServer server(*bed_, "binary_garbage");
  Outcome o = run(config(server));
  // Bytes that are not IMAP end that connection (never a crash); the
  // reconnect finds a sane server and completes.
  EXPECT_EQ(o.run.exit_code, 0) << o.run.err;
  EXPECT_NE(o.run.err.find("non-IMAP line"), std::string::npos) << o.run.err;
  EXPECT_EQ(o.uids, kAll);
  expectNoPartialFiles();
}

// Issue 6: throttling is per mailbox: the throttled one waits, the others
// carry on at full speed, and the run completes.
TEST_F(MisbehavingServer, OnlyTheThrottledMailboxWaits) {
  ScriptedServer server(*bed_, "throttle_user01");
  std::string events = archive_ + "-events.jsonl";
  std::string cfg = config(server, {"user01@contoso.test", "user02@contoso.test", "user03@contoso.test"});
  ProcessResult r = mailark({"run", "--config", cfg, "--json-events", events});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string log = readFile(events);
  EXPECT_NE(log.find("\"event\":\"mailbox_throttled\",\"mailbox\":\"user01@contoso.test\",\"backoff_ms\":1200"),
            std::string::npos) << log;
  EXPECT_EQ(log.find("\"event\":\"mailbox_throttled\",\"mailbox\":\"user02"), std::string::npos) << log;
  // user02 and user03 did not wait for user01's backoff.
  size_t done1 = log.find("\"event\":\"mailbox_finished\",\"mailbox\":\"user01@contoso.test\"");
  size_t done2 = log.find("\"event\":\"mailbox_finished\",\"mailbox\":\"user02@contoso.test\"");
  size_t done3 = log.find("\"event\":\"mailbox_finished\",\"mailbox\":\"user03@contoso.test\"");
  ASSERT_NE(done1, std::string::npos);
  EXPECT_LT(done2, done1);
  EXPECT_LT(done3, done1);
  ProcessResult ls = mailark({"ls", "--config", cfg});
  EXPECT_EQ(std::count(ls.out.begin(), ls.out.end(), '\n'), 9) << ls.out;
}

// Repeated throttling of one app halves its concurrency (AIMD).
TEST_F(MisbehavingServer, ThrottlingLowersTheAppsConcurrency) {
  ScriptedServer server(*bed_, "throttle_all");
  std::vector<std::string> boxes;
  for (int i = 1; i <= 6; ++i) boxes.push_back("user0" + std::to_string(i) + "@contoso.test");
  std::string cfg = config(server, boxes);
  std::ofstream(cfg, std::ios::app) << "[limits]\nconnections = 6\n";
  ProcessResult r = mailark({"run", "--config", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("lowering concurrency to 3 connection(s)"), std::string::npos) << r.err;
  ProcessResult ls = mailark({"ls", "--config", cfg});
  EXPECT_EQ(std::count(ls.out.begin(), ls.out.end(), '\n'), 18) << ls.out;
}

}  // namespace
}  // namespace mailark::test
