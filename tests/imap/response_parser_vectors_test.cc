// Sweeps ResponseParser over the recorded server responses under
// shared/vectors/imap: every file must give the same result whole, split at
// many offsets and one byte at a time; files recorded from working
// sessions must parse with no error.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "src/imap/response_parser.h"
#include "tests/imap/parser_harness.h"

namespace mailark::imap {
namespace {

namespace fs = std::filesystem;
using testing::everyByte;
using testing::RunResult;
using testing::runParser;

const std::string kVectors = MAILARK_SHARED_DIR "/vectors/imap";

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whole vs one byte at a time vs splits (every offset for small files,
// a spread of offsets for big ones). Returns the whole-feed result.
RunResult checkChunkingAgrees(const std::string& name, const std::string& bytes) {
  const RunResult whole = runParser(bytes, {});
  const std::string expect = whole.summary();
  EXPECT_EQ(runParser(bytes, everyByte(bytes.size())).summary(), expect) << name << " bytewise";
  const size_t step = bytes.size() <= 2048 ? 1 : bytes.size() / 97;
  for (size_t cut = 1; cut < bytes.size(); cut += step) {
    const RunResult split = runParser(bytes, {cut});
    if (split.summary() != expect) {
      ADD_FAILURE() << name << " differs when split at " << cut;
      break;
    }
  }
  return whole;
}

// MailKit's INDEX.md table: "| imap/<dir>/<file> | bytes | lit | ..." gives
// each replay file's literal count.
std::map<std::string, int> mailkitLiteralCounts() {
  std::map<std::string, int> out;
  std::ifstream in(kVectors + "/mailkit/INDEX.md");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("| imap/")) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(cell);
    if (cells.size() < 4) continue;
    const std::string file = cells[1].substr(6, cells[1].find_last_not_of(' ') - 5);
    out[file] = std::stoi(cells[3]);
  }
  return out;
}

// MailKit replay files were all recorded from working sessions (two of
// them with server quirks the parser tolerates: issue115 and
// headers.1+unsolicited-info), so all must parse, announcing as many
// literals as the index counts.
TEST(ResponseParserVectors, MailKitRecordedSessions) {
  const std::map<std::string, int> literal_counts = mailkitLiteralCounts();
  ASSERT_EQ(literal_counts.size(), 350u);
  int files = 0, total_literals = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kVectors + "/mailkit")) {
    if (!entry.is_regular_file() || entry.path().extension() != ".txt") continue;
    const std::string rel = fs::relative(entry.path(), kVectors + "/mailkit").string();
    const std::string bytes = readFile(entry.path());
    const RunResult r = checkChunkingAgrees(rel, bytes);
    ++files;
    int literals = 0;
    for (const std::string& line : r.transcript) literals += line.starts_with("literal ");
    total_literals += literals;
    EXPECT_TRUE(r.status.isOk()) << rel << ": " << r.status.toString();
    EXPECT_TRUE(r.idle) << rel << " left a response half-parsed";
    EXPECT_FALSE(r.responses.empty()) << rel;
    auto expected = literal_counts.find(rel);
    ASSERT_NE(expected, literal_counts.end()) << rel << " not in INDEX.md";
    EXPECT_EQ(literals, expected->second) << rel;
  }
  EXPECT_EQ(files, 350);
  EXPECT_EQ(total_literals, 90);
}

TEST(ResponseParserVectors, MailKitQuirksReadAsIntended) {
  const RunResult copyuid = runParser(readFile(kVectors + "/mailkit/exchange/issue115.txt"), {});
  ASSERT_FALSE(copyuid.responses.empty());
  EXPECT_EQ(copyuid.transcript[0], "* OK [COPYUID 55 31 6] \"\"");
  const RunResult gmail =
      runParser(readFile(kVectors + "/mailkit/gmail/headers.1+unsolicited-info.txt"), {});
  ASSERT_EQ(gmail.responses.size(), 2u);
  const std::vector<Value>& items = gmail.responses[0].values[2].list;
  ASSERT_FALSE(items.empty());
  EXPECT_EQ(items.back().type, Value::Type::String);
  EXPECT_EQ(items.back().text.size(), 515u);
}

struct IndexedCase {
  std::string file;
  std::string expect;
  bool ends_crlf = true;
};

// Reads <dir>/index.json ("cases": [{file, expect, ends_crlf}]).
std::vector<IndexedCase> loadIndex(const std::string& dir) {
  std::vector<IndexedCase> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.load(kVectors + "/" + dir + "/index.json").get(doc) != simdjson::SUCCESS) {
    ADD_FAILURE() << "cannot load " << dir << "/index.json";
    return out;
  }
  simdjson::dom::array rows;
  if (doc["cases"].get(rows) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element row : rows) {
    IndexedCase c;
    std::string_view file, expect;
    bool crlf = true;
    if (row["file"].get(file) || row["expect"].get(expect) || row["ends_crlf"].get(crlf)) {
      ADD_FAILURE() << "malformed index row in " << dir;
      continue;
    }
    c.file.assign(file);
    c.expect.assign(expect);
    c.ends_crlf = crlf;
    out.push_back(std::move(c));
  }
  return out;
}

// Extracted library test vectors. "ok?" with a final CRLF must parse;
// "incomplete" must wait for more bytes without error; "error?" rows are
// what strict, semantic parsers reject and only have to agree across
// chunkings (this parser is lenient at the syntax level on purpose).
// A response split around a literal has its whole form in *.joined.txt:
// the split file must wait for the literal, the joined one must parse.
// `complete_lines` lists files whose upstream expectation is about that
// library's semantics, not syntax: complete lines that must parse here.
void sweepIndexed(const std::string& dir, const std::set<std::string>& complete_lines) {
  const std::vector<IndexedCase> cases = loadIndex(dir);
  ASSERT_FALSE(cases.empty()) << dir;
  for (const IndexedCase& c : cases) {
    const std::string base = kVectors + "/" + dir + "/responses/";
    const std::string name = dir + "/" + c.file;
    const RunResult r = checkChunkingAgrees(name, readFile(base + c.file));
    const std::string joined = c.file.substr(0, c.file.size() - 4) + ".joined.txt";
    if (fs::exists(base + joined)) {
      EXPECT_TRUE(r.status.isOk()) << name << ": " << r.status.toString();
      EXPECT_FALSE(r.idle) << name << " should wait for its literal";
      const RunResult j = checkChunkingAgrees(dir + "/" + joined, readFile(base + joined));
      EXPECT_TRUE(j.status.isOk()) << joined << ": " << j.status.toString();
      EXPECT_TRUE(j.idle) << joined;
      continue;
    }
    if (complete_lines.count(c.file) != 0 || (c.expect == "ok?" && c.ends_crlf)) {
      EXPECT_TRUE(r.status.isOk()) << name << ": " << r.status.toString();
      EXPECT_TRUE(r.idle) << name;
    } else if (c.expect == "incomplete") {
      EXPECT_TRUE(r.status.isOk()) << name << ": " << r.status.toString();
      EXPECT_FALSE(r.idle) << name;
    }
  }
}

TEST(ResponseParserVectors, GoImap) { sweepIndexed("go-imap", {}); }
// imap-codec calls "* NO x" an incomplete greeting (it wants OK/PREAUTH/BYE).
TEST(ResponseParserVectors, ImapCodec) {
  sweepIndexed("imap-codec", {"imapcodec-009-test_greeting_incomplete_failed.txt"});
}
TEST(ResponseParserVectors, RustImap) { sweepIndexed("rust-imap", {}); }
// imap-proto cannot parse an empty BADCHARSET list and asks for more bytes.
TEST(ResponseParserVectors, TokioImapProto) {
  sweepIndexed("tokio-imap-imap-proto", {"imapproto-046-test_response_codes.txt"});
}

// node-imap's cases come with the chunk boundaries node-imap itself used.
TEST(ResponseParserVectors, NodeImapWithOriginalChunks) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.load(kVectors + "/node-imap/index.json").get(doc), simdjson::SUCCESS);
  simdjson::dom::array rows;
  ASSERT_EQ(doc["responses"].get(rows), simdjson::SUCCESS);
  int count = 0;
  for (simdjson::dom::element row : rows) {
    std::string_view file;
    simdjson::dom::array bounds;
    ASSERT_EQ(row["file"].get(file), simdjson::SUCCESS);
    ASSERT_EQ(row["chunk_boundaries"].get(bounds), simdjson::SUCCESS);
    std::vector<size_t> cuts;
    for (simdjson::dom::element b : bounds) {
      uint64_t at = 0;
      ASSERT_EQ(b.get(at), simdjson::SUCCESS);
      cuts.push_back(at);
    }
    const std::string name(file);
    const std::string bytes = readFile(kVectors + "/node-imap/" + name);
    const RunResult whole = checkChunkingAgrees(name, bytes);
    EXPECT_TRUE(whole.status.isOk()) << name << ": " << whole.status.toString();
    EXPECT_TRUE(whole.idle) << name;
    EXPECT_EQ(runParser(bytes, cuts).summary(), whole.summary()) << name;
    ++count;
  }
  EXPECT_EQ(count, 33);
}

// imapflow's MIME-torture FETCH: the fixed file parses; the original
// announces {71} but carries 72 bytes, which must end in a clean error or
// a parse, never a crash, and the same either way it is chunked.
TEST(ResponseParserVectors, ImapflowMimeTorture) {
  const std::string fixed = readFile(kVectors + "/imapflow/mimetorture-fetch.fixed.txt");
  const RunResult r = checkChunkingAgrees("fixed", fixed);
  EXPECT_TRUE(r.status.isOk()) << r.status.toString();
  EXPECT_TRUE(r.idle);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_TRUE(r.responses[0].values[1].isAtom("FETCH"));
  checkChunkingAgrees("original", readFile(kVectors + "/imapflow/mimetorture-fetch.original.txt"));
}

// Every line of mox's fuzz seed (RFC examples), each in a fresh parser.
TEST(ResponseParserVectors, MoxFuzzSeedNoCrash) {
  std::ifstream in(kVectors + "/mox/imapclient/fuzzseed.txt", std::ios::binary);
  ASSERT_TRUE(in.good());
  std::string line;
  int lines = 0, parsed = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string bytes = line + "\r\n";
    const RunResult whole = runParser(bytes, {});
    EXPECT_EQ(runParser(bytes, everyByte(bytes.size())).summary(), whole.summary()) << line;
    ++lines;
    parsed += whole.status.isOk() ? 1 : 0;
  }
  EXPECT_GT(lines, 1000);
  // Most of the RFC examples are plain response lines.
  EXPECT_GT(parsed, lines * 9 / 10);
}

}  // namespace
}  // namespace mailark::imap
