// Issue 6 (engine): several connections per mailbox, partial-fetch resume
// of a large message, and reconnecting before the token expires. The
// scripted server (tests/fakes) shows which connection sent what; the real
// Dovecot bed shows that more connections archive exactly the same set.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <simdjson.h>
#include <sstream>
#include <tuple>

#include "tests/support/mailark_ls.h"
#include "tests/support/scripted_server.h"
#include "tests/support/testbed.h"

namespace mailark::test {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMiB = 1024 * 1024;

// One body UID FETCH the server received (whole BODY[] or a partial).
struct BodyFetch {
  int conn = 0;
  std::vector<uint32_t> uids;
  int64_t origin = -1;  // BODY.PEEK[]<origin.length>; -1 for a whole BODY[]
  int64_t length = -1;
  std::string text;
};

std::vector<BodyFetch> bodyFetches(const std::vector<TranscriptLine>& lines, const std::string& user) {
  static const std::regex kFetch(R"(^\S+ UID FETCH (\S+) \(.*BODY\.PEEK\[\](<([0-9]+)\.([0-9]+)>)?)");
  std::vector<BodyFetch> out;
  for (const TranscriptLine& l : lines) {
    std::smatch m;
    if (l.user != user || !std::regex_search(l.text, m, kFetch)) continue;
    BodyFetch f;
    f.conn = l.conn;
    f.uids = uidsInSet(m[1]);
    if (m[2].matched) {
      f.origin = std::stoll(m[3]);
      f.length = std::stoll(m[4]);
    }
    f.text = l.text;
    out.push_back(std::move(f));
  }
  return out;
}

size_t countLines(const std::vector<TranscriptLine>& lines, const std::string& user, const std::string& needle) {
  return std::count_if(lines.begin(), lines.end(), [&](const TranscriptLine& l) {
    return l.user == user && l.text.find(needle) != std::string::npos;
  });
}

// The bytes the scripted server sent before cutting a connection (its
// "CUT ... sent=N" transcript line, matched by `cut` with N as group 2);
// -1 if it never cut one.
int64_t sentBeforeCut(const std::vector<TranscriptLine>& lines, const std::regex& cut) {
  int64_t sent = -1;
  for (const TranscriptLine& l : lines) {
    std::smatch m;
    if (std::regex_match(l.text, m, cut)) sent = std::stoll(m[2]);
  }
  return sent;
}

std::vector<uint32_t> oneTo(uint32_t n) {
  std::vector<uint32_t> v;
  for (uint32_t u = 1; u <= n; ++u) v.push_back(u);
  return v;
}

// `connections` of every mailbox_finished event in a --json-events file;
// -1 when an event lacks the field.
std::map<std::string, int64_t> connectionsByMailbox(const std::string& events) {
  std::map<std::string, int64_t> out;
  simdjson::dom::parser parser;
  std::istringstream lines(readFile(events));
  std::string line;
  while (std::getline(lines, line)) {
    simdjson::dom::element e;
    std::string_view event, mailbox;
    if (parser.parse(line).get(e) != simdjson::SUCCESS || e["event"].get(event) != simdjson::SUCCESS) {
      ADD_FAILURE() << "not a JSON event: " << line;
      continue;
    }
    if (event != "mailbox_finished" || e["mailbox"].get(mailbox) != simdjson::SUCCESS) continue;
    int64_t n = -1;
    if (e["connections"].get(n) != simdjson::SUCCESS) n = -1;
    out[std::string(mailbox)] = n;
  }
  return out;
}

// The fake Entra endpoint's test hooks, through the curl tool.
std::string hook(const BedInfo& bed, const std::string& path, const std::string& post = "") {
  std::vector<std::string> argv = {"/usr/bin/curl", "-s", "--cacert", bed.ca_file};
  if (!post.empty()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "-d", post});
  argv.push_back(bed.authority + path);
  ProcessResult r = runProcess(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

int64_t tokenLifetime(const BedInfo& bed) {
  std::string body = hook(bed, "/_stats");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  int64_t lifetime = -1;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS || doc["token_lifetime"].get(lifetime) != simdjson::SUCCESS)
    ADD_FAILURE() << "no token_lifetime in /_stats: " << body;
  return lifetime;
}

// Sets the endpoint's token lifetime for one scope and puts the old one back,
// since the bed is shared by the suite.
class TokenLifetime {
 public:
  TokenLifetime(const BedInfo& bed, int64_t seconds) : bed_(bed), old_(tokenLifetime(bed)) {
    set(seconds);
  }
  ~TokenLifetime() {
    if (old_ > 0) set(old_);
  }

 private:
  void set(int64_t seconds) {
    std::string answer = hook(bed_, "/_config", "{\"token_lifetime\":" + std::to_string(seconds) + "}");
    EXPECT_NE(answer.find("ok"), std::string::npos) << answer;
  }
  const BedInfo& bed_;
  int64_t old_;
};

class EngineConnections : public ::testing::Test {
 protected:
  // Seeded: the Dovecot test needs mailboxes with several non-empty folders.
  static void SetUpTestSuite() { bed_ = new TestBed({"--mailboxes", "3"}); }
  static void TearDownTestSuite() {
    delete bed_;
    bed_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(bed_->ok()) << bed_->error();
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    archive_ = bed_->info().dir + "/" + name_;
    user_ = bed_->info().mailboxes[0];
  }

  // A config for the scripted server's one mailbox; `sections` ([limits],
  // [imap]) is appended as is.
  std::string scriptedConfig(const ScriptedImapServer& server, const std::string& sections,
                             const std::string& suffix = "") {
    std::string extra = "ca_file = \"" + bed_->info().ca_file + "\"\n";
    std::string path = bed_->writeConfig(name_ + suffix + ".toml", archive_ + suffix, {user_}, "", extra);
    // Point [server] at the scripted server instead of Dovecot.
    std::string text = std::regex_replace(readFile(path), std::regex("port = [0-9]+"),
                                          "port = " + std::to_string(server.port()));
    std::ofstream(path) << text << sections;
    return path;
  }

  // A config for the bed's Dovecot and every bed mailbox.
  std::string dovecotConfig(const std::string& suffix, const std::string& sections) {
    std::string path = bed_->writeConfig(name_ + suffix + ".toml", archive_ + suffix, bed_->info().mailboxes);
    std::ofstream(path, std::ios::app) << sections;
    return path;
  }

  static std::vector<uint32_t> archivedUids(const std::string& cfg) {
    std::vector<uint32_t> uids;
    for (const Row& r : lsJson(cfg)) uids.push_back(r.uid);
    std::sort(uids.begin(), uids.end());
    return uids;
  }

  void fetchLargeFolder(int per_mailbox);

  // UID `uid` is archived as exactly `expected`, also as `mailark cat` reads it back.
  static void expectArchivedAs(const std::string& cfg, uint32_t uid, const std::string& expected) {
    std::vector<Row> rows = lsJson(cfg);
    auto row = std::find_if(rows.begin(), rows.end(), [&](const Row& x) { return x.uid == uid; });
    ASSERT_NE(row, rows.end()) << "UID " << uid << " not archived";
    EXPECT_EQ(row->sha256, sha256Hex(expected));
    EXPECT_EQ(row->size, expected.size());
    ProcessResult cat = mailark({"cat", "--config", cfg, row->sha256});
    ASSERT_EQ(cat.exit_code, 0) << cat.err;
    EXPECT_TRUE(cat.out == expected) << "archived bytes differ from the server's (" << cat.out.size() << " vs "
                                     << expected.size() << " bytes)";
  }

  static TestBed* bed_;
  std::string name_;
  std::string archive_;
  std::string user_;
};

TestBed* EngineConnections::bed_ = nullptr;

// (b) A connection lost inside a large message's literal after more than
// 1 MiB arrived: the job continues from the byte where it stopped with
// BODY.PEEK[]<offset.rest> (rest = the literal size the server announced
// minus what arrived) instead of fetching the message again.
TEST_F(EngineConnections, PartialFetchResumesLargeMessage) {
  ScriptedImapServer server(*bed_, "resume_big", {"--messages", "3", "--big-bytes", std::to_string(6 * kMiB)});
  ASSERT_GT(server.port(), 0);
  const uint32_t big = 4;
  std::string expected = server.message(big);
  ASSERT_EQ(expected.size(), 6 * kMiB);

  // Whole, as with one connection: pieces (the next test) would not be cut.
  std::string cfg = scriptedConfig(server, "[imap]\nsplit_message_mb = 0\n");
  ProcessResult r = mailark({"run", "--config", cfg});
  if (r.exit_code != 0) r = mailark({"run", "--config", cfg});  // a rerun may finish the job
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // Every message archived; the big one byte for byte.
  EXPECT_EQ(archivedUids(cfg), oneTo(big));
  expectArchivedAs(cfg, big, expected);

  std::vector<TranscriptLine> lines = server.transcriptLines();
  // The server cut the connection inside the big literal, once.
  static const std::regex kCut("^CUT uid=([0-9]+) sent=([0-9]+) of=([0-9]+)$");
  int64_t sent = sentBeforeCut(lines, kCut);
  ASSERT_GE(sent, static_cast<int64_t>(kMiB)) << server.transcript();

  int whole_fetches_of_big = 0;
  std::vector<int64_t> origins;
  static const std::regex kResume(R"(UID FETCH 4 \(UID INTERNALDATE FLAGS BODY\.PEEK\[\]<[0-9]+\.[0-9]+>\))");
  for (const BodyFetch& f : bodyFetches(lines, user_)) {
    if (std::find(f.uids.begin(), f.uids.end(), big) == f.uids.end()) continue;
    if (f.origin < 0) {
      ++whole_fetches_of_big;
    } else {
      origins.push_back(f.origin);
      EXPECT_TRUE(std::regex_search(f.text, kResume)) << f.text;
      EXPECT_EQ(f.origin + f.length, static_cast<int64_t>(expected.size())) << f.text;
    }
  }
  // Fetched whole once (the cut one), never again from byte 0.
  EXPECT_EQ(whole_fetches_of_big, 1) << server.transcript();
  ASSERT_FALSE(origins.empty()) << "no partial fetch of UID 4:\n" << server.transcript();
  // It continued where it stopped: past the first MiB, not past what was sent.
  EXPECT_GE(origins.front(), static_cast<int64_t>(kMiB));
  EXPECT_LE(origins.front(), sent);
  for (int64_t o : origins) EXPECT_GT(o, 0);

  // Nothing half-written left behind, and nothing left to do.
  if (fs::exists(archive_ + "/tmp")) {
    EXPECT_TRUE(fs::is_empty(archive_ + "/tmp"));
  }
  ProcessResult again = mailark({"run", "--config", cfg});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(fetchedCount(again.out), 0) << again.out;
}

// (b2) A large message comes in 1 MiB pieces (BODY.PEEK[]<offset.length>)
// over every connection of its mailbox at once, since Exchange caps each
// connection's rate; the pieces are put back together in order and the
// archived message is the server's, byte for byte.
TEST_F(EngineConnections, LargeMessageComesInPiecesOverTheMailboxConnections) {
  // resume_big only cuts a whole-body fetch of the big message, never a piece.
  ScriptedImapServer server(*bed_, "resume_big",
                            {"--messages", "3", "--big-bytes", std::to_string(6 * kMiB + 123), "--fetch-delay-ms", "100"});
  ASSERT_GT(server.port(), 0);
  const uint32_t big = 4;
  std::string expected = server.message(big);
  std::string cfg = scriptedConfig(server, "[limits]\nconnections_per_mailbox = 2\n");
  ProcessResult r = mailark({"run", "--config", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(archivedUids(cfg), oneTo(big));
  expectArchivedAs(cfg, big, expected);

  // Never asked for whole; the pieces tile the message from byte 0 with no
  // gap or overlap, and came over both connections.
  std::vector<TranscriptLine> lines = server.transcriptLines();
  std::map<int64_t, int64_t> pieces;  // origin -> length
  std::set<int> conns;
  for (const BodyFetch& f : bodyFetches(lines, user_)) {
    if (std::find(f.uids.begin(), f.uids.end(), big) == f.uids.end()) continue;
    ASSERT_GE(f.origin, 0) << "the big message was asked for whole: " << f.text;
    EXPECT_EQ(f.length, static_cast<int64_t>(kMiB)) << f.text;
    EXPECT_TRUE(pieces.emplace(f.origin, f.length).second) << "asked twice: " << f.text;
    conns.insert(f.conn);
  }
  int64_t next = 0;
  for (const auto& [origin, length] : pieces) {
    EXPECT_EQ(origin, next);
    next = origin + length;
  }
  EXPECT_GE(next, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(pieces.size(), expected.size() / kMiB + 1);
  EXPECT_EQ(conns.size(), 2u) << "pieces came from connections " << ::testing::PrintToString(conns);

  ProcessResult again = mailark({"run", "--config", cfg});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(fetchedCount(again.out), 0) << again.out;
}

// (b3) A connection lost inside a piece: a piece that was streaming
// straight into the message keeps what arrived and only its rest is asked
// for again; one held aside is asked for again whole. Either way the
// message is archived byte for byte and nothing is fetched twice later.
TEST_F(EngineConnections, PieceCutOffMidwayIsAskedForAgain) {
  for (uint64_t origin : {uint64_t{0}, 3 * kMiB}) {
    SCOPED_TRACE("cut piece from byte " + std::to_string(origin));
    ScriptedImapServer server(*bed_, "resume_big",
                              {"--messages", "3", "--big-bytes", std::to_string(5 * kMiB), "--cut-piece",
                               std::to_string(origin), "--fetch-delay-ms", "50"});
    ASSERT_GT(server.port(), 0);
    const uint32_t big = 4;
    std::string expected = server.message(big);
    std::string cfg = scriptedConfig(server, "[limits]\nconnections_per_mailbox = 2\n", "-" + std::to_string(origin));
    ProcessResult r = mailark({"run", "--config", cfg});
    if (r.exit_code != 0) r = mailark({"run", "--config", cfg});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expectArchivedAs(cfg, big, expected);

    // The cut happened; afterwards the bytes of that piece were asked for
    // once more (its rest, or all of it), and no other piece twice.
    std::vector<TranscriptLine> lines = server.transcriptLines();
    static const std::regex kCut("^CUT uid=4 piece=([0-9]+) sent=([0-9]+) of=([0-9]+)$");
    int64_t sent = sentBeforeCut(lines, kCut);
    ASSERT_GT(sent, 0) << server.transcript();
    std::map<int64_t, int> asked;  // origin -> times
    std::map<int64_t, int64_t> length;
    for (const BodyFetch& f : bodyFetches(lines, user_)) {
      if (std::find(f.uids.begin(), f.uids.end(), big) == f.uids.end()) continue;
      ++asked[f.origin];
      length[f.origin] = f.length;
    }
    EXPECT_EQ(asked.count(-1), 0u) << "asked for whole";
    // Streaming straight in: asked again from past the piece's start (no
    // further than the server got) to its end. Held aside: asked again whole.
    const int64_t o = static_cast<int64_t>(origin), piece_end = o + static_cast<int64_t>(kMiB);
    int asked_again = asked[o] - 1;
    for (const auto& [at, times] : asked) {
      if (at <= o || at >= piece_end) continue;
      ++asked_again;
      EXPECT_LE(at, o + sent);
      EXPECT_EQ(at + length[at], piece_end);
    }
    EXPECT_EQ(asked_again, 1) << ::testing::PrintToString(asked);
    for (const auto& [at, times] : asked) {
      if (at == o) continue;
      EXPECT_EQ(times, 1) << "piece from " << at << " asked " << times << " times";
    }
    ProcessResult again = mailark({"run", "--config", cfg});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(fetchedCount(again.out), 0) << again.out;
  }
}

// (c) A run much longer than the token lifetime: every connection logs out
// and back in with a fresh token at a checkpoint before its token expires,
// so the server never has to end a session with AccessTokenExpired.
TEST_F(EngineConnections, ProactiveReconnectBeforeTokenExpiry) {
  // 480 messages in batches of 4 on one connection, each body FETCH answered
  // after 250 ms: at least 120 x 250 ms = 30 s of fetching, more than two
  // 12-second token lifetimes.
  const uint32_t messages = 480;
  ScriptedImapServer server(*bed_, "token_expiry",
                            {"--messages", std::to_string(messages), "--fetch-delay-ms", "250"});
  ASSERT_GT(server.port(), 0);
  std::string cfg = scriptedConfig(server, "[limits]\nconnections_per_mailbox = 1\n[imap]\nbatch_messages = 4\n");
  ProcessResult r;
  {
    TokenLifetime short_tokens(bed_->info(), 12);
    r = mailark({"run", "--config", cfg});
  }
  EXPECT_EQ(r.exit_code, 0) << r.err;

  std::vector<TranscriptLine> lines = server.transcriptLines();
  EXPECT_EQ(countLines(lines, user_, "KICK"), 0u) << r.err;
  // Over 24 s of fetching with 12 s tokens and no session ended by the
  // server takes at least three logins.
  EXPECT_GE(countLines(lines, user_, " AUTHENTICATE "), 3u);
  // Each of those sessions but the last was ended by the client: LOGOUT.
  EXPECT_GE(countLines(lines, user_, " LOGOUT"), 2u);
  EXPECT_EQ(archivedUids(cfg), oneTo(messages));
}

// (a) One large folder of 1200 messages in batches of 100 over
// `per_mailbox` connections: every connection takes batches, each UID is
// asked for exactly once, and no more connections are open than allowed.
void EngineConnections::fetchLargeFolder(int per_mailbox) {
  const TestBed& bed = *bed_;
  const std::string& user = user_;
  const uint32_t messages = 1200;
  // The delay keeps the 12 batches from all going out on the first
  // connection before the second one has logged in.
  ScriptedImapServer server(bed, "normal", {"--messages", std::to_string(messages), "--fetch-delay-ms", "100"});
  ASSERT_GT(server.port(), 0);
  std::string cfg = scriptedConfig(server, "[limits]\nconnections_per_mailbox = " + std::to_string(per_mailbox) +
                                                 "\n[imap]\nbatch_messages = 100\n");
  std::string events = archive_ + "-events.jsonl";
  ProcessResult r = mailark({"run", "--config", cfg, "--json-events", events});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::vector<TranscriptLine> lines = server.transcriptLines();
  std::set<int> conns;
  std::multiset<uint32_t> asked;
  for (const BodyFetch& f : bodyFetches(lines, user)) {
    EXPECT_EQ(f.origin, -1) << "no partial fetch expected: " << f.text;
    EXPECT_LE(f.uids.size(), 100u) << f.text;
    conns.insert(f.conn);
    asked.insert(f.uids.begin(), f.uids.end());
  }
  EXPECT_EQ(conns.size(), static_cast<size_t>(per_mailbox))
      << "body fetches came from connections " << ::testing::PrintToString(conns);
  for (uint32_t u = 1; u <= messages; ++u) EXPECT_EQ(asked.count(u), 1u) << "UID " << u;
  EXPECT_EQ(asked.size(), messages);
  EXPECT_EQ(peakConnections(lines, user), per_mailbox);
  EXPECT_EQ(archivedUids(cfg), oneTo(messages));
  EXPECT_EQ(connectionsByMailbox(events), (std::map<std::string, int64_t>{{user, per_mailbox}})) << readFile(events);
}

TEST_F(EngineConnections, LargeFolderSplitAcrossConnections) { fetchLargeFolder(2); }

TEST_F(EngineConnections, OneConnectionPerMailboxUsesOne) { fetchLargeFolder(1); }

// The run has connections to spare: the mailbox's second connection logs
// in while the first one's LIST is still unanswered, instead of after it
// (its connect and login overlap the listing).
TEST_F(EngineConnections, SecondConnectionLogsInWhileTheFirstLists) {
  ScriptedImapServer server(*bed_, "normal", {"--messages", "20", "--list-delay-ms", "2000"});
  ASSERT_GT(server.port(), 0);
  std::string cfg = scriptedConfig(server, "[limits]\nconnections_per_mailbox = 2\n");
  ProcessResult r = mailark({"run", "--config", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::vector<TranscriptLine> lines = server.transcriptLines();
  double list_answered = 0;
  std::map<int, double> logins;  // connection -> time of its AUTHENTICATE
  for (const TranscriptLine& l : lines) {
    if (l.user != user_) continue;
    if (l.text == "LIST answered" && list_answered == 0) list_answered = l.time;
    if (l.text.find(" AUTHENTICATE ") != std::string::npos) logins.emplace(l.conn, l.time);
  }
  ASSERT_GT(list_answered, 0) << "no LIST in the transcript";
  ASSERT_EQ(logins.size(), 2u) << "expected two connections for the mailbox";
  size_t early = std::count_if(logins.begin(), logins.end(), [&](const auto& e) { return e.second < list_answered; });
  EXPECT_EQ(early, 2u) << "the second connection logged in only after LIST was answered";
  EXPECT_EQ(archivedUids(cfg), oneTo(20));
}

// More than 4 connections per mailbox risks Exchange's per-mailbox limit:
// refused unless explicitly allowed, and then warned about.
TEST_F(EngineConnections, ManyConnectionsPerMailboxNeedTheAllowFlag) {
  ScriptedImapServer server(*bed_, "normal");
  ASSERT_GT(server.port(), 0);
  std::string refused = scriptedConfig(server, "[limits]\nconnections_per_mailbox = 6\n", "-refused");
  ProcessResult r = mailark({"run", "--config", refused});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("allow_many_connections_per_mailbox"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(archive_ + "-refused/state.db")) << "nothing may run on a refused config";

  std::string allowed = scriptedConfig(
      server, "[limits]\nconnections_per_mailbox = 6\nallow_many_connections_per_mailbox = true\n", "-allowed");
  r = mailark({"run", "--config", allowed});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string lower = r.err;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  EXPECT_NE(lower.find("warn"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("connections_per_mailbox"), std::string::npos) << r.err;
  EXPECT_EQ(archivedUids(allowed), oneTo(3));
}

// On the real Dovecot: two connections per mailbox archive exactly what one
// does, and a mailbox with several non-empty folders really used two.
TEST_F(EngineConnections, TwoConnectionsArchiveTheSameAsOne) {
  // Small batches so that folders take several UID FETCHes each.
  const std::string imap = "[imap]\nbatch_messages = 5\n";
  std::string one = dovecotConfig("-one", "[limits]\nconnections_per_mailbox = 1\n" + imap);
  std::string two = dovecotConfig("-two", "[limits]\nconnections_per_mailbox = 2\n" + imap);
  std::string events_one = archive_ + "-one-events.jsonl";
  std::string events_two = archive_ + "-two-events.jsonl";
  ProcessResult r1 = mailark({"run", "--config", one, "--json-events", events_one});
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  ProcessResult r2 = mailark({"run", "--config", two, "--json-events", events_two});
  ASSERT_EQ(r2.exit_code, 0) << r2.err;

  using Key = std::tuple<std::string, std::string, uint32_t, uint32_t, std::string>;
  auto keys = [](const std::string& cfg) {
    std::set<Key> out;
    for (const Row& r : lsJson(cfg)) {
      EXPECT_TRUE(out.emplace(r.mailbox, r.folder, r.uidvalidity, r.uid, r.sha256).second)
          << "archived twice: " << r.mailbox << " " << r.folder << " " << r.uid;
    }
    return out;
  };
  std::set<Key> with_one = keys(one);
  std::set<Key> with_two = keys(two);
  EXPECT_FALSE(with_one.empty());
  EXPECT_EQ(with_one, with_two);

  // Both equal what the server holds (independent imaplib fetch).
  std::set<std::tuple<std::string, std::string, uint32_t, std::string>> truth, got;
  std::map<std::string, std::set<std::string>> nonempty_folders;
  for (const std::string& m : bed_->info().mailboxes) {
    for (const FetchedMessage& f : bed_->fetch(m)) {
      truth.emplace(m, f.folder, f.uid, f.sha256);
      nonempty_folders[m].insert(f.folder);
    }
  }
  for (const Key& k : with_two) got.emplace(std::get<0>(k), std::get<1>(k), std::get<3>(k), std::get<4>(k));
  EXPECT_EQ(got, truth);

  std::map<std::string, int64_t> c1 = connectionsByMailbox(events_one);
  std::map<std::string, int64_t> c2 = connectionsByMailbox(events_two);
  ASSERT_EQ(c2.size(), bed_->info().mailboxes.size()) << readFile(events_two);
  for (const std::string& m : bed_->info().mailboxes) {
    EXPECT_EQ(c1[m], 1) << m;
    if (nonempty_folders[m].size() >= 2) {
      EXPECT_EQ(c2[m], 2) << m;
    } else {
      EXPECT_GE(c2[m], 1) << m;
    }
  }
}

}  // namespace
}  // namespace mailark::test
