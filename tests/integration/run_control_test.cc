// Issue 6 (visibility and clean stop): JSON events, Prometheus metrics and
// SIGINT handling of `mailark run`, against the real Dovecot test bed.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <simdjson.h>
#include <sstream>

#include "tests/support/testbed.h"

namespace mailark::test {
namespace {

class RunControl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { bed_ = new TestBed({"--mailboxes", "10"}); }
  static void TearDownTestSuite() {
    delete bed_;
    bed_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(bed_->ok()) << bed_->error();
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    archive_ = bed_->info().dir + "/" + name_;
  }
  std::string config(int connections) {
    std::string path = bed_->writeConfig(name_ + ".toml", archive_, bed_->info().mailboxes);
    std::ofstream(path, std::ios::app) << "[limits]\nconnections = " << connections << "\n";
    return path;
  }
  // (mailbox, folder, uid) of every archived message; fails on duplicates.
  std::set<std::string> archivedKeys(const std::string& cfg) {
    ProcessResult ls = mailark({"ls", "--config", cfg});
    EXPECT_EQ(ls.exit_code, 0) << ls.err;
    std::set<std::string> keys;
    std::istringstream lines(ls.out);
    std::string line;
    while (std::getline(lines, line)) {
      std::stringstream ss(line);
      std::string mailbox, folder, uidvalidity, uid;
      std::getline(ss, mailbox, '\t');
      std::getline(ss, folder, '\t');
      std::getline(ss, uidvalidity, '\t');
      std::getline(ss, uid, '\t');
      EXPECT_TRUE(keys.insert(mailbox + "|" + folder + "|" + uidvalidity + "|" + uid).second) << line;
    }
    return keys;
  }

  static TestBed* bed_;
  std::string name_;
  std::string archive_;
};

TestBed* RunControl::bed_ = nullptr;

TEST_F(RunControl, JsonEventsAndPrometheusMetricsDescribeTheRun) {
  std::string cfg = config(4);
  std::string events = archive_ + "-events.jsonl";
  std::string metrics = archive_ + "-metrics.prom";
  ProcessResult r = mailark({"run", "--config", cfg, "--json-events", events, "--metrics-file", metrics});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t archived = archivedKeys(cfg).size();

  std::map<std::string, int> counts;
  int64_t run_messages = -1;
  int64_t peak_connections = -1;
  std::set<std::string> started, finished;
  simdjson::dom::parser parser;
  std::istringstream lines(readFile(events));
  std::string line;
  while (std::getline(lines, line)) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(line).get(e), simdjson::SUCCESS) << line;
    std::string_view event, mailbox;
    ASSERT_EQ(e["event"].get(event), simdjson::SUCCESS);
    ++counts[std::string(event)];
    std::string_view time;
    ASSERT_EQ(e["time"].get(time), simdjson::SUCCESS);
    EXPECT_TRUE(std::regex_match(std::string(time), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << line;
    if (event == "mailbox_finished") {
      int64_t connections = -1;
      ASSERT_EQ(e["connections"].get(connections), simdjson::SUCCESS) << line;
      EXPECT_GE(connections, 1) << line;
      EXPECT_LE(connections, 2) << line;  // connections_per_mailbox's default
    }
    if (e["mailbox"].get(mailbox) == simdjson::SUCCESS) {
      (event == "mailbox_started" ? started : finished).insert(std::string(mailbox));
    }
    if (event == "run_finished") {
      ASSERT_EQ(e["messages"].get(run_messages), simdjson::SUCCESS);
      ASSERT_EQ(e["peak_connections"].get(peak_connections), simdjson::SUCCESS) << line;
    }
  }
  EXPECT_EQ(counts["run_started"], 1);
  EXPECT_EQ(counts["run_finished"], 1);
  EXPECT_EQ(counts["mailbox_finished"], 10);
  EXPECT_EQ(started.size(), 10u);
  EXPECT_EQ(finished, started);
  EXPECT_EQ(run_messages, static_cast<int64_t>(archived));
  // The run's [limits] connections = 4 holds, extras included.
  EXPECT_GE(peak_connections, 1);
  EXPECT_LE(peak_connections, 4);

  std::string prom = readFile(metrics);
  EXPECT_NE(prom.find("mailark_messages_fetched_total " + std::to_string(archived) + "\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("mailark_run_success 1\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("mailark_mailboxes{state=\"done\"} 10\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("mailark_connections_peak " + std::to_string(peak_connections) + "\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("mailark_connections 0\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("# TYPE mailark_bytes_fetched_total counter"), std::string::npos) << prom;
}

TEST_F(RunControl, SigintStopsCleanlyAndTheNextRunCompletes) {
  std::string cfg = config(2);
  std::string events = archive_ + "-events.jsonl";
  int pid = startProcess({MAILARK_BINARY, "run", "--config", cfg, "--json-events", events});
  ASSERT_GT(pid, 0);
  // Interrupt once a few mailboxes are done and others are in flight.
  for (int i = 0; i < 3000; ++i) {
    std::string text = readFile(events);
    size_t done = 0;
    for (size_t pos = 0; (pos = text.find("\"mailbox_finished\"", pos)) != std::string::npos; ++pos) ++done;
    if (done >= 3) break;
    usleep(5000);
  }
  kill(pid, SIGINT);
  EXPECT_EQ(waitForExit(pid), 130);
  std::string log = readFile(events);
  EXPECT_NE(log.find("\"interrupted\":true"), std::string::npos) << log;
  size_t partial = archivedKeys(cfg).size();
  EXPECT_GT(partial, 0u);

  ProcessResult resumed = mailark({"run", "--config", cfg});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  size_t truth = 0;
  for (const std::string& m : bed_->info().mailboxes) truth += bed_->fetch(m).size();
  std::set<std::string> keys = archivedKeys(cfg);
  EXPECT_EQ(keys.size(), truth);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(resumed.out, m, std::regex("fetched: +([0-9]+) messages")));
  EXPECT_EQ(std::stoul(m[1]), truth - partial);
}

// The live display, seen through a pseudo-terminal (util-linux `script`).
TEST_F(RunControl, ProgressDisplayOnATerminal) {
  std::string cfg = config(4);
  ProcessResult r = runProcess({"script", "-qefc", std::string(MAILARK_BINARY) + " run --config " + cfg, "/dev/null"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Redrawn in place: carriage return + erase line, ending on the final count.
  EXPECT_NE(r.out.find("\r\033[Kmailboxes 10/10 (0 active, 0 failed, 0 throttled)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("msg/s"), std::string::npos);
}

// Issue 6: 500 connections at once, one per mailbox, all succeed; the
// summary reports the memory used.
TEST(ManyConnections, FiveHundredConcurrentMailboxes) {
  TestBed bed({"--mailboxes", "500", "--no-seed"});
  ASSERT_TRUE(bed.ok()) << bed.error();
  for (int i = 0; i < 500; i += 50) ASSERT_EQ(bed.deliver(bed.info().mailboxes[i], "INBOX", 2, i).size(), 2u);
  std::string cfg = bed.writeConfig("many.toml", bed.info().dir + "/archive-many", bed.info().mailboxes);
  std::ofstream(cfg, std::ios::app) << "[limits]\nconnections = 500\n";
  ProcessResult r = mailark({"run", "-q", "--config", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("mailboxes: 500 ok, 0 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fetched:   20 messages"), std::string::npos) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("peak memory ([0-9.]+) MiB"))) << r.out;
  std::cout << "500 connections: " << m[0] << "\n";
  EXPECT_LT(std::stod(m[1]), 512.0);
}

}  // namespace
}  // namespace mailark::test
