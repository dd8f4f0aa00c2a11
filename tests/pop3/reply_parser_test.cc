// pop3::ReplyParser as a table: bytes and expected shapes -> events or a
// Status. Every case is fed whole, split at every offset and one byte at a
// time, and must give the same transcript each way.
#include "src/pop3/reply_parser.h"

#include <gtest/gtest.h>

#include "tests/pop3/reply_harness.h"

namespace mailark::pop3 {
namespace {

using testing::everyByte;
using testing::RunResult;
using testing::runParser;

struct Case {
  const char* name;
  std::string bytes;
  std::vector<Shape> shapes;
  std::string transcript;       // expected events
  StatusCode code = StatusCode::Ok;
  bool idle = true;             // every expected reply completed
};

// Runs a case every way and checks all agree with the expectation.
void check(const Case& c, Limits limits = {}) {
  SCOPED_TRACE(c.name);
  const RunResult whole = runParser(c.bytes, c.shapes, {}, limits);
  EXPECT_EQ(whole.transcript, c.transcript);
  EXPECT_EQ(whole.status.code(), c.code) << whole.status.toString();
  EXPECT_EQ(whole.idle, c.idle);
  EXPECT_EQ(runParser(c.bytes, c.shapes, everyByte(c.bytes.size()), limits).summary(), whole.summary()) << "bytewise";
  for (size_t cut = 1; cut < c.bytes.size(); ++cut) {
    ASSERT_EQ(runParser(c.bytes, c.shapes, {cut}, limits).summary(), whole.summary()) << "split at " << cut;
  }
}

TEST(Pop3ReplyParser, Table) {
  const std::vector<Case> cases = {
      {"greeting", "+OK Dovecot (Debian) ready.\r\n", {Shape::Single}, "+OK[Dovecot (Debian) ready.]\nEND\n"},
      {"bare +OK", "+OK\r\n", {Shape::Single}, "+OK[]\nEND\n"},
      {"-ERR single", "-ERR no such message\r\n", {Shape::Single}, "-ERR[no such message]\nEND\n"},
      {"bare LF status", "+OK fine\n", {Shape::Single}, "+OK[fine]\nEND\n"},
      {"CAPA with stuffed line",
       "+OK Capability list follows\r\nTOP\r\nSASL XOAUTH2 PLAIN\r\n..odd\r\n.\r\n",
       {Shape::Lines},
       "+OK[Capability list follows]\nL[TOP]\nL[SASL XOAUTH2 PLAIN]\nL[.odd]\nEND\n"},
      {"-ERR to a multi-line command is one line", "-ERR not supported\r\n", {Shape::Lines},
       "-ERR[not supported]\nEND\n"},
      {"empty UIDL listing", "+OK\r\n.\r\n", {Shape::Lines}, "+OK[]\nEND\n"},
      {"RETR unstuffed",
       "+OK 30 octets\r\nSubject: x\r\n\r\n..dot\r\n.y\r\n..\r\nend\r\n.\r\n",
       {Shape::Body},
       "+OK[30 octets]\nBODY 31[Subject: x\r\n\r\n.dot\r\ny\r\n.\r\nend\r\n]\nEND\n"},
      {"RETR of an empty message", "+OK\r\n.\r\n", {Shape::Body}, "+OK[]\nEND\n"},
      {"RETR with a lone CR after a leading dot", "+OK\r\n.\rx\r\n.\r\n", {Shape::Body},
       "+OK[]\nBODY 4[\rx\r\n]\nEND\n"},
      {"RETR -ERR has no body", "-ERR no such message\r\n", {Shape::Body}, "-ERR[no such message]\nEND\n"},
      {"pipelined RETR then QUIT", "+OK\r\na\r\n.\r\n+OK bye\r\n", {Shape::Body, Shape::Single},
       "+OK[]\nBODY 3[a\r\n]\nEND\n+OK[bye]\nEND\n"},
      {"SASL success", "+ \r\n+OK Logged in.\r\n", {Shape::Sasl}, "+[]\n+OK[Logged in.]\nEND\n"},
      {"SASL failure with challenge (Dovecot)",
       "+ \r\n+ eyJzdGF0dXMiOiI0MDEifQ==\r\n-ERR [AUTH] Authentication failed.\r\n",
       {Shape::Sasl},
       "+[]\n+[eyJzdGF0dXMiOiI0MDEifQ==]\n-ERR[[AUTH] Authentication failed.]\nEND\n"},
      {"SASL bare plus (Exchange)", "+\r\n+OK\r\n", {Shape::Sasl}, "+[]\n+OK[]\nEND\n"},
      // Hostile input.
      {"unterminated multi-line reply", "+OK\r\n1 abc\r\n2 de", {Shape::Lines}, "+OK[]\nL[1 abc]\n",
       StatusCode::Ok, false},
      {"unterminated RETR", "+OK\r\nSubject: x\r\n\r\nbody\r\n", {Shape::Body}, "+OK[]\n", StatusCode::Ok, false},
      {"garbage status line", "HELLO\r\n", {Shape::Single}, "", StatusCode::ProtocolError, false},
      {"+OKAY is not +OK", "+OKAY\r\n", {Shape::Single}, "", StatusCode::ProtocolError, false},
      {"continuation outside AUTH", "+ go on\r\n", {Shape::Single}, "", StatusCode::ProtocolError, false},
      {"data with no command", "+OK\r\n+OK\r\n", {Shape::Single}, "+OK[]\nEND\n", StatusCode::ProtocolError, false},
  };
  for (const Case& c : cases) check(c);
}

TEST(Pop3ReplyParser, LinesOverTheLimitAreRefused) {
  Limits limits;
  limits.max_line = 16;
  check({"status line at the limit", "+OK 0123456789ab\r\n", {Shape::Single}, "+OK[0123456789ab]\nEND\n"}, limits);
  check({"status line over", "+OK 0123456789abc\r\n", {Shape::Single}, "", StatusCode::ProtocolError, false}, limits);
  check({"endless status line", "+OK " + std::string(100, 'x'), {Shape::Single}, "", StatusCode::ProtocolError, false},
        limits);
  check({"data line over", "+OK\r\n" + std::string(40, 'u') + "\r\n.\r\n", {Shape::Lines}, "+OK[]\n",
         StatusCode::ProtocolError, false},
        limits);
  // Message lines are streamed, so their length is not limited by max_line.
  std::string line(100, 'm');
  check({"long body line", "+OK\r\n" + line + "\r\n.\r\n", {Shape::Body}, "+OK[]\nBODY 102[" + line + "\r\n]\nEND\n"},
        limits);
}

TEST(Pop3ReplyParser, BodyOverTheLimitIsRefused) {
  Limits limits;
  limits.max_body = 8;
  check({"body at the limit", "+OK\r\n123456\r\n.\r\n", {Shape::Body}, "+OK[]\nBODY 8[123456\r\n]\nEND\n"}, limits);
  RunResult r = runParser("+OK\r\n1234567\r\n.\r\n", {Shape::Body}, {}, limits);
  EXPECT_EQ(r.status.code(), StatusCode::ProtocolError);
  EXPECT_NE(r.status.message().find("limit"), std::string::npos);
}

TEST(Pop3ReplyParser, ErrorsAreSticky) {
  testing::Transcript t;
  ReplyParser parser(&t);
  parser.expect(Shape::Single);
  std::string bad = "junk\r\n";
  EXPECT_EQ(parser.feed(std::span<const char>(bad.data(), bad.size())).code(), StatusCode::ProtocolError);
  parser.expect(Shape::Single);
  std::string good = "+OK\r\n";
  EXPECT_EQ(parser.feed(std::span<const char>(good.data(), good.size())).code(), StatusCode::ProtocolError);
  EXPECT_EQ(t.ends, 0);
}

// A callback's error stops the parser with that error.
TEST(Pop3ReplyParser, SinkErrorStops) {
  struct FailingSink : testing::Transcript {
    Status write(std::span<const char>) override { return Status(StatusCode::StorageFull, "disk full"); }
  } t;
  ReplyParser parser(&t);
  parser.expect(Shape::Body, &t);
  std::string bytes = "+OK\r\nabc\r\n.\r\n";
  Status s = parser.feed(std::span<const char>(bytes.data(), bytes.size()));
  EXPECT_EQ(s.code(), StatusCode::StorageFull);
  EXPECT_EQ(t.ends, 0);
}

}  // namespace
}  // namespace mailark::pop3
