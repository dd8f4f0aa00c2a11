// Issue 5: packed store, crash safety, verify and export, through the real
// mailark binary against the test bed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/archive_query.h"
#include "tests/support/testbed.h"

namespace mailark::test {
namespace {

namespace fs = std::filesystem;

// (mailbox, folder, uid, sha256) from `mailark ls` (tab-separated form).
std::vector<std::vector<std::string>> lsRows(const std::string& config) {
  ProcessResult r = mailark({"ls", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(r.out);
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

// mboxrd: undo one '>' on every line matching ^>+From .
std::vector<std::string> readMboxrd(const std::string& text) {
  std::vector<std::string> messages;
  std::istringstream in(text);
  std::string line, current;
  bool started = false;
  while (std::getline(in, line)) {
    if (line.rfind("From ", 0) == 0) {
      if (started) messages.push_back(current.substr(0, current.size() - 1));  // separator blank line
      current.clear();
      started = true;
      continue;
    }
    size_t gt = line.find_first_not_of('>');
    if (gt != std::string::npos && gt > 0 && line.compare(gt, 5, "From ") == 0) line.erase(0, 1);
    current += line + "\n";
  }
  if (started) messages.push_back(current.substr(0, current.size() - 1));
  return messages;
}

TEST_F(ArchiveStore, ExportToEmlMboxAndMaildirReadsBackTheSameBytes) {
  const std::string mailbox = bed_->info().mailboxes[1];
  std::string config = bed_->writeConfig("export.toml", archive_, {mailbox});
  ASSERT_EQ(mailark({"run", "--config", config}).exit_code, 0);
  std::multiset<std::string> want;
  for (const auto& r : lsRows(config)) want.insert(r[4]);
  ASSERT_FALSE(want.empty());

  // mbox cannot hold a message that lacks a final newline: the exporter
  // adds one. Map such messages' "+\n" hash back to the original's.
  std::map<std::string, std::string> with_newline;
  for (const char* format : {"eml", "maildir", "mbox"}) {
    std::string out = archive_ + "-export-" + format;
    ProcessResult r = mailark({"export", "--config", config, "--mailbox", mailbox, "--format", format, "--out", out});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::multiset<std::string> got;
    for (const auto& e : fs::recursive_directory_iterator(out)) {
      if (!e.is_regular_file()) continue;
      std::string bytes = readFile(e.path().string());
      if (std::string(format) == "mbox") {
        for (const std::string& m : readMboxrd(bytes)) {
          auto it = with_newline.find(sha256Hex(m));
          got.insert(it != with_newline.end() ? it->second : sha256Hex(m));
        }
      } else {
        got.insert(sha256Hex(bytes));
        if (!bytes.empty() && bytes.back() != '\n') with_newline[sha256Hex(bytes + "\n")] = sha256Hex(bytes);
      }
      if (std::string(format) == "maildir") {
        EXPECT_EQ(e.path().parent_path().filename(), "cur");
        EXPECT_NE(e.path().filename().string().find(":2,"), std::string::npos);
        // The file time is the INTERNALDATE, which is in the name too.
        struct stat st;
        ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
        EXPECT_EQ(std::to_string(st.st_mtime), e.path().filename().string().substr(0, e.path().filename().string().find('.')));
      }
    }
    EXPECT_EQ(got, want) << format;
  }
}

}  // namespace
}  // namespace mailark::test
