// Issue 2: archive real mailboxes end to end against a real Dovecot and the
// fake Entra endpoint (tests/testbed), through the mailark binary itself.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <simdjson.h>
#include <sstream>

#include "tests/support/archive_query.h"
#include "tests/support/mailark_ls.h"
#include "tests/support/testbed.h"

namespace mailark::test {
namespace {

namespace fs = std::filesystem;

// Distinct stored objects: rows of the pack index (state.db `objects`),
// plus any legacy one-file-per-object copies under objects/.
size_t countObjects(const std::string& archive) {
  size_t n = 0;
  if (fs::exists(archive + "/objects"))
    for (const auto& e : fs::recursive_directory_iterator(archive + "/objects"))
      if (e.is_regular_file()) ++n;
  return n + countIndexedObjects(archive);
}

// Every file below `dir` that contains `needle`.
// The commands named `verb` in a -v protocol log ("host C: tag VERB args"):
// their arguments.
std::vector<std::string> sentCommands(const std::string& log, const std::string& verb) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    size_t c = line.find(" C: ");
    if (c == std::string::npos) continue;
    size_t at = line.find(" " + verb + " ", c + 4);
    if (at != std::string::npos) out.push_back(line.substr(at + verb.size() + 2));
  }
  return out;
}

std::vector<std::string> filesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> hits;
  if (!fs::exists(dir)) return hits;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && readFile(e.path().string()).find(needle) != std::string::npos)
      hits.push_back(e.path().string());
  return hits;
}

class ArchiveEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { bed_ = new TestBed({"--mailboxes", "20"}); }
  static void TearDownTestSuite() {
    delete bed_;
    bed_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(bed_->ok()) << bed_->error();
    archive_ = bed_->info().dir + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  std::string secret() const { return readFile(bed_->info().secret_file); }

  static TestBed* bed_;
  std::string archive_;
};

TestBed* ArchiveEndToEnd::bed_ = nullptr;

TEST_F(ArchiveEndToEnd, ArchivesEveryMessageByteExactWithDedup) {
  const BedInfo& bed = bed_->info();
  std::string config = bed_->writeConfig("all.toml", archive_, bed.mailboxes);
  ProcessResult run = mailark({"run", "--config", config});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("mailboxes: 20 ok, 0 failed"), std::string::npos) << run.out;

  std::vector<Row> rows = lsJson(config);
  std::set<std::string> folders_seen;
  size_t independent_total = 0;
  for (const std::string& mailbox : bed.mailboxes) {
    // What an independent client (Python imaplib, XOAUTH2) gets from Dovecot.
    std::vector<FetchedMessage> truth = bed_->fetch(mailbox);
    ASSERT_FALSE(truth.empty()) << mailbox;
    independent_total += truth.size();
    std::set<std::tuple<std::string, uint32_t, std::string, uint64_t>> want, got;
    for (const FetchedMessage& m : truth) want.insert({m.folder, m.uid, m.sha256, m.size});
    for (const Row& r : rows)
      if (r.mailbox == mailbox) got.insert({r.folder, r.uid, r.sha256, r.size});
    EXPECT_EQ(got, want) << mailbox;
    for (const Row& r : rows)
      if (r.mailbox == mailbox) folders_seen.insert(r.folder);
  }
  EXPECT_EQ(rows.size(), independent_total);
  // Folder names round-trip exactly, including the nested and non-ASCII ones.
  for (const char* f : {"INBOX", "Archive/2024", "Project Plans", "Entw\u00fcrfe \u00dcn\u00efc\u00f8d\u00e9"})
    EXPECT_TRUE(folders_seen.count(f)) << f;

  // Identical bytes in many mailboxes are stored once.
  std::set<std::string> distinct;
  for (const Row& r : rows) distinct.insert(r.sha256);
  EXPECT_LT(distinct.size(), rows.size());
  EXPECT_EQ(countObjects(archive_), distinct.size());

  // `mailark cat` gives back the exact bytes, for every distinct object.
  for (const std::string& sha : distinct) {
    ProcessResult cat = mailark({"cat", "--config", config, sha});
    ASSERT_EQ(cat.exit_code, 0) << cat.err;
    ASSERT_EQ(sha256Hex(cat.out), sha);
  }
  // Dates and flags are kept as the server sent them.
  for (const Row& r : rows) {
    EXPECT_FALSE(r.internaldate.empty());
    EXPECT_GT(r.uidvalidity, 0u);
  }

  ProcessResult status = mailark({"status", "--config", config});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find(bed.mailboxes[0]), std::string::npos);
}

TEST_F(ArchiveEndToEnd, SecondRunFetchesNothingThenExactlyTheNewMail) {
  const BedInfo& bed = bed_->info();
  std::vector<std::string> boxes(bed.mailboxes.begin(), bed.mailboxes.begin() + 6);
  std::string config = bed_->writeConfig("incremental.toml", archive_, boxes);
  ProcessResult first = mailark({"run", "--config", config});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  size_t before = lsJson(config).size();
  ASSERT_EQ(fetchedCount(first.out), static_cast<long>(before));

  std::string events = archive_ + "/incremental-events.json";
  ProcessResult second = mailark({"-v", "run", "--config", config, "--json-events", events});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(fetchedCount(second.out), 0) << second.out;
  // Nothing changed: one STATUS per folder tells so, no folder is selected,
  // and no mailbox opens a second connection.
  EXPECT_GE(sentCommands(second.err, "STATUS").size(), 6u * 5);
  EXPECT_EQ(sentCommands(second.err, "EXAMINE"), std::vector<std::string>{});
  std::ifstream in(events);
  int finished = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"mailbox_finished\"") == std::string::npos) continue;
    ++finished;
    EXPECT_NE(line.find("\"connections\":1,"), std::string::npos) << line;
  }
  EXPECT_EQ(finished, 6);

  std::multiset<std::string> delivered;
  for (const std::string& sha : bed_->deliver(boxes[1], "INBOX", 3, 101)) delivered.insert(sha);
  for (const std::string& sha : bed_->deliver(boxes[2], "Project Plans", 2, 102)) delivered.insert(sha);
  for (const std::string& sha : bed_->deliver(boxes[4], "Entw\u00fcrfe \u00dcn\u00efc\u00f8d\u00e9", 1, 103))
    delivered.insert(sha);
  ASSERT_EQ(delivered.size(), 6u);

  ProcessResult third = mailark({"-v", "run", "--config", config});
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(fetchedCount(third.out), 6) << third.out;
  // Only the three folders with new mail are selected.
  std::vector<std::string> examined = sentCommands(third.err, "EXAMINE");
  EXPECT_GE(examined.size(), 3u);
  EXPECT_LE(examined.size(), 6u);
  for (const std::string& args : examined)
    EXPECT_TRUE(args.find("INBOX") != std::string::npos || args.find("Project Plans") != std::string::npos ||
                args.find("Entw&APw-rfe") != std::string::npos)
        << args;
  std::vector<Row> rows = lsJson(config);
  EXPECT_EQ(rows.size(), before + 6);
  std::multiset<std::string> all;
  for (const Row& r : rows) all.insert(r.sha256);
  for (const std::string& sha : delivered) EXPECT_TRUE(all.count(sha)) << sha;

  ProcessResult fourth = mailark({"run", "--config", config});
  EXPECT_EQ(fetchedCount(fourth.out), 0) << fourth.out;
}

// With the folder's UIDVALIDITY known from STATUS, the listing of new UIDs
// (and on Dovecot, which has CONDSTORE, the flag sync) goes right behind
// EXAMINE instead of waiting for its answer; the new mail is all fetched
// although Dovecot may answer the two FETCHes interleaved.
TEST_F(ArchiveEndToEnd, ChangedFolderIsExaminedAndListedInOneRoundTrip) {
  const std::string mailbox = bed_->info().mailboxes[12];
  std::string config = bed_->writeConfig("one-flight.toml", archive_, {mailbox});
  ASSERT_EQ(mailark({"run", "--config", config}).exit_code, 0);
  ASSERT_EQ(bed_->deliver(mailbox, "Project Plans", 2, 301).size(), 2u);
  ProcessResult r = mailark({"-v", "run", "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fetchedCount(r.out), 2) << r.out;
  // One mailbox archived before: one connection, so its log is in order.
  std::vector<std::string> lines;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  auto examine = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find(" C: ") != std::string::npos && l.find(" EXAMINE ") != std::string::npos &&
           l.find("Project Plans") != std::string::npos;
  });
  ASSERT_NE(examine, lines.end()) << r.err;
  std::string tag = examine->substr(examine->find(" C: ") + 4);
  tag = tag.substr(0, tag.find(' '));
  auto listing = std::find_if(examine + 1, lines.end(), [](const std::string& l) {
    return l.find(" C: ") != std::string::npos && l.find("(UID RFC822.SIZE)") != std::string::npos;
  });
  auto examine_answer = std::find_if(examine + 1, lines.end(), [&](const std::string& l) {
    return l.find(" S: " + tag + " OK") != std::string::npos;
  });
  ASSERT_NE(listing, lines.end()) << r.err;
  ASSERT_NE(examine_answer, lines.end()) << r.err;
  EXPECT_LT(listing - lines.begin(), examine_answer - lines.begin())
      << "the listing waited for EXAMINE's answer";
}

// After STATUS, folders are planned largest first (Dovecot gives STATUS
// SIZE), so a mailbox's connections finish closer together.
TEST_F(ArchiveEndToEnd, FoldersArePlannedLargestFirst) {
  const std::string mailbox = bed_->info().mailboxes[13];
  std::string config = bed_->writeConfig("largest-first.toml", archive_, {mailbox});
  // One connection, so the log's EXAMINEs are the planning order.
  std::ofstream(config, std::ios::app) << "[limits]\nconnections_per_mailbox = 1\n";
  ProcessResult r = mailark({"-v", "run", "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, uint64_t> bytes;  // decoded folder name -> bytes archived
  for (const Row& row : lsJson(config, mailbox)) bytes[row.folder] += row.size;
  std::vector<uint64_t> order;
  for (const std::string& args : sentCommands(r.err, "EXAMINE")) {
    std::string name = args.substr(0, args.rfind('"') + 1);
    if (name.size() >= 2 && name.front() == '"') name = name.substr(1, name.size() - 2);
    if (name.find("Entw&APw-rfe") == 0) name = "Entw\u00fcrfe \u00dcn\u00efc\u00f8d\u00e9";
    ASSERT_TRUE(bytes.count(name)) << args;
    order.push_back(bytes[name]);
  }
  ASSERT_GE(order.size(), 3u) << r.err;
  EXPECT_TRUE(std::is_sorted(order.rbegin(), order.rend())) << "EXAMINE order by bytes: " << ::testing::PrintToString(order);
}

// Issue 4: with CONDSTORE (Dovecot offers it) a later run picks up flag
// changes of archived messages without fetching them again.
TEST_F(ArchiveEndToEnd, CondstorePicksUpFlagChanges) {
  const BedInfo& bed = bed_->info();
  const std::string mailbox = bed.mailboxes[6];
  std::string config = bed_->writeConfig("condstore.toml", archive_, {mailbox});
  ASSERT_EQ(mailark({"run", "--config", config}).exit_code, 0);
  auto flagsOf = [&](uint32_t uid) {
    for (const Row& r : lsJson(config, mailbox))
      if (r.folder == "Project Plans" && r.uid == uid) return r.flags;
    return std::string("<missing>");
  };
  ASSERT_EQ(flagsOf(2).find("\\Flagged"), std::string::npos) << flagsOf(2);
  ProcessResult flag = bed_->tool({"flag", "--mailbox", mailbox, "--folder", "Project Plans", "--uid", "2", "--add", "\\Flagged"});
  ASSERT_EQ(flag.exit_code, 0) << flag.err;
  ProcessResult again = mailark({"run", "--config", config});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(fetchedCount(again.out), 0) << again.out;
  EXPECT_NE(flagsOf(2).find("\\Flagged"), std::string::npos) << flagsOf(2);
  // Nothing changed since: the flag sync finds nothing to do.
  EXPECT_EQ(fetchedCount(mailark({"run", "--config", config}).out), 0);
}

// Issue 5: the archive never forgets. A folder deleted and recreated on the
// server gets a new UIDVALIDITY: the old rows stay under the old one, the
// folder is archived again under the new one, and bytes already held are
// not stored twice.
TEST_F(ArchiveEndToEnd, UidvalidityChangeKeepsOldRowsAndStoresNothingTwice) {
  const BedInfo& bed = bed_->info();
  const std::string mailbox = bed.mailboxes[7];
  const std::string folder = "Project Plans";
  std::string config = bed_->writeConfig("uidvalidity.toml", archive_, {mailbox});
  ASSERT_EQ(mailark({"run", "--config", config}).exit_code, 0);
  std::vector<Row> before;
  for (const Row& r : lsJson(config, mailbox))
    if (r.folder == folder) before.push_back(r);
  ASSERT_FALSE(before.empty());
  size_t objects_before = countObjects(archive_);

  // Put one of the old messages back, byte for byte, into the new folder.
  ProcessResult old_bytes = mailark({"cat", "--config", config, before[0].sha256});
  ASSERT_EQ(old_bytes.exit_code, 0);
  std::string file = bed.dir + "/uidvalidity-msg.eml";
  std::ofstream(file, std::ios::binary) << old_bytes.out;
  ProcessResult recreate = bed_->tool({"recreate", "--mailbox", mailbox, "--folder", folder});
  ASSERT_EQ(recreate.exit_code, 0) << recreate.err;
  ProcessResult put = bed_->tool({"deliver", "--mailbox", mailbox, "--folder", folder, "--file", file});
  ASSERT_EQ(put.exit_code, 0) << put.err;

  ProcessResult r = mailark({"run", "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fetchedCount(r.out), 1) << r.out;
  std::vector<Row> old_gen, new_gen;
  for (const Row& row : lsJson(config, mailbox)) {
    if (row.folder != folder) continue;
    (row.uidvalidity == before[0].uidvalidity ? old_gen : new_gen).push_back(row);
  }
  EXPECT_EQ(old_gen.size(), before.size());  // nothing forgotten
  ASSERT_EQ(new_gen.size(), 1u);
  EXPECT_NE(new_gen[0].uidvalidity, before[0].uidvalidity);
  EXPECT_EQ(new_gen[0].sha256, before[0].sha256);
  EXPECT_EQ(countObjects(archive_), objects_before);  // held once
}

void expectTokenFailure(const ProcessResult& r, const std::string& code, const std::string& secret,
                        const std::string& archive) {
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("AADSTS" + code), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find(secret), std::string::npos);
  EXPECT_EQ(r.err.find(secret), std::string::npos);
  EXPECT_TRUE(filesContaining(archive, secret).empty());
  EXPECT_EQ(countObjects(archive), 0u);
}

TEST_F(ArchiveEndToEnd, WrongSecretNamesAadstsCodeAndLeaksNothing) {
  const BedInfo& bed = bed_->info();
  std::string wrong = "wrong-secret-Zq8~" + std::to_string(getpid());
  std::string app = "tenant = \"" + bed.tenant + "\"\nclient_id = \"" + bed.client_id +
                    "\"\nclient_secret_env = \"MAILARK_TEST_SECRET\"\nauthority = \"" + bed.authority + "\"\n";
  std::string config = bed_->writeConfig("wrong-secret.toml", archive_, {bed.mailboxes[0]}, app);
  ProcessResult r = mailark({"-v", "run", "--config", config}, {{"MAILARK_TEST_SECRET", wrong}});
  expectTokenFailure(r, "7000215", wrong, archive_);
  EXPECT_NE(r.err.find("Certificates & secrets"), std::string::npos) << r.err;
}

TEST_F(ArchiveEndToEnd, UnknownTenantAndUnknownAppAreNamed) {
  const BedInfo& bed = bed_->info();
  std::string tenant_app = "tenant = \"nosuch.onmicrosoft.com\"\nclient_id = \"" + bed.client_id +
                           "\"\nclient_secret_file = \"" + bed.secret_file + "\"\nauthority = \"" + bed.authority + "\"\n";
  std::string config = bed_->writeConfig("bad-tenant.toml", archive_, {bed.mailboxes[0]}, tenant_app);
  expectTokenFailure(mailark({"run", "--config", config}), "90002", secret(), archive_);

  std::string app = "tenant = \"" + bed.tenant + "\"\nclient_id = \"00000000-1111-2222-3333-444444444444\"\n" +
                    "client_secret_file = \"" + bed.secret_file + "\"\nauthority = \"" + bed.authority + "\"\n";
  config = bed_->writeConfig("bad-app.toml", archive_, {bed.mailboxes[0]}, app);
  expectTokenFailure(mailark({"run", "--config", config}), "700016", secret(), archive_);
}

TEST_F(ArchiveEndToEnd, RefusedMailboxFailsAloneOthersArchive) {
  const BedInfo& bed = bed_->info();
  std::vector<std::string> boxes = {bed.mailboxes[0], "ghost@contoso.test", bed.mailboxes[1]};
  std::string config = bed_->writeConfig("ghost.toml", archive_, boxes);
  ProcessResult r = mailark({"run", "--config", config});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("mailboxes: 2 ok, 1 failed"), std::string::npos) << r.out;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(r.err, m, std::regex("FAILED ghost@contoso.test: .*AUTHENTICATE XOAUTH2 failed.*NO")))
      << r.err;
  EXPECT_FALSE(lsJson(config, bed.mailboxes[0]).empty());
  EXPECT_FALSE(lsJson(config, bed.mailboxes[1]).empty());
  EXPECT_TRUE(lsJson(config, "ghost@contoso.test").empty());
  ProcessResult status = mailark({"status", "--config", config});
  EXPECT_NE(status.out.find("FAILED"), std::string::npos) << status.out;
  EXPECT_EQ(r.err.find(secret()), std::string::npos);
}

TEST_F(ArchiveEndToEnd, TokenWithoutImapRoleIsRefusedByServer) {
  const BedInfo& bed = bed_->info();
  std::string app = "tenant = \"" + bed.tenant + "\"\nclient_id = \"" + bed.noimap_client_id +
                    "\"\nclient_secret_file = \"" + bed.noimap_secret_file + "\"\nauthority = \"" + bed.authority + "\"\n";
  std::string config = bed_->writeConfig("noimap.toml", archive_, {bed.mailboxes[0], bed.mailboxes[1]}, app);
  ProcessResult r = mailark({"run", "--config", config});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("mailboxes: 0 ok, 2 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("AUTHENTICATE XOAUTH2 failed"), std::string::npos) << r.err;
  EXPECT_EQ(countObjects(archive_), 0u);
}

TEST_F(ArchiveEndToEnd, UntrustedCertificateIsRefusedAndNothingArchived) {
  const BedInfo& bed = bed_->info();
  // No ca_file: neither the token endpoint nor Dovecot is trusted.
  std::string config = bed_->writeConfig("untrusted.toml", archive_, {bed.mailboxes[0]}, "", "# no ca_file\n");
  ProcessResult r = mailark({"run", "--config", config});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("TLS"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ca_file"), std::string::npos) << r.err;
  EXPECT_EQ(countObjects(archive_), 0u);
}

// Never lose data: a run killed at an arbitrary point (SIGKILL, no chance to
// clean up) leaves a state from which the next run completes the archive
// with nothing lost, nothing duplicated and every recorded row readable.
TEST_F(ArchiveEndToEnd, KilledRunResumesWithNothingLostOrDuplicated) {
  const BedInfo& bed = bed_->info();
  std::string config = bed_->writeConfig("killed.toml", archive_, bed.mailboxes);
  int pid = startProcess({MAILARK_BINARY, "run", "--config", config});
  ASSERT_GT(pid, 0);
  // Kill once a good part, but not all, of the archive is written.
  for (int i = 0; i < 4000 && countObjects(archive_) < 150; ++i) usleep(2000);
  kill(pid, SIGKILL);
  ASSERT_EQ(waitForExit(pid), 128 + SIGKILL) << "the run finished before it could be killed";
  size_t partial = lsJson(config).size();
  EXPECT_GT(partial, 0u);

  ProcessResult resumed = mailark({"run", "--config", config});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  std::vector<Row> rows = lsJson(config);
  // Only what was missing was fetched again.
  EXPECT_EQ(fetchedCount(resumed.out), static_cast<long>(rows.size() - partial)) << resumed.out;
  std::set<std::tuple<std::string, std::string, uint32_t>> keys;
  std::set<std::string> distinct;
  for (const Row& r : rows) {
    EXPECT_TRUE(keys.insert({r.mailbox, r.folder, r.uid}).second) << "duplicate " << r.mailbox << " " << r.uid;
    distinct.insert(r.sha256);
  }
  size_t truth = 0;
  for (const std::string& mailbox : bed.mailboxes) truth += bed_->fetch(mailbox).size();
  EXPECT_EQ(rows.size(), truth);
  EXPECT_EQ(countObjects(archive_), distinct.size());
  for (const std::string& sha : distinct) {
    ProcessResult cat = mailark({"cat", "--config", config, sha});
    ASSERT_EQ(sha256Hex(cat.out), sha);
  }
  // The killed run's half-written data is gone: every pack checks out.
  EXPECT_TRUE(!fs::exists(archive_ + "/tmp") || fs::is_empty(archive_ + "/tmp"));
  ProcessResult verify = mailark({"verify", "--config", config});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(ArchiveEndToEnd, InlineSecretInConfigIsRefused) {
  const BedInfo& bed = bed_->info();
  std::string app = "tenant = \"" + bed.tenant + "\"\nclient_id = \"" + bed.client_id +
                    "\"\nclient_secret = \"hunter2\"\nauthority = \"" + bed.authority + "\"\n";
  std::string config = bed_->writeConfig("inline.toml", archive_, {bed.mailboxes[0]}, app);
  ProcessResult r = mailark({"run", "--config", config});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("client_secret is not allowed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos);
}

// Issue 4: hostile but legal folder names survive LIST (modified UTF-7,
// quoted strings with escapes, control characters) and come back byte-exact.
TEST(FolderNames, RoundTripByteExactAgainstDovecot) {
  TestBed bed({"--mailboxes", "1", "--no-seed"});
  ASSERT_TRUE(bed.ok()) << bed.error();
  const std::string mailbox = bed.info().mailboxes[0];
  const std::vector<std::string> names = {
      "Quote \"q\" back\\slash", "Tom & Jerry", "Amp&-lit", "Tab\tName", "\u00dcn\u00efc\u00f8d\u00e9/\u65e5\u672c\u8a9e",
      "Spaces  double and trailing ", "(Parens) [brackets] {braces} %*"};
  for (const std::string& n : names) ASSERT_EQ(bed.deliver(mailbox, n, 1, 7).size(), 1u) << n;
  std::string archive = bed.info().dir + "/archive-names";
  std::string config = bed.writeConfig("names.toml", archive, {mailbox});
  ProcessResult r = mailark({"run", "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::pair<std::string, std::string>> want, got;
  for (const FetchedMessage& m : bed.fetch(mailbox)) want.insert({m.folder, m.sha256});
  for (const Row& row : lsJson(config)) got.insert({row.folder, row.sha256});
  EXPECT_EQ(got, want);
  std::set<std::string> folders;
  for (const auto& [folder, sha] : got) folders.insert(folder);
  for (const std::string& n : names) EXPECT_TRUE(folders.count(n)) << n;
}

// A Dovecot whose certificate chains to nothing we trust, while the token
// endpoint is trusted: the IMAP TLS check itself must refuse.
TEST(UntrustedImapServer, RefusedWithTlsErrorAndNothingArchived) {
  TestBed bed({"--mailboxes", "3", "--no-seed", "--untrusted-imap-cert"});
  ASSERT_TRUE(bed.ok()) << bed.error();
  std::string archive = bed.info().dir + "/archive-untrusted";
  std::string config = bed.writeConfig("untrusted-imap.toml", archive, bed.info().mailboxes);
  ProcessResult r = mailark({"run", "--config", config});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("TLS certificate of localhost not trusted"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("AADSTS"), std::string::npos) << r.err;
  EXPECT_EQ(countObjects(archive), 0u);
  EXPECT_TRUE(lsJson(config).empty());
}

}  // namespace
}  // namespace mailark::test
