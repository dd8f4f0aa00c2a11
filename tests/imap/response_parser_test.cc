// Table tests for ResponseParser: every case is fed whole, split at every
// offset, and one byte at a time, and all runs must report the same thing.
#include "src/imap/response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "src/base/sha256.h"
#include "tests/imap/parser_harness.h"

// The case table leaves trailing fields at their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace mailark::imap {
namespace {

using testing::everyByte;
using testing::RunResult;
using testing::runParser;
using testing::Recorder;

struct Case {
  std::string name;
  std::string input;
  std::vector<std::string> expect;  // transcript
  StatusCode code = StatusCode::Ok;
  std::string error_has;  // substring of the error message
  bool idle = true;       // parser idle at the end (only checked when ok)
  Limits limits = {};
  uint64_t sink_fail_after = UINT64_MAX;
};

std::string sinkLine(std::string_view body) {
  return "sink " + std::to_string(body.size()) + " " + digestHex(Sha256::of(body));
}

// A message body with CRLFs, a line that looks like IMAP, and 8-bit bytes.
const std::string kBody =
    "From: a@example.com\r\nSubject: test\r\n\r\n* 2 EXPUNGE\r\nA1 OK not really\r\n"
    "\xc3\xa9t\xc3\xa9 ) ( {5}\r\n";

std::vector<Case> cases() {
  std::vector<Case> t;
  const std::string n = std::to_string(kBody.size());

  t.push_back({"fetch_streamed_body",
               "* 1 FETCH (UID 42 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" FLAGS (\\Seen "
               "$Forwarded) BODY[] {" + n + "}\r\n" + kBody + " RFC822.SIZE 99)\r\n"
               "A5 OK [READ-ONLY] FETCH completed.\r\n",
               {"literal " + n + " after 'BODY[]' seq 1 -> stream", sinkLine(kBody),
                "* 1 FETCH (UID 42 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" FLAGS (\\Seen "
                "$Forwarded) BODY[] <stream " + n + "> RFC822.SIZE 99)",
                "A5 OK [READ-ONLY] \"FETCH completed.\""}});
  t.push_back({"buffered_literal_with_crlf_and_section_atom",
               "* 3 FETCH (BODY[HEADER.FIELDS (DATE FROM)]<0> {20}\r\nDate: x\r\nFrom: y\r\n\r\n)\r\n",
               {"literal 20 after 'BODY[HEADER.FIELDS (DATE FROM)]<0>' seq 3 -> buffer",
                "* 3 FETCH (BODY[HEADER.FIELDS (DATE FROM)]<0> \"Date: x\r\nFrom: y\r\n\r\n\")"}});
  t.push_back({"unilateral_exists_expunge_between_fetches",
               "* 3 EXISTS\r\n* 1 FETCH (UID 5 BODY[] {3}\r\nabc)\r\n* 2 EXPUNGE\r\n"
               "* 4 FETCH (BODY[]<0> {0}\r\n UID 8)\r\n* 1 RECENT\r\nA1 OK done\r\n",
               {"* 3 EXISTS", "literal 3 after 'BODY[]' seq 1 -> stream", sinkLine("abc"),
                "* 1 FETCH (UID 5 BODY[] <stream 3>)", "* 2 EXPUNGE",
                "literal 0 after 'BODY[]<0>' seq 4 -> stream", sinkLine(""),
                "* 4 FETCH (BODY[]<0> <stream 0> UID 8)", "* 1 RECENT", "A1 OK \"done\""}});
  t.push_back({"two_literals_one_response",
               "* 7 FETCH (BODY[1.MIME] {4}\r\nab\r\n BODY[] {2}\r\nxy)\r\n",
               {"literal 4 after 'BODY[1.MIME]' seq 7 -> buffer",
                "literal 2 after 'BODY[]' seq 7 -> stream", sinkLine("xy"),
                "* 7 FETCH (BODY[1.MIME] \"ab\r\n\" BODY[] <stream 2>)"}});
  t.push_back({"literal8_and_nonsync_literal",
               "* 2 FETCH (BINARY[] ~{3}\r\n" + std::string("\0\1\2", 3) + " X {2+}\r\nhi)\r\n",
               {"literal 3 after 'BINARY[]' seq 2 -> stream",
                "literal 2 after 'X' seq 2 -> buffer",
                sinkLine(std::string("\0\1\2", 3)),
                "* 2 FETCH (BINARY[] <stream 3> X \"hi\")"}});
  t.push_back({"list_names",
               "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
               "* LIST (\\Noselect \\HasChildren) \"/\" \"Public Folders\"\r\n"
               "* LIST () \"/\" {11}\r\nhello world\r\n"
               "* LIST (\\Noselect) NIL \"a\\\"b\\\\c\"\r\n"
               "* LIST () \".\" &ZeVnLIqe-\r\n"
               "* LIST (\\HasNoChildren) \"/\" Tab\there\r\n"
               "* XLIST (\\Noselect) \"/\" ~/Mail/foo\r\n",
               {"* LIST (\\HasNoChildren) \"/\" INBOX",
                "* LIST (\\Noselect \\HasChildren) \"/\" \"Public Folders\"",
                "literal 11 after '' seq 0 -> buffer", "* LIST () \"/\" \"hello world\"",
                "* LIST (\\Noselect) NIL \"a\\\"b\\\\c\"", "* LIST () \".\" &ZeVnLIqe-",
                "* LIST (\\HasNoChildren) \"/\" Tab\there",
                "* XLIST (\\Noselect) \"/\" ~/Mail/foo"}});
  t.push_back({"status_codes",
               "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
               "* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n"
               "* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] Dovecot ready.\r\n"
               "A2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
               "a3 bad Command Argument Error. 11\r\n"
               "* OK [UNSEEN 17]\r\n* OK\r\nA4 OK\r\n"
               "A5 OK [READ-WRITE] SELECT completed \r\n"
               "* PREAUTH [CAPABILITY IMAP4rev1] Logged in\r\n"
               "* OK [ALERT unclosed\r\n"
               "* OK [PERMANENTFLAGS (OIB-Seen-[Gmail]/All \\*)] Flags\r\n"
               "A6 NO Request is throttled. Suggested Backoff Time: 92000 milliseconds\r\n"
               "* OK text with {5}\r\n",
               {"* OK [UIDVALIDITY 3857529045] \"UIDs valid\"",
                "* OK [PERMANENTFLAGS (\\Seen \\*)] \"Limited\"",
                "* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] \"Dovecot ready.\"",
                "A2 NO [AUTHENTICATIONFAILED] \"Authentication failed.\"",
                "a3 BAD \"Command Argument Error. 11\"", "* OK [UNSEEN 17] \"\"", "* OK \"\"",
                "A4 OK \"\"", "A5 OK [READ-WRITE] \"SELECT completed\"",
                "* PREAUTH [CAPABILITY IMAP4rev1] \"Logged in\"", "* OK \"[ALERT unclosed\"",
                "* OK [PERMANENTFLAGS (OIB-Seen-[Gmail]/All \\*)] \"Flags\"",
                "A6 NO \"Request is throttled. Suggested Backoff Time: 92000 milliseconds\"",
                "* OK \"text with {5}\""}});
  t.push_back({"bye", "* BYE Autologout; idle for too long\r\n* BYE\r\n",
               {"* BYE \"Autologout; idle for too long\"", "* BYE \"\""}});
  t.push_back({"continuations",
               "+ Ready for literal data\r\n+\r\n+ \r\n+ [ALERT] idling\r\n"
               "+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL291dGxv"
               "b2sub2ZmaWNlMzY1LmNvbS8uZGVmYXVsdCJ9\r\n",
               {"+ \"Ready for literal data\"", "+ \"\"", "+ \"\"", "+ [ALERT] \"idling\"",
                "+ \"eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL291dGxv"
                "b2sub2ZmaWNlMzY1LmNvbS8uZGVmYXVsdCJ9\""}});
  t.push_back({"server_quirks",
               "* 5 FETCH (UID 1  FLAGS ()  )\r\n* STATUS Sent (UIDNEXT 107) \r\n* 1 EXISTS\n"
               "\r\n* SEARCH 2 3 6\r\n* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800 ALL 2,10:11\r\n"
               "* 9 FETCH (MODSEQ (18446744073709551615) X-GM-LABELS (nil \"NIL\"))\r\n"
               "* FLAGS (\\Answered \\*)\r\n* 2222C\r\n"
               "* 4 FETCH (UID 71372 RFC822.HEADER  {2}\r\nab)\r\n",
               {"* 5 FETCH (UID 1 FLAGS ())", "* STATUS Sent (UIDNEXT 107)", "* 1 EXISTS",
                "* SEARCH 2 3 6", "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800 ALL 2,10:11",
                "* 9 FETCH (MODSEQ (18446744073709551615) X-GM-LABELS (NIL \"NIL\"))",
                "* FLAGS (\\Answered \\*)", "* 2222C",
                "literal 2 after 'RFC822.HEADER' seq 4 -> buffer",
                "* 4 FETCH (UID 71372 RFC822.HEADER \"ab\")"}});
  t.push_back({"incomplete_literal_waits",
               "* 1 FETCH (BODY[] {10}\r\nabc",
               {"literal 10 after 'BODY[]' seq 1 -> stream"}, StatusCode::Ok, "", false});
  t.push_back({"incomplete_line_waits", "* 1 FETCH (UID", {}, StatusCode::Ok, "", false});

  // Errors.
  t.push_back({"non_imap_line", "* 1 EXISTS\r\nServer Unavailable. 15\r\n* 2 EXISTS\r\n",
               {"* 1 EXISTS"}, StatusCode::Transient, "'Server Unavailable. 15'"});
  t.push_back({"non_imap_http", "HTTP/1.1 400 Bad Request\r\n", {}, StatusCode::Transient,
               "non-IMAP line"});
  t.push_back({"non_imap_paren", "(garbage)\r\n", {}, StatusCode::Transient, "non-IMAP"});
  t.push_back({"number_overflow", "* 18446744073709551616 EXISTS\r\n", {},
               StatusCode::ProtocolError, "exceeds 2^64-1"});
  t.push_back({"unterminated_quote", "* LIST () \"/ INBOX\r\n", {}, StatusCode::ProtocolError,
               "unterminated quoted string"});
  t.push_back({"unbalanced_close", "* 1 FETCH (UID 1))\r\n", {}, StatusCode::ProtocolError,
               "unbalanced ')'"});
  t.push_back({"unclosed_list", "* 1 FETCH (UID 1\r\nA1 OK\r\n", {},
               StatusCode::ProtocolError, "unclosed '('"});
  t.push_back({"malformed_literal", "* 1 FETCH (BODY[] {12a}\r\n", {},
               StatusCode::ProtocolError, "malformed literal"});
  t.push_back({"literal_not_at_line_end", "* 1 FETCH (BODY[] {2} x)\r\n", {},
               StatusCode::ProtocolError, "malformed literal"});
  t.push_back({"literal_size_overflow", "* 1 FETCH (BODY[] {99999999999999999999999}\r\n", {},
               StatusCode::ProtocolError, "literal size"});
  t.push_back({"sink_error_stops_parser",
               "* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n* 2 EXISTS\r\n",
               {"literal 10 after 'BODY[]' seq 1 -> stream"}, StatusCode::StorageFull,
               "sink full", true, {}, 4});
  t.push_back({"error_is_sticky", "A1 BAD\r\n* 1 EXISTS\r\n)\r\n* 2 EXISTS\r\n* 3 EXISTS\r\n",
               {"A1 BAD \"\"", "* 1 EXISTS"}, StatusCode::Transient, "non-IMAP"});

  Limits tight;
  tight.max_depth = 3;
  tight.max_line = 64;
  tight.max_buffered_literal = 8;
  tight.max_literal = 100;
  t.push_back({"depth_limit_ok", "* X (((a)))\r\n", {"* X (((a)))"}, StatusCode::Ok, "", true,
               tight});
  t.push_back({"depth_limit", "* X ((((a))))\r\n", {}, StatusCode::ProtocolError,
               "max_depth limit (3)", true, tight});
  t.push_back({"line_limit_complete_line", "* OK " + std::string(70, 'x') + "\r\n", {},
               StatusCode::ProtocolError, "max_line limit (64 bytes)", true, tight});
  t.push_back({"line_limit_no_lf", "* OK " + std::string(100, 'x'), {},
               StatusCode::ProtocolError, "max_line", true, tight});
  t.push_back({"line_limit_spans_literals",
               "* 1 FETCH (A {2}\r\nab B " + std::string(40, 'x') + " {2}\r\ncd C " +
                   std::string(20, 'y') + ")\r\n",
               {"literal 2 after 'A' seq 1 -> buffer"},
               StatusCode::ProtocolError, "max_line", true, tight});
  t.push_back({"buffered_literal_limit", "* 1 FETCH (BODY[TEXT] {9}\r\n123456789)\r\n",
               {"literal 9 after 'BODY[TEXT]' seq 1 -> buffer"}, StatusCode::ProtocolError,
               "max_buffered_literal limit (8)", true, tight});
  t.push_back({"streamed_literal_limit", "* 1 FETCH (BODY[] {101}\r\n", {},
               StatusCode::ProtocolError, "max_literal limit (100)", true, tight});
  t.push_back({"huge_literal_default_limits", "* 1 FETCH (BODY[] {18446744073709551615}\r\n",
               {}, StatusCode::ProtocolError, "max_literal limit"});
  return t;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class ResponseParserTable : public ::testing::TestWithParam<Case> {};

TEST_P(ResponseParserTable, SameResultForEveryChunking) {
  const Case& c = GetParam();
  const RunResult whole = runParser(c.input, {}, c.limits, c.sink_fail_after);
  EXPECT_EQ(whole.transcript, c.expect) << whole.summary();
  EXPECT_EQ(whole.status.code(), c.code) << whole.status.toString();
  if (c.code == StatusCode::Ok) {
    EXPECT_EQ(whole.idle, c.idle);
  } else {
    EXPECT_NE(whole.status.message().find(c.error_has), std::string::npos)
        << whole.status.toString();
    EXPECT_FALSE(whole.idle);
  }
  const RunResult bytes = runParser(c.input, everyByte(c.input.size()), c.limits,
                                    c.sink_fail_after);
  EXPECT_EQ(bytes.summary(), whole.summary()) << "one byte at a time";
  for (size_t cut = 1; cut < c.input.size(); ++cut) {
    const RunResult split = runParser(c.input, {cut}, c.limits, c.sink_fail_after);
    ASSERT_EQ(split.summary(), whole.summary()) << "split at " << cut;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ResponseParserTable, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(ResponseParser, StatusResponseFields) {
  const RunResult r = runParser("* ok [UIDNEXT 5] hi\r\nA1 No go\r\n", {});
  ASSERT_TRUE(r.status.isOk());
  ASSERT_EQ(r.responses.size(), 2u);
  const Response& untagged = r.responses[0];
  EXPECT_EQ(untagged.kind, Response::Kind::Untagged);
  EXPECT_EQ(untagged.status, "OK");
  ASSERT_EQ(untagged.values.size(), 1u);
  EXPECT_EQ(untagged.values[0].text, "ok");
  EXPECT_TRUE(untagged.values[0].isAtom("OK"));
  EXPECT_FALSE(untagged.values[0].isAtom("NO"));
  EXPECT_EQ(untagged.code, "UIDNEXT 5");
  EXPECT_EQ(untagged.text, "hi");
  const Response& tagged = r.responses[1];
  EXPECT_EQ(tagged.kind, Response::Kind::Tagged);
  EXPECT_EQ(tagged.tag, "A1");
  EXPECT_EQ(tagged.status, "NO");
  EXPECT_EQ(tagged.text, "go");
}

TEST(ResponseParser, FetchValuesAreTyped) {
  const RunResult r = runParser("* 12 FETCH (UID 9 FLAGS (\\Seen) ENVELOPE (NIL \"s\"))\r\n", {});
  ASSERT_TRUE(r.status.isOk());
  ASSERT_EQ(r.responses.size(), 1u);
  const std::vector<Value>& v = r.responses[0].values;
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].type, Value::Type::Number);
  EXPECT_EQ(v[0].number, 12u);
  EXPECT_TRUE(v[1].isAtom("FETCH"));
  ASSERT_EQ(v[2].type, Value::Type::List);
  ASSERT_EQ(v[2].list.size(), 6u);
  EXPECT_EQ(v[2].list[1].number, 9u);
  EXPECT_EQ(v[2].list[3].list[0].text, "\\Seen");
  EXPECT_EQ(v[2].list[5].list[0].type, Value::Type::Nil);
  EXPECT_EQ(v[2].list[5].list[1].type, Value::Type::String);
}

// A big literal in socket-sized chunks reaches the sink whole and in order,
// and is never held in the Response.
TEST(ResponseParser, LargeStreamedLiteralInChunks) {
  std::string body;
  for (int i = 0; body.size() < 3'000'000; ++i) body += "line " + std::to_string(i) + "\r\n";
  const std::string input = "* 9 FETCH (UID 1 BODY[] {" + std::to_string(body.size()) +
                            "}\r\n" + body + ")\r\nA1 OK done\r\n";
  std::vector<size_t> cuts;
  for (size_t at = 65536; at < input.size(); at += 65536) cuts.push_back(at);
  const RunResult r = runParser(input, cuts);
  ASSERT_TRUE(r.status.isOk()) << r.status.toString();
  ASSERT_EQ(r.transcript.size(), 4u);
  EXPECT_EQ(r.transcript[1], sinkLine(body));
  EXPECT_EQ(r.transcript[2], "* 9 FETCH (UID 1 BODY[] <stream " + std::to_string(body.size()) +
                                 ">)");
  EXPECT_TRUE(r.idle);
}

// literalBytesLeft() counts down while a literal streams and is 0 outside
// one: the connection sizes its socket wake-ups by it.
TEST(ResponseParser, LiteralBytesLeftCountsDown) {
  Recorder recorder;
  ResponseParser parser(&recorder);
  auto feed = [&parser](std::string_view bytes) {
    return parser.feed(std::span<const char>(bytes.data(), bytes.size()));
  };
  EXPECT_EQ(parser.literalBytesLeft(), 0u);
  ASSERT_TRUE(feed("* 1 FETCH (UID 7 BODY[] {10}\r\n").isOk());
  EXPECT_EQ(parser.literalBytesLeft(), 10u);
  ASSERT_TRUE(feed("0123").isOk());
  EXPECT_EQ(parser.literalBytesLeft(), 6u);
  ASSERT_TRUE(feed("456789)\r\n").isOk());
  EXPECT_EQ(parser.literalBytesLeft(), 0u);
  EXPECT_TRUE(parser.idle());
  ASSERT_EQ(recorder.responses.size(), 1u);
}

}  // namespace
}  // namespace mailark::imap
