// Sweeps pop3::ReplyParser over MailKit's recorded POP3 server replies
// (shared/vectors/pop3/mailkit, see its INDEX.md): each must parse with no
// error, whole, split at many offsets and one byte at a time, with
// identical events; RETR/TOP bodies must equal an independent unstuffing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "src/pop3/reply_data.h"
#include "src/pop3/reply_parser.h"
#include "tests/pop3/reply_harness.h"

namespace mailark::pop3 {
namespace {

namespace fs = std::filesystem;
using testing::everyByte;
using testing::RunResult;
using testing::runParser;

const std::string kVectors = MAILARK_SHARED_DIR "/vectors/pop3/mailkit";

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Vector {
  std::vector<std::string> files;  // concatenated in order (a SASL "+" then its answer)
  std::vector<Shape> shapes;       // one per reply, from the command INDEX.md names
};

const Shape S = Shape::Single, L = Shape::Lines, B = Shape::Body, A = Shape::Sasl;

std::vector<Vector> vectors() {
  return {
      {{"comcast/capa1.txt"}, {L}},          {{"comcast/capa2.txt"}, {L}},
      {{"comcast/err.txt"}, {S}},            {{"comcast/greeting.txt"}, {S}},
      {{"comcast/list-error1.txt"}, {L}},    {{"comcast/list-error2.txt"}, {L}},
      {{"comcast/list-error3.txt"}, {L}},    {{"comcast/list.txt"}, {L}},
      {{"comcast/list1-error1.txt"}, {S}},   {{"comcast/list1-error2.txt"}, {S}},
      {{"comcast/list1-error3.txt"}, {S}},   {{"comcast/list1.txt"}, {S}},
      {{"comcast/ok.txt"}, {S}},             {{"comcast/quit.txt"}, {S}},
      {{"comcast/retr1.txt"}, {B}},          {{"comcast/stat-error1.txt"}, {S}},
      {{"comcast/stat-error2.txt"}, {S}},    {{"comcast/stat-error3.txt"}, {S}},
      {{"comcast/stat.txt"}, {S}},           {{"common/err-greeting.txt"}, {S}},
      {{"common/ok-greeting.txt"}, {S}},     {{"exchange/plus.txt", "exchange/auth.txt"}, {A}},
      {{"exchange/capa.txt"}, {L}},          {{"exchange/greeting.txt"}, {S}},
      {{"exchange/quit.txt"}, {S}},          {{"exchange/retr1.txt"}, {B}},
      {{"exchange/stat.txt"}, {S}},          {{"exchange/uidl.txt"}, {L}},
      {{"gmail/plus.txt", "gmail/auth.txt"}, {A}},
      {{"gmail/capa1.txt"}, {L}},            {{"gmail/capa2.txt"}, {L}},
      {{"gmail/dele.txt"}, {S}},             {{"gmail/dele123.txt"}, {S, S, S}},
      {{"gmail/greeting.txt"}, {S}},         {{"gmail/list.txt"}, {L}},
      {{"gmail/list1.txt"}, {S}},            {{"gmail/list2.txt"}, {S}},
      {{"gmail/list3.txt"}, {S}},            {{"gmail/noop.txt"}, {S}},
      {{"gmail/quit.txt"}, {S}},             {{"gmail/retr1-parse-error.txt"}, {B}},
      {{"gmail/retr1.txt"}, {B}},            {{"gmail/retr123.txt"}, {B, B, B}},
      {{"gmail/rset.txt"}, {S}},             {{"gmail/stat.txt"}, {S}},
      {{"gmail/top.txt"}, {B}},              {{"gmail/top123.txt"}, {B, B, B}},
      {{"gmail/uidl-error1.txt"}, {L}},      {{"gmail/uidl-error2.txt"}, {L}},
      {{"gmail/uidl.txt"}, {L}},             {{"gmail/uidl1-error1.txt"}, {S}},
      {{"gmail/uidl1-error2.txt"}, {S}},     {{"gmail/uidl1.txt"}, {S}},
      {{"gmail/uidl2.txt"}, {S}},            {{"gmail/uidl3.txt"}, {S}},
      {{"lang/auth.txt"}, {S}},              {{"lang/capa1.txt"}, {L}},
      {{"lang/capa2.txt"}, {L}},             {{"lang/getlang.txt"}, {L}},
      {{"lang/greeting.txt"}, {S}},          {{"lang/quit.txt"}, {S}},
      {{"lang/setlang.txt"}, {S}},           {{"lang/stat.txt"}, {S}},
      {{"lang/utf8.txt"}, {S}},
  };
}

// An independent, line-based unstuffing of every multi-line body in `wire`.
std::vector<std::string> naiveBodies(const std::string& wire, const std::vector<Shape>& shapes) {
  std::vector<std::string> lines;
  std::istringstream in(wire);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);  // each keeps its "\r"
  std::vector<std::string> out;
  size_t i = 0;
  for (Shape shape : shapes) {
    bool ok = lines[i].rfind("+OK", 0) == 0;
    ++i;
    if (shape != Shape::Body) {
      if (shape == Shape::Lines && ok)
        while (lines[i++] != ".\r") {}
      out.emplace_back();
      continue;
    }
    std::string body;
    while (ok && lines[i] != ".\r") {
      std::string l = lines[i++];
      if (!l.empty() && l[0] == '.') l.erase(0, 1);
      body += l + "\n";
    }
    if (ok) ++i;
    out.push_back(body);
  }
  return out;
}

TEST(Pop3ReplyParserVectors, TableCoversEveryFile) {
  std::set<std::string> listed;
  for (const Vector& v : vectors())
    for (const std::string& f : v.files) listed.insert(f);
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(kVectors)) {
    if (!e.is_regular_file() || e.path().extension() != ".txt") continue;
    ++files;
    EXPECT_TRUE(listed.count(fs::relative(e.path(), kVectors).string())) << e.path();
  }
  EXPECT_EQ(files, listed.size());
  EXPECT_GE(files, 60u);
}

TEST(Pop3ReplyParserVectors, MailKitRepliesParseTheSameAnyWay) {
  for (const Vector& v : vectors()) {
    std::string name = v.files.back();
    SCOPED_TRACE(name);
    std::string bytes;
    for (const std::string& f : v.files) bytes += readFile(kVectors + "/" + f);
    ASSERT_FALSE(bytes.empty());
    const RunResult whole = runParser(bytes, v.shapes, {});
    ASSERT_TRUE(whole.status.isOk()) << whole.status.toString();
    EXPECT_TRUE(whole.idle) << "a reply did not end";
    std::vector<std::string> expected = naiveBodies(bytes, v.shapes);
    // The harness counts every end, Body or not; compare the Body ones.
    ASSERT_EQ(whole.bodies.size(), v.shapes.size());
    for (size_t i = 0; i < v.shapes.size(); ++i) {
      if (v.shapes[i] == Shape::Body) {
        EXPECT_EQ(whole.bodies[i], expected[i]) << "reply " << i;
      }
    }

    const std::string summary = whole.summary();
    EXPECT_EQ(runParser(bytes, v.shapes, everyByte(bytes.size())).summary(), summary) << "bytewise";
    // Every offset for small files; for big ones the first and last 200
    // bytes (status line, terminator) and a spread in between.
    for (size_t cut = 1; cut < bytes.size(); ++cut) {
      if (bytes.size() > 4096 && cut > 200 && cut + 200 < bytes.size() && cut % (bytes.size() / 97) != 0) continue;
      const RunResult split = runParser(bytes, v.shapes, {cut});
      if (split.summary() != summary) {
        ADD_FAILURE() << "differs when split at " << cut;
        break;
      }
    }
  }
}

// The data lines of the UIDL replies: valid ones parse, the broken ones
// MailKit uses for its own parse-error tests are refused.
TEST(Pop3ReplyParserVectors, UidlListings) {
  auto listing = [](const std::string& file) {
    std::string bytes = readFile(kVectors + "/" + file);
    testing::Transcript t;
    ReplyParser parser(&t);
    parser.expect(Shape::Lines);
    EXPECT_TRUE(parser.feed(std::span<const char>(bytes.data(), bytes.size())).isOk());
    std::vector<std::string> lines;
    std::istringstream in(t.out);
    std::string l;
    while (std::getline(in, l))
      if (l.rfind("L[", 0) == 0) lines.push_back(l.substr(2, l.size() - 3));
    return lines;
  };
  for (const char* good : {"exchange/uidl.txt", "gmail/uidl.txt"}) {
    std::vector<UidlEntry> entries;
    for (const std::string& line : listing(good)) {
      Result<UidlEntry> e = parseUidlLine(line);
      ASSERT_TRUE(e.isOk()) << good << ": " << e.status().toString();
      entries.push_back(*e);
    }
    EXPECT_GE(entries.size(), 3u) << good;
    EXPECT_TRUE(checkUidlListing(entries).isOk()) << good;
  }
  std::vector<std::string> broken = listing("gmail/uidl-error1.txt");
  ASSERT_EQ(broken.size(), 3u);
  EXPECT_FALSE(parseUidlLine(broken[2]).isOk());  // "3" with no UIDL
}

}  // namespace
}  // namespace mailark::pop3
