// Issue 8: `mailark plan` says what the next run fetches, without fetching:
// its totals equal what the following `run` fetches, on a fresh archive and
// after new mail arrives in an archived mailbox.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <simdjson.h>
#include <sstream>

#include "tests/support/testbed.h"

namespace mailark::test {
namespace {

struct Plan {
  uint64_t to_fetch = 0;
  uint64_t messages = 0;
  uint64_t failed = 0;
  std::map<std::string, uint64_t> per_folder;  // "mailbox/folder" -> to_fetch
};

Plan planJson(const std::string& config) {
  ProcessResult r = mailark({"plan", "--config", config, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Plan plan;
  simdjson::dom::parser parser;
  std::istringstream lines(r.out);
  std::string line;
  bool total = false;
  while (std::getline(lines, line)) {
    simdjson::dom::element e;
    EXPECT_EQ(parser.parse(line).get(e), simdjson::SUCCESS) << line;
    std::string_view type;
    EXPECT_EQ(e["type"].get(type), simdjson::SUCCESS);
    if (type == "total") {
      total = true;
      EXPECT_EQ(e["to_fetch"].get(plan.to_fetch), simdjson::SUCCESS);
      EXPECT_EQ(e["messages"].get(plan.messages), simdjson::SUCCESS);
      EXPECT_EQ(e["failed"].get(plan.failed), simdjson::SUCCESS);
      continue;
    }
    std::string_view mailbox, folder;
    uint64_t n = 0;
    EXPECT_EQ(e["mailbox"].get(mailbox), simdjson::SUCCESS);
    EXPECT_EQ(e["folder"].get(folder), simdjson::SUCCESS);
    EXPECT_EQ(e["to_fetch"].get(n), simdjson::SUCCESS);
    plan.per_folder[std::string(mailbox) + "/" + std::string(folder)] = n;
  }
  EXPECT_TRUE(total) << r.out;
  return plan;
}

long runFetched(const std::string& config) {
  ProcessResult r = mailark({"run", "--quiet", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex("fetched: +([0-9]+) messages"))) return -1;
  return std::stol(m[1]);
}

TEST(PlanTest, TotalsEqualWhatTheNextRunFetches) {
  TestBed bed({"--mailboxes", "3"});
  ASSERT_TRUE(bed.ok()) << bed.error();
  const BedInfo& info = bed.info();
  std::string archive = info.dir + "/plan-archive";
  std::string config = bed.writeConfig("plan.toml", archive, info.mailboxes);

  // No archive yet: everything is new, and plan creates no archive.
  Plan first = planJson(config);
  EXPECT_EQ(first.failed, 0u);
  EXPECT_GT(first.to_fetch, 0u);
  EXPECT_EQ(first.to_fetch, first.messages);
  EXPECT_EQ(first.per_folder.size(), 18u);  // 3 mailboxes x 6 folders
  EXPECT_FALSE(std::filesystem::exists(archive + "/state.db")) << "plan must not create the archive";
  EXPECT_EQ(runFetched(config), static_cast<long>(first.to_fetch));

  // Archived: nothing left.
  Plan second = planJson(config);
  EXPECT_EQ(second.to_fetch, 0u);
  EXPECT_EQ(second.messages, first.messages);

  // New mail in two folders of an archived mailbox.
  bed.deliver(info.mailboxes[1], "INBOX", 3, 7);
  bed.deliver(info.mailboxes[1], "Archive/2024", 2, 8);
  Plan third = planJson(config);
  EXPECT_EQ(third.to_fetch, 5u);
  EXPECT_EQ(third.per_folder[info.mailboxes[1] + "/INBOX"], 3u);
  EXPECT_EQ(third.per_folder[info.mailboxes[1] + "/Archive/2024"], 2u);
  EXPECT_EQ(third.per_folder[info.mailboxes[0] + "/INBOX"], 0u);
  EXPECT_EQ(runFetched(config), 5);
  EXPECT_EQ(planJson(config).to_fetch, 0u);
}

// POP3 mailboxes are planned by UIDL: the same rule Pop3Job fetches by.
TEST(PlanTest, Pop3MailboxTotalsEqualWhatTheRunFetches) {
  TestBed bed({"--mailboxes", "2"});
  ASSERT_TRUE(bed.ok()) << bed.error();
  const BedInfo& info = bed.info();
  std::string path = bed.writeConfig("plan-pop3.toml", info.dir + "/pop3-archive", {info.mailboxes[0]});
  std::string text = std::regex_replace(readFile(path), std::regex("list = \\["),
                                        "pop3 = [\"" + info.mailboxes[1] + "\"]\nlist = [");
  text = std::regex_replace(text, std::regex("\\[server\\]\n"),
                            "[server]\npop3_port = " + std::to_string(info.pop3_port) + "\n");
  std::ofstream(path) << text;

  Plan first = planJson(path);
  EXPECT_EQ(first.failed, 0u);
  EXPECT_GT(first.per_folder[info.mailboxes[1] + "/INBOX"], 0u);
  EXPECT_EQ(runFetched(path), static_cast<long>(first.to_fetch));
  EXPECT_EQ(planJson(path).to_fetch, 0u);

  bed.deliver(info.mailboxes[1], "INBOX", 2, 21);
  Plan after = planJson(path);
  EXPECT_EQ(after.to_fetch, 2u);
  EXPECT_EQ(after.per_folder[info.mailboxes[1] + "/INBOX"], 2u);
  EXPECT_EQ(runFetched(path), 2);
}

TEST(PlanTest, TableShowsTotalsAndEtaAtTheGivenRate) {
  TestBed bed({"--mailboxes", "2"});
  ASSERT_TRUE(bed.ok()) << bed.error();
  const BedInfo& info = bed.info();
  std::string config = bed.writeConfig("plan-table.toml", info.dir + "/table-archive", info.mailboxes);
  ProcessResult r = mailark({"plan", "--config", config, "--rate", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("next run: +([0-9]+) messages"))) << r.out;
  EXPECT_NE(r.out.find("Entwürfe Ünïcødé"), std::string::npos);
  // Two mailboxes in parallel at 1 message/s: the ETA is the larger one's count.
  Plan plan = planJson(config);
  uint64_t larger = 0;
  for (const std::string& mb : info.mailboxes) {
    uint64_t n = 0;
    for (const auto& [key, count] : plan.per_folder)
      if (key.rfind(mb + "/", 0) == 0) n += count;
    larger = std::max(larger, n);
  }
  char eta[32];
  std::snprintf(eta, sizeof eta, "%llu:%02llu:%02llu", static_cast<unsigned long long>(larger / 3600),
                static_cast<unsigned long long>((larger / 60) % 60), static_cast<unsigned long long>(larger % 60));
  EXPECT_NE(r.out.find(std::string("ETA:        ") + eta), std::string::npos) << r.out;
}

}  // namespace
}  // namespace mailark::test
