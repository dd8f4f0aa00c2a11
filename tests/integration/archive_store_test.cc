// Issue 5: packed store, crash safety, verify and export, through the real
// mailark binary against the test bed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "src/cli/export_names.h"
#include "tests/support/archive_query.h"
#include "tests/support/testbed.h"

namespace mailark::test {
namespace {

namespace fs = std::filesystem;

// Lines of tab-separated fields.
std::vector<std::vector<std::string>> splitRows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> cols;
    std::istringstream fields(line);
    std::string f;
    while (std::getline(fields, f, '\t')) cols.push_back(f);
    rows.push_back(cols);
  }
  return rows;
}

// (mailbox, folder, uidvalidity, uid, sha256, size, internaldate, flags)
// from `mailark ls` (tab-separated form).
std::vector<std::vector<std::string>> lsRows(const std::string& config) {
  ProcessResult r = mailark({"ls", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return splitRows(r.out);
}

class ArchiveStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { bed_ = new TestBed({"--mailboxes", "4"}); }
  static void TearDownTestSuite() {
    delete bed_;
    bed_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(bed_->ok()) << bed_->error();
    archive_ = bed_->info().dir + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    config_ = bed_->writeConfig(std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".toml",
                                archive_, bed_->info().mailboxes);
  }
  std::set<std::tuple<std::string, std::string, std::string, std::string>> truth() const {
    std::set<std::tuple<std::string, std::string, std::string, std::string>> all;
    for (const std::string& mb : bed_->info().mailboxes)
      for (const FetchedMessage& m : bed_->fetch(mb)) all.insert({mb, m.folder, std::to_string(m.uid), m.sha256});
    return all;
  }
  static TestBed* bed_;
  std::string archive_, config_;
};

TestBed* ArchiveStore::bed_ = nullptr;

TEST_F(ArchiveStore, PackedArchiveVerifiesCleanAndStatusShowsStoredBytes) {
  ProcessResult run = mailark({"run", "--config", config_});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(fs::exists(archive_ + "/packs/pack-00000001.mpk"));
  EXPECT_FALSE(fs::exists(archive_ + "/objects"));
  ProcessResult verify = mailark({"verify", "--config", config_});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("0 damaged object(s)"), std::string::npos) << verify.out;
  ProcessResult sample = mailark({"verify", "--config", config_, "--sample", "30%"});
  EXPECT_EQ(sample.exit_code, 0) << sample.out;
  EXPECT_NE(sample.out.find("[sample]"), std::string::npos) << sample.out;
  ProcessResult status = mailark({"status", "--config", config_});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("STORED"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("store: "), std::string::npos) << status.out;
  // Bytes come back exactly (compressed in the pack, identity unchanged).
  auto rows = lsRows(config_);
  ASSERT_FALSE(rows.empty());
  std::set<std::string> distinct;
  for (const auto& r : rows) distinct.insert(r[4]);
  EXPECT_EQ(countIndexedObjects(archive_), distinct.size());
  int checked = 0;
  for (const std::string& sha : distinct) {
    if (++checked > 25) break;
    ProcessResult cat = mailark({"cat", "--config", config_, sha});
    ASSERT_EQ(sha256Hex(cat.out), sha);
  }
}

// At least 20 kills: half right after a pack fsync and before the SQLite
// commit (the hook), half by SIGKILL at random moments. Then one clean run.
TEST_F(ArchiveStore, TwentyKillsLoseAndDuplicateNothing) {
  std::mt19937 rng(42);
  int hook_kills = 0, random_kills = 0;
  for (int i = 1; i <= 10; ++i) {
    // New mail before every round, so each run has bytes to write whatever
    // the machine's speed: the hook then always fires after the first sync.
    ASSERT_EQ(bed_->deliver(bed_->info().mailboxes[i % 4], "INBOX", 3, 500 + i).size(), 3u);
    ProcessResult r = mailark({"run", "--config", config_}, {{"MAILARK_TEST_KILL_AFTER_PACK_SYNC", "1"}});
    if (r.exit_code == 128 + SIGKILL) ++hook_kills;
    // The killed run's rows were never committed: this one fetches them again.
    int pid = startProcess({MAILARK_BINARY, "run", "--config", config_});
    ASSERT_GT(pid, 0);
    usleep(static_cast<useconds_t>(20000 + rng() % 150000));
    kill(pid, SIGKILL);
    if (waitForExit(pid) == 128 + SIGKILL) ++random_kills;
  }
  EXPECT_EQ(hook_kills, 10);
  EXPECT_GE(hook_kills + random_kills, 15) << random_kills << " random kills landed";
  ProcessResult last = mailark({"run", "--config", config_});
  ASSERT_EQ(last.exit_code, 0) << last.out << last.err;
  std::set<std::tuple<std::string, std::string, std::string, std::string>> got;
  std::set<std::string> distinct;
  auto rows = lsRows(config_);
  for (const auto& r : rows) {
    EXPECT_TRUE(got.insert({r[0], r[1], r[3], r[4]}).second) << "duplicate row " << r[0] << " " << r[3];
    distinct.insert(r[4]);
  }
  EXPECT_EQ(got, truth());
  EXPECT_EQ(countIndexedObjects(archive_), distinct.size());
  ProcessResult verify = mailark({"verify", "--config", config_});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(ArchiveStore, VerifyNamesFlippedByteDeletedIndexRowAndTruncatedPack) {
  std::string config = bed_->writeConfig("damage.toml", archive_, {bed_->info().mailboxes[0]});
  ASSERT_EQ(mailark({"run", "--config", config}).exit_code, 0);
  std::string pack = archive_ + "/packs/pack-00000001.mpk";
  ASSERT_TRUE(fs::exists(pack));
  const std::regex named("(DAMAGED|MISSING) " + bed_->info().mailboxes[0] + " folder \"[^\"]+\" uidvalidity [0-9]+ uid [0-9]+");

  // 1. A flipped byte inside the first frame's payload.
  std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(16 + 64 + 8);
  char c = 0;
  f.get(c);
  f.seekp(16 + 64 + 8);
  f.put(static_cast<char>(c ^ 0x01));
  f.close();
  ProcessResult v = mailark({"verify", "--config", config});
  EXPECT_EQ(v.exit_code, 1) << v.out;
  EXPECT_TRUE(std::regex_search(v.out, named)) << v.out;
  EXPECT_NE(v.out.find("DAMAGED"), std::string::npos);

  // 2. A deleted index row: its messages are missing.
  ASSERT_TRUE(execSql(archive_, "DELETE FROM objects WHERE sha256 = (SELECT sha256 FROM objects ORDER BY pack, pack_offset DESC LIMIT 1)"));
  v = mailark({"verify", "--config", config});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("MISSING"), std::string::npos) << v.out;

  // 3. A truncated pack: everything past the cut is named.
  fs::resize_file(pack, fs::file_size(pack) / 2);
  v = mailark({"verify", "--config", config});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("truncated"), std::string::npos) << v.out;
  EXPECT_TRUE(std::regex_search(v.out, named)) << v.out;
}

// `mailark ls | head -1` and `mailark cat <sha> | head -c 100`: a reader
// that goes away ends the command quietly with exit 0, while a real write
// failure (a full disk) is still reported.
TEST_F(ArchiveStore, CommandsEndQuietlyWhenTheReaderGoesAway) {
  ASSERT_EQ(mailark({"run", "--config", config_}).exit_code, 0);
  ProcessResult all = mailark({"ls", "--config", config_});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  // Far beyond the 4 KiB pipe, so a write after the reader's close must fail.
  ASSERT_GT(all.out.size(), 16u * 1024);
  ProcessResult head = runIntoEarlyClosingReader({MAILARK_BINARY, "ls", "--config", config_}, 100);
  EXPECT_EQ(head.exit_code, 0) << head.err;
  EXPECT_EQ(head.err, "");
  EXPECT_EQ(head.out, all.out.substr(0, 100));

  std::string biggest;
  uint64_t biggest_size = 0;
  for (const auto& r : splitRows(all.out)) {
    ASSERT_GE(r.size(), 6u);
    if (std::stoull(r[5]) > biggest_size) biggest_size = std::stoull(r[5]), biggest = r[4];
  }
  ASSERT_GT(biggest_size, 16u * 1024);
  ProcessResult cat = runIntoEarlyClosingReader({MAILARK_BINARY, "cat", "--config", config_, biggest}, 100);
  EXPECT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(cat.err, "");
  ASSERT_EQ(cat.out.size(), 100u);
  EXPECT_EQ(cat.out, mailark({"cat", "--config", config_, biggest}).out.substr(0, 100));

  ProcessResult full = runProcess({"/bin/sh", "-c", std::string(MAILARK_BINARY) + " ls --config '" + config_ + "' > /dev/full"});
  EXPECT_EQ(full.exit_code, 2);
  EXPECT_NE(full.err.find("cannot write to standard output: No space left on device"), std::string::npos) << full.err;
}

// tests/support/read_export.py: the export read back by Python's own
// `mailbox` module, one row of tab-separated fields per message.
std::multiset<std::vector<std::string>> readBackWithPython(const std::string& format, const std::string& dir) {
  ProcessResult r = runProcess(
      {"/usr/bin/python3", std::string(MAILARK_SOURCE_DIR) + "/tests/support/read_export.py", format, dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::multiset<std::vector<std::string>> rows;
  for (std::vector<std::string>& row : splitRows(r.out)) rows.insert(std::move(row));
  return rows;
}

// Issue 5: an export read back by an independent reader (Python's mailbox
// module for mbox and Maildir) holds exactly the archived messages, byte
// for byte, and a folder named ../../etc stays inside --out.
TEST_F(ArchiveStore, ExportToEmlMboxAndMaildirReadsBackTheSameBytes) {
  const std::string mailbox = bed_->info().mailboxes[1];
  std::string config = bed_->writeConfig("export.toml", archive_, {mailbox});
  ASSERT_EQ(mailark({"run", "--config", config}).exit_code, 0);
  // A server may name a folder anything: rename one as a hostile server would.
  ASSERT_TRUE(execSql(archive_, "UPDATE folders SET name = '../../etc' WHERE name = 'Archive'"));

  using Row = std::vector<std::string>;
  std::multiset<Row> want_eml, want_mbox, want_maildir;
  std::map<std::string, std::string> bytes_of;  // sha256 -> `mailark cat` bytes
  size_t hostile = 0, unterminated = 0;
  for (const Row& r : lsRows(config)) {
    ASSERT_GE(r.size(), 7u);
    const std::string& sha = r[4];
    if (!bytes_of.count(sha)) {
      ProcessResult cat = mailark({"cat", "--config", config, sha});
      ASSERT_EQ(cat.exit_code, 0) << cat.err;
      ASSERT_EQ(sha256Hex(cat.out), sha);
      bytes_of[sha] = cat.out;
    }
    const std::string& bytes = bytes_of[sha];
    const std::string folder = cli::safeFolderFileName(r[1]);
    if (r[1] == "../../etc") ++hostile;
    std::optional<std::time_t> when = cli::parseInternalDate(r[6]);
    ASSERT_TRUE(when) << r[6];
    // The one known difference: mbox cannot mark where a message without a
    // final newline ends, so the exporter adds one and that is what comes back.
    const bool terminated = !bytes.empty() && bytes.back() == '\n';
    if (!terminated) ++unterminated;
    const std::string in_mbox = terminated ? bytes : bytes + "\n";
    const std::string flags = r.size() > 7 ? r[7] : "";  // an empty last field is not split off
    want_eml.insert({folder, sha});
    want_mbox.insert({"mbox", folder, sha256Hex(in_mbox), std::to_string(in_mbox.size()),
                      "MAILER-DAEMON " + cli::asctimeUtc(*when)});
    want_maildir.insert({"maildir", folder, sha, std::to_string(bytes.size()), "cur", cli::maildirFlags(flags),
                         std::to_string(*when)});
  }
  ASSERT_GT(hostile, 0u);
  ASSERT_FALSE(want_eml.empty());
  std::cout << want_eml.size() << " messages, " << unterminated << " without a final newline\n";

  for (const char* format : {"eml", "maildir", "mbox"}) {
    const std::string out = archive_ + "-export-" + format;
    ProcessResult r = mailark({"export", "--config", config, "--mailbox", mailbox, "--format", format, "--out", out});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    // out/../../etc would land two levels up; nothing may appear there.
    const fs::path escaped = fs::path(out).parent_path().parent_path();
    EXPECT_FALSE(fs::exists(escaped / "etc") || fs::exists(escaped / "etc.mbox")) << format;
    if (std::string(format) == "eml") {
      std::multiset<Row> got;
      for (const auto& e : fs::recursive_directory_iterator(out))
        if (e.is_regular_file())
          got.insert({fs::relative(e.path().parent_path(), out).string(), sha256Hex(readFile(e.path().string()))});
      EXPECT_EQ(got, want_eml);
    } else {
      EXPECT_EQ(readBackWithPython(format, out), std::string(format) == "mbox" ? want_mbox : want_maildir) << format;
    }
  }
}

}  // namespace
}  // namespace mailark::test
