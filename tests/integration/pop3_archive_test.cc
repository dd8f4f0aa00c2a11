// Issue 7: POP3 archiving with POP.AccessAsApp into the same store and
// state, against the real Dovecot pop3d of tests/testbed (which requires
// the POP.AccessAsApp role) and, for faults, tests/fakes/fake_pop3.py.
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
#include <thread>

#include "tests/support/mailark_ls.h"
#include "tests/support/testbed.h"

namespace mailark::test {
namespace {

namespace fs = std::filesystem;

// Objects in the store, as `mailark status` counts them (the layout on
// disk belongs to the store).
long countObjects(const std::string& config) {
  ProcessResult r = mailark({"status", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex("store: +([0-9]+) objects"))) {
    ADD_FAILURE() << "no object count in: " << r.out;
    return -1;
  }
  return std::stol(m[1]);
}

struct PopMessage {
  std::string uidl, sha256;
  uint64_t size = 0;
};

class Pop3ArchiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { bed_ = new TestBed({"--mailboxes", "5"}); }
  static void TearDownTestSuite() {
    delete bed_;
    bed_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(bed_->ok()) << bed_->error(); }

  const BedInfo& info() const { return bed_->info(); }

  // A config with IMAP mailboxes in `list` and POP3 ones in `pop3`.
  std::string config(const std::string& name, const std::string& archive, const std::vector<std::string>& imap,
                     const std::vector<std::string>& pop3, int pop3_port = 0, const std::string& app = "main") const {
    auto quoted = [](const std::vector<std::string>& v) {
      std::string s;
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
      return s;
    };
    std::ostringstream c;
    c << "[app]\ntenant = \"" << info().tenant << "\"\n"
      << "client_id = \"" << (app == "nopop" ? info().nopop_client_id : info().client_id) << "\"\n"
      << "client_secret_file = \"" << (app == "nopop" ? info().nopop_secret_file : info().secret_file) << "\"\n"
      << "authority = \"" << info().authority << "\"\n"
      << "[server]\nhost = \"localhost\"\nport = " << info().imap_port << "\n"
      << "pop3_port = " << (pop3_port ? pop3_port : info().pop3_port) << "\n"
      << "ca_file = \"" << info().ca_file << "\"\n"
      << "[archive]\npath = \"" << archive << "\"\n"
      << "[mailboxes]\nlist = [" << quoted(imap) << "]\npop3 = [" << quoted(pop3) << "]\n";
    std::string path = info().dir + "/" + name;
    std::ofstream(path) << c.str();
    return path;
  }

  // Independent fetch with Python's poplib (tests/testbed/pop3_fetch.py).
  std::vector<PopMessage> poplibFetch(const std::string& mailbox) const {
    ProcessResult r = runProcess({"/usr/bin/python3", std::string(MAILARK_SOURCE_DIR) + "/tests/testbed/pop3_fetch.py",
                                  "--dir", info().dir, "--mailbox", mailbox});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<PopMessage> out;
    simdjson::dom::parser parser;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
      simdjson::dom::element e;
      if (parser.parse(line).get(e) != simdjson::SUCCESS) continue;
      std::string_view uidl, sha;
      PopMessage m;
      if (e["uidl"].get(uidl) || e["sha256"].get(sha) || e["size"].get(m.size)) continue;
      m.uidl = uidl, m.sha256 = sha;
      out.push_back(std::move(m));
    }
    return out;
  }

  // The seed manifest's INBOX entries of one mailbox: (imap_sha256, pop3_exact).
  std::vector<std::pair<std::string, bool>> manifestInbox(const std::string& mailbox) const {
    std::vector<std::pair<std::string, bool>> out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string text = readFile(info().dir + "/seed-manifest.json");
    if (parser.parse(text).get(doc) != simdjson::SUCCESS) return out;
    simdjson::dom::array entries;
    if (doc["mailboxes"][mailbox]["INBOX"].get(entries) != simdjson::SUCCESS) return out;
    for (simdjson::dom::element e : entries) {
      std::string_view sha;
      bool exact = false;
      if (e["imap_sha256"].get(sha) || e["pop3_exact"].get(exact)) continue;
      out.emplace_back(std::string(sha), exact);
    }
    return out;
  }

  static TestBed* bed_;
};

TestBed* Pop3ArchiveTest::bed_ = nullptr;

std::map<std::string, Row> byUidl(const std::vector<Row>& rows) {
  std::map<std::string, Row> out;
  for (const Row& r : rows) out[r.uidl] = r;
  return out;
}

TEST_F(Pop3ArchiveTest, MixedConfigArchivesBothProtocolsByteExactThenIncrementally) {
  const std::string imap_box = info().mailboxes[0], pop_box = info().mailboxes[1], pop_box2 = info().mailboxes[2];
  std::string archive = makeTempDir("mailark-pop3");
  std::string cfg = config("mixed.toml", archive, {imap_box}, {pop_box, pop_box2});

  ProcessResult run = mailark({"run", "--config", cfg});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;

  // IMAP mailbox archived as before: every folder, real UIDVALIDITY.
  std::vector<Row> imap_rows = lsJson(cfg, imap_box);
  EXPECT_EQ(imap_rows.size(), bed_->fetch(imap_box).size());
  for (const Row& r : imap_rows) {
    EXPECT_NE(r.uidvalidity, 0u);
    EXPECT_TRUE(r.uidl.empty());
  }

  for (const std::string& box : {pop_box, pop_box2}) {
    SCOPED_TRACE(box);
    std::vector<Row> rows = lsJson(cfg, box);
    std::vector<PopMessage> reference = poplibFetch(box);
    ASSERT_FALSE(reference.empty());
    ASSERT_EQ(rows.size(), reference.size());
    std::map<std::string, Row> archived = byUidl(rows);
    ASSERT_EQ(archived.size(), rows.size()) << "UIDLs must be unique";
    std::set<uint32_t> uids;
    for (const PopMessage& m : reference) {
      ASSERT_TRUE(archived.count(m.uidl)) << m.uidl;
      const Row& r = archived[m.uidl];
      EXPECT_EQ(r.sha256, m.sha256) << m.uidl;  // byte-exact with RETR after unstuffing
      EXPECT_EQ(r.size, m.size);
      EXPECT_EQ(r.folder, "INBOX");
      EXPECT_EQ(r.uidvalidity, 0u);
      uids.insert(r.uid);
    }
    EXPECT_EQ(uids.size(), rows.size());
    // The bytes in the store are those bytes.
    ProcessResult cat = mailark({"cat", "--config", cfg, rows.front().sha256});
    ASSERT_EQ(cat.exit_code, 0) << cat.err;
    EXPECT_EQ(sha256Hex(cat.out), rows.front().sha256);
    // Against the seed: messages ending in CRLF come back as IMAP returns them.
    std::set<std::string> shas;
    for (const Row& r : rows) shas.insert(r.sha256);
    size_t exact = 0;
    for (const auto& [sha, pop3_exact] : manifestInbox(box)) {
      if (!pop3_exact) continue;
      ++exact;
      EXPECT_TRUE(shas.count(sha)) << sha;
    }
    EXPECT_GT(exact, 0u);
  }

  // Nothing was deleted or read with TOP (Dovecot's pop3 logout line).
  std::string log = readFile(info().dir + "/dovecot.log");
  EXPECT_NE(log.find("del=0/"), std::string::npos);
  EXPECT_EQ(log.find("top=1"), std::string::npos);
  std::smatch m;
  std::string rest = log;
  while (std::regex_search(rest, m, std::regex("del=([0-9]+)/"))) {
    EXPECT_EQ(m[1], "0");
    rest = m.suffix();
  }

  // Second run: nothing new anywhere.
  ProcessResult again = mailark({"run", "--config", cfg});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(fetchedCount(again.out), 0) << again.out;

  // New messages are fetched exactly once.
  std::vector<std::string> delivered = bed_->deliver(pop_box, "INBOX", 3, 77);
  ASSERT_EQ(delivered.size(), 3u);
  ProcessResult third = mailark({"run", "--config", cfg});
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(fetchedCount(third.out), 3) << third.out;
  std::vector<Row> rows = lsJson(cfg, pop_box);
  for (const std::string& sha : delivered) {
    EXPECT_EQ(std::count_if(rows.begin(), rows.end(), [&](const Row& r) { return r.sha256 == sha; }), 1) << sha;
  }
  ProcessResult fourth = mailark({"run", "--config", cfg});
  ASSERT_EQ(fourth.exit_code, 0) << fourth.err;
  EXPECT_EQ(fetchedCount(fourth.out), 0) << fourth.out;
  EXPECT_EQ(lsJson(cfg, pop_box).size(), rows.size());
  removeTree(archive);
}

TEST_F(Pop3ArchiveTest, MessageArchivedOverImapThenPop3IsStoredOnce) {
  // user03 (seed 1) has an INBOX message without a final CRLF, which POP3
  // cannot return byte-exact: it is the one message stored twice.
  const std::string box = info().mailboxes[2];
  std::string archive = makeTempDir("mailark-pop3-dedup");
  std::string imap_cfg = config("dedup-imap.toml", archive, {box}, {});
  ProcessResult r1 = mailark({"run", "--config", imap_cfg});
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  long objects_after_imap = countObjects(imap_cfg);
  std::set<std::string> imap_inbox;
  for (const Row& r : lsJson(imap_cfg, box))
    if (r.folder == "INBOX") imap_inbox.insert(r.sha256);

  std::string pop_cfg = config("dedup-pop3.toml", archive, {}, {box});
  ProcessResult r2 = mailark({"run", "--config", pop_cfg});
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  size_t pop_rows = 0, shared = 0;
  for (const Row& r : lsJson(pop_cfg, box)) {
    if (r.uidl.empty()) continue;
    ++pop_rows;
    if (imap_inbox.count(r.sha256)) ++shared;
  }
  size_t exact = 0;
  std::vector<std::pair<std::string, bool>> inbox = manifestInbox(box);
  for (const auto& [sha, pop3_exact] : inbox) exact += pop3_exact ? 1 : 0;
  ASSERT_GT(pop_rows, 0u);
  EXPECT_EQ(pop_rows, inbox.size());
  EXPECT_EQ(shared, exact);
  EXPECT_GT(exact, 0u);
  // Only the messages POP3 cannot return byte-exact add objects.
  EXPECT_GT(objects_after_imap, 0);
  EXPECT_EQ(countObjects(pop_cfg), objects_after_imap + static_cast<long>(pop_rows - shared));
  removeTree(archive);
}

TEST_F(Pop3ArchiveTest, TokenWithoutPopRoleIsRefusedWithHint) {
  ASSERT_FALSE(info().nopop_client_id.empty()) << "test bed has no nopop app";
  const std::string box = info().mailboxes[4];
  std::string archive = makeTempDir("mailark-pop3-norole");
  std::string cfg = config("nopop.toml", archive, {}, {box}, 0, "nopop");
  ProcessResult r = mailark({"run", "--config", cfg});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("-ERR [AUTH] Authentication failed."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("POP.AccessAsApp"), std::string::npos) << r.err;
  EXPECT_TRUE(lsJson(cfg, box).empty());
  // The same app's IMAP role still works, so the refusal is POP-specific.
  std::string imap_cfg = config("nopop-imap.toml", archive, {box}, {}, 0, "nopop");
  ProcessResult imap = mailark({"run", "--config", imap_cfg});
  EXPECT_EQ(imap.exit_code, 0) << imap.err;
  removeTree(archive);
}

// A scripted fake POP3 server (tests/fakes/fake_pop3.py) on the bed's cert.
class FakePop3 {
 public:
  FakePop3(const BedInfo& info, const std::string& scenario) {
    dir_ = makeTempDir("mailark-fakepop3");
    pid_ = startProcess({"/usr/bin/python3", std::string(MAILARK_SOURCE_DIR) + "/tests/fakes/fake_pop3.py", "--cert",
                         info.dir + "/server.pem", "--key", info.dir + "/server.key", "--scenario", scenario,
                         "--port-file", dir_ + "/port", "--transcript", dir_ + "/transcript"});
    for (int i = 0; i < 200 && !fs::exists(dir_ + "/port"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    std::string port = readFile(dir_ + "/port");
    port_ = port.empty() ? 0 : std::stoi(port);
  }
  ~FakePop3() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitForExit(pid_);
    }
    removeTree(dir_);
  }
  int port() const { return port_; }
  std::string transcript() const { return readFile(dir_ + "/transcript"); }

 private:
  std::string dir_;
  int pid_ = -1;
  int port_ = 0;
};

struct FaultCase {
  const char* scenario;
  int exit_code;
  const char* error;  // expected in stderr; "" = none
  size_t rows;        // messages recorded afterwards
};

TEST_F(Pop3ArchiveTest, HostileServersGiveCleanPerMailboxErrors) {
  const std::string box = info().mailboxes[1];
  const std::vector<FaultCase> cases = {
      {"drop_mid_retr", 1, "middle of a multi-line reply", 1},
      {"long_line", 1, "line longer than", 0},
      {"dup_uidl", 1, "same UIDL \"same\"", 0},
      {"unterminated", 1, "middle of a multi-line reply", 0},
      {"empty_retr", 0, "", 0},
      {"garbage", 1, "malformed status line", 0},
  };
  for (const FaultCase& c : cases) {
    SCOPED_TRACE(c.scenario);
    FakePop3 fake(info(), c.scenario);
    ASSERT_NE(fake.port(), 0);
    std::string archive = makeTempDir("mailark-pop3-fault");
    // The IMAP mailbox beside it must not be affected.
    std::string cfg = config(std::string("fault-") + c.scenario + ".toml", archive, {info().mailboxes[0]}, {box},
                             fake.port());
    ProcessResult r = mailark({"run", "--config", cfg});
    EXPECT_EQ(r.exit_code, c.exit_code) << r.out << r.err;
    if (*c.error) {
      EXPECT_NE(r.err.find(c.error), std::string::npos) << r.err;
    }
    std::vector<Row> rows = lsJson(cfg, box);
    EXPECT_EQ(rows.size(), c.rows);
    if (c.rows == 1) {
      EXPECT_EQ(rows[0].uidl, "u1");
    }
    EXPECT_EQ(lsJson(cfg, info().mailboxes[0]).size(), bed_->fetch(info().mailboxes[0]).size());
    // Nothing half-written: every object belongs to a row (IMAP ones included).
    std::set<std::string> shas;
    for (const std::string& mb : {box, info().mailboxes[0]})
      for (const Row& row : lsJson(cfg, mb)) shas.insert(row.sha256);
    EXPECT_EQ(countObjects(cfg), static_cast<long>(shas.size()));
    EXPECT_EQ(fake.transcript().find("DELE"), std::string::npos);
    EXPECT_EQ(fake.transcript().find("TOP"), std::string::npos);
    removeTree(archive);
  }
}

TEST_F(Pop3ArchiveTest, ExactCommandTranscriptAndUnstuffedBytes) {
  const std::string box = info().mailboxes[1];
  FakePop3 fake(info(), "ok");
  ASSERT_NE(fake.port(), 0);
  std::string archive = makeTempDir("mailark-pop3-ok");
  std::string cfg = config("fake-ok.toml", archive, {}, {box}, fake.port());
  ProcessResult r = mailark({"run", "--config", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fake.transcript(), "CAPA\nAUTH XOAUTH2\n<payload>\nUIDL\nRETR 1\nRETR 2\nQUIT\n");
  std::vector<Row> rows = lsJson(cfg, box);
  ASSERT_EQ(rows.size(), 2u);
  ProcessResult cat = mailark({"cat", "--config", cfg, rows[0].sha256});
  EXPECT_EQ(cat.out, "From: a@contoso.test\r\nSubject: one\r\n\r\nHello\r\n.leading dot\r\n");
  EXPECT_EQ(rows[0].uidl, "u1");
  EXPECT_EQ(rows[1].uidl, "u2");
  removeTree(archive);
}

}  // namespace
}  // namespace mailark::test
