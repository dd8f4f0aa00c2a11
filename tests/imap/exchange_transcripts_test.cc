// Exchange Online transcripts built from the documented behaviours
// (../shared/docs/exchange-online.md §2-4): each is parsed whole, split at
// every offset and byte by byte with identical results, and the signals the
// engine acts on are recognized from the parsed responses.
#include <gtest/gtest.h>

#include <map>

#include "src/imap/server_signals.h"
#include "src/imap/untagged_data.h"
#include "tests/imap/parser_harness.h"

namespace mailark::imap {
namespace {

using testing::everyByte;
using testing::runParser;

struct Transcript {
  const char* name;
  std::string bytes;
};

const std::vector<Transcript>& transcripts() {
  static const std::vector<Transcript> all = {
      {"greeting_and_login",
       "* OK The Microsoft Exchange IMAP4 service is ready. [TQBOADIAUABSADAAMQBDAEEAMAAwADAAMwAuAG4AYQBtAHAAcgBkADAAMQAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]\r\n"
       "A1 OK AUTHENTICATE completed.\r\n"
       "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CLIENTACCESSRULES "
       "CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE CHILDREN IDLE NAMESPACE LITERAL+\r\n"
       "A2 OK CAPABILITY completed.\r\n"},
      {"list_with_non_mail_and_tab",
       "* LIST (\\HasNoChildren) \"/\" Archive\r\n"
       "* LIST (\\Marked \\HasNoChildren) \"/\" Calendar\r\n"
       "* LIST (\\HasChildren) \"/\" \"Contacts\"\r\n"
       "* LIST (\\HasNoChildren) \"/\" \"Contacts/Recipient Cache\"\r\n"
       "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n"
       "* LIST (\\HasNoChildren) \"/\" \"Tab\tName\"\r\n"
       "A3 OK LIST completed.\r\n"},
      {"examine",
       "* 1532 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)\r\n"
       "* OK [PERMANENTFLAGS ()] Permanent flags\r\n* OK [UNSEEN 1] Is the first unseen message\r\n"
       "* OK [UIDVALIDITY 14] UIDVALIDITY value\r\n* OK [UIDNEXT 4417] The next unique identifier value\r\n"
       "A4 OK [READ-ONLY] EXAMINE completed.\r\n"},
      {"uid_star_quirk",
       // "UID 5000:*" answered with the last message although 5000 > max UID.
       "* 1532 FETCH (UID 4416 RFC822.SIZE 2317)\r\nA5 OK FETCH completed.\r\n"},
      {"fetch_with_body",
       "* 7 FETCH (UID 101 INTERNALDATE \"02-Mar-2024 09:15:00 +0000\" FLAGS (\\Seen) BODY[] {30}\r\n"
       "Subject: x\r\n\r\nhello exchange\r\n)\r\n"
       "* 8 FETCH (UID 102 INTERNALDATE \"02-Mar-2024 09:16:00 +0000\" FLAGS () BODY[] {0}\r\n)\r\n"
       "A6 OK FETCH completed.\r\n"},
      {"throttled_then_bye",
       "A7 NO Request is throttled. Suggested Backoff Time: 89432 milliseconds\r\n* BYE Connection closed. 14\r\n"},
      {"not_connected",
       "A8 BAD User is authenticated but not connected.\r\n* BYE Connection closed. 14\r\n"},
      {"token_expired", "* BYE Session invalidated - AccessTokenExpired\r\n"},
      {"auth_failed", "A1 NO AUTHENTICATE failed.\r\n"},
      {"command_argument_error", "A9 BAD Command Argument Error. 11\r\n"},
  };
  return all;
}

TEST(ExchangeTranscripts, SameResultForEveryChunking) {
  for (const Transcript& t : transcripts()) {
    auto whole = runParser(t.bytes, {});
    ASSERT_TRUE(whole.status.isOk()) << t.name << ": " << whole.status.toString();
    EXPECT_TRUE(whole.idle) << t.name;
    auto split = runParser(t.bytes, everyByte(t.bytes.size()));
    EXPECT_EQ(split.summary(), whole.summary()) << t.name;
    for (size_t cut = 1; cut < t.bytes.size(); ++cut)
      ASSERT_EQ(runParser(t.bytes, {cut}).summary(), whole.summary()) << t.name << " cut at " << cut;
  }
}

const std::vector<Response>& parsed(const char* name) {
  static std::map<std::string, std::vector<Response>> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    for (const Transcript& t : transcripts())
      if (std::string(t.name) == name) it = cache.emplace(name, runParser(t.bytes, {}).responses).first;
  }
  return it->second;
}

TEST(ExchangeTranscripts, SignalsAreTyped) {
  Classified throttled = classify(parsed("throttled_then_bye")[0]);
  EXPECT_EQ(throttled.signal, ServerSignal::Throttled);
  EXPECT_EQ(throttled.backoff.count(), 89432);
  EXPECT_EQ(classify(parsed("not_connected")[0]).signal, ServerSignal::NotConnected);
  EXPECT_EQ(classify(parsed("token_expired")[0]).signal, ServerSignal::AccessTokenExpired);
  EXPECT_EQ(classify(parsed("auth_failed")[0]).signal, ServerSignal::None);
}

TEST(ExchangeTranscripts, DataIsRead) {
  const auto& list = parsed("list_with_non_mail_and_tab");
  ASSERT_EQ(list.size(), 7u);
  EXPECT_EQ(parseList(list[5])->name, "Tab\tName");
  EXPECT_EQ(parseList(list[3])->name, "Contacts/Recipient Cache");
  const auto& examine = parsed("examine");
  std::optional<uint32_t> uidvalidity, uidnext;
  for (const Response& r : examine) {
    if (auto v = codeNumber(r.code, "UIDVALIDITY")) uidvalidity = v;
    if (auto v = codeNumber(r.code, "UIDNEXT")) uidnext = v;
  }
  EXPECT_EQ(uidvalidity, 14u);
  EXPECT_EQ(uidnext, 4417u);
  EXPECT_EQ(parseExists(examine[0]), 1532u);
  auto fetch = parseFetch(parsed("fetch_with_body")[0]);
  ASSERT_TRUE(fetch);
  EXPECT_EQ(fetch->uid, 101u);
  EXPECT_TRUE(fetch->body_streamed);
  EXPECT_EQ(fetch->flags, "\\Seen");
  auto empty = parseFetch(parsed("fetch_with_body")[1]);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->flags, "");
}

}  // namespace
}  // namespace mailark::imap
