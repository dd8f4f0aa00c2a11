#include "tests/support/mailark_ls.h"

#include <gtest/gtest.h>

#include <regex>
#include <simdjson.h>
#include <sstream>

#include "tests/support/testbed.h"

namespace mailark::test {

std::vector<Row> lsJson(const std::string& config, const std::string& mailbox) {
  std::vector<std::string> args = {"ls", "--config", config, "--json"};
  if (!mailbox.empty()) {
    args.push_back("--mailbox");
    args.push_back(mailbox);
  }
  ProcessResult r = mailark(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<Row> rows;
  simdjson::dom::parser parser;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    simdjson::dom::element e;
    EXPECT_EQ(parser.parse(line).get(e), simdjson::SUCCESS) << line;
    Row row;
    std::string_view mb, folder, sha, date, flags, uidl;
    uint64_t uidvalidity = 0, uid = 0;
    // The fields every row has, IMAP or POP3.
    EXPECT_EQ(e["mailbox"].get(mb), simdjson::SUCCESS) << line;
    EXPECT_EQ(e["folder"].get(folder), simdjson::SUCCESS) << line;
    EXPECT_EQ(e["sha256"].get(sha), simdjson::SUCCESS) << line;
    EXPECT_EQ(e["internaldate"].get(date), simdjson::SUCCESS) << line;
    EXPECT_EQ(e["flags"].get(flags), simdjson::SUCCESS) << line;
    EXPECT_EQ(e["uidvalidity"].get(uidvalidity), simdjson::SUCCESS) << line;
    EXPECT_EQ(e["uid"].get(uid), simdjson::SUCCESS) << line;
    EXPECT_EQ(e["size"].get(row.size), simdjson::SUCCESS) << line;
    if (e["uidl"].get(uidl) == simdjson::SUCCESS) row.uidl = uidl;
    row.mailbox = mb, row.folder = folder, row.sha256 = sha, row.internaldate = date, row.flags = flags;
    row.uidvalidity = static_cast<uint32_t>(uidvalidity);
    row.uid = static_cast<uint32_t>(uid);
    rows.push_back(std::move(row));
  }
  return rows;
}

long fetchedCount(const std::string& run_output) {
  std::smatch m;
  if (!std::regex_search(run_output, m, std::regex("fetched: +([0-9]+) messages"))) return -1;
  return std::stol(m[1]);
}

}  // namespace mailark::test
