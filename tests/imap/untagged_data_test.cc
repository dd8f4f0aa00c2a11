// Tests for parseFetch / parseList / parseStatus / parseExists / codeNumber on Responses
// produced by the real ResponseParser from server bytes.
#include "src/imap/untagged_data.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/imap/response_parser.h"

namespace mailark::imap {
namespace {

// Collects a streamed literal's bytes.
class StringSink : public LiteralSink {
 public:
  Status write(std::span<const char> bytes) override {
    bytes_.append(bytes.data(), bytes.size());
    return Status::ok();
  }
  std::string bytes_;
};

// Streams BODY[] literals into one StringSink when `stream_body`, buffers
// every other literal, and keeps every Response.
class Collector : public ParserCallbacks {
 public:
  explicit Collector(bool stream_body) : stream_body_(stream_body) {}
  LiteralSink* onLiteralStart(const LiteralContext& c) override {
    uids_.push_back(c.fetch_uid);
    bool body = c.preceding_atom == "BODY[]" || partialOrigin(c.preceding_atom).has_value();
    if (!stream_body_ || !body) return nullptr;
    ++streamed_literals_;
    return &sink_;
  }
  void onResponse(Response&& r) override { responses_.push_back(std::move(r)); }

  bool stream_body_;
  int streamed_literals_ = 0;
  std::vector<uint32_t> uids_;  // LiteralContext::fetch_uid of each literal
  StringSink sink_;
  std::vector<Response> responses_;
};

struct Parsed {
  std::vector<Response> responses;
  std::vector<uint32_t> literal_uids;
  std::string streamed;  // all bytes the BODY[] sink received
  int streamed_literals = 0;
};

// Parses `bytes` fed in `chunk`-byte pieces; the input must be valid.
Parsed parse(std::string_view bytes, bool stream_body = false, size_t chunk = SIZE_MAX) {
  Collector collector(stream_body);
  ResponseParser parser(&collector);
  for (size_t off = 0; off < bytes.size();) {
    size_t n = std::min(chunk, bytes.size() - off);
    Status s = parser.feed(std::span<const char>(bytes.data() + off, n));
    EXPECT_TRUE(s.isOk()) << s.toString() << " for: " << bytes;
    if (!s.isOk()) break;
    off += n;
  }
  EXPECT_TRUE(parser.idle()) << "incomplete response in: " << bytes;
  return {std::move(collector.responses_), std::move(collector.uids_), std::move(collector.sink_.bytes_),
          collector.streamed_literals_};
}

// The single Response in `bytes`.
Response one(std::string_view bytes) {
  Parsed p = parse(bytes);
  EXPECT_EQ(p.responses.size(), 1u) << bytes;
  return p.responses.empty() ? Response{} : std::move(p.responses.front());
}

const std::string kBody = "From: a@example.com\r\nSubject: hi\r\n\r\n* 9 FETCH (UID 1)\r\nbody ) {3}\r\n";

std::string fetchWithLiteral() {
  return "* 7 FETCH (UID 4242 RFC822.SIZE " + std::to_string(kBody.size()) +
         " INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" FLAGS (\\Seen $Forwarded \\Flagged) BODY[] {" +
         std::to_string(kBody.size()) + "}\r\n" + kBody + ")\r\n";
}

void expectFetchMetadata(const FetchData& d) {
  EXPECT_EQ(d.sequence, 7u);
  ASSERT_TRUE(d.uid.has_value());
  EXPECT_EQ(*d.uid, 4242u);
  ASSERT_TRUE(d.rfc822_size.has_value());
  EXPECT_EQ(*d.rfc822_size, kBody.size());
  ASSERT_TRUE(d.internaldate.has_value());
  EXPECT_EQ(*d.internaldate, "17-Jul-1996 02:44:25 -0700");
  ASSERT_TRUE(d.flags.has_value());
  EXPECT_EQ(*d.flags, "\\Seen $Forwarded \\Flagged");
  EXPECT_FALSE(d.body_nil);
}

TEST(ParseFetch, StreamedBody) {
  for (size_t chunk : {SIZE_MAX, size_t{1}, size_t{7}}) {
    SCOPED_TRACE(chunk);
    Parsed p = parse(fetchWithLiteral(), /*stream_body=*/true, chunk);
    ASSERT_EQ(p.responses.size(), 1u);
    EXPECT_EQ(p.streamed_literals, 1);
    EXPECT_EQ(p.streamed, kBody);
    std::optional<FetchData> d = parseFetch(p.responses[0]);
    ASSERT_TRUE(d.has_value());
    expectFetchMetadata(*d);
    EXPECT_TRUE(d->body_streamed);
    EXPECT_FALSE(d->body.has_value());
  }
}

TEST(ParseFetch, LiteralKnowsTheUidSentBeforeIt) {
  Parsed p = parse(fetchWithLiteral(), /*stream_body=*/true);
  EXPECT_EQ(p.literal_uids, std::vector<uint32_t>{4242});
  // No UID before the literal (or none at all): 0.
  Parsed q = parse("* 3 FETCH (BODY[] {2}\r\nab UID 9)\r\n", /*stream_body=*/true);
  EXPECT_EQ(q.literal_uids, std::vector<uint32_t>{0});
}

TEST(ParseFetch, PartialBodyCarriesItsOrigin) {
  std::string part = "tail of the message\r\n";
  for (size_t chunk : {SIZE_MAX, size_t{1}}) {
    Parsed p = parse("* 2 FETCH (UID 77 BODY[]<1048576> {" + std::to_string(part.size()) + "}\r\n" + part + ")\r\n",
                     /*stream_body=*/true, chunk);
    ASSERT_EQ(p.responses.size(), 1u);
    EXPECT_EQ(p.streamed, part);
    EXPECT_EQ(p.literal_uids, std::vector<uint32_t>{77});
    std::optional<FetchData> d = parseFetch(p.responses[0]);
    ASSERT_TRUE(d.has_value());
    EXPECT_TRUE(d->body_streamed);
    ASSERT_TRUE(d->body_origin.has_value());
    EXPECT_EQ(*d->body_origin, 1048576u);
  }
  // An empty continuation may come as a quoted string.
  std::optional<FetchData> e = parseFetch(one("* 2 FETCH (UID 77 BODY[]<500> \"\")\r\n"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->body, "");
  EXPECT_EQ(e->body_origin, 500u);
  // A whole body has no origin.
  EXPECT_FALSE(parseFetch(one("* 2 FETCH (UID 77 BODY[] \"x\")\r\n"))->body_origin.has_value());
}

TEST(PartialOrigin, OnlyWellFormedOrigins) {
  EXPECT_EQ(partialOrigin("BODY[]<0>"), 0u);
  EXPECT_EQ(partialOrigin("body[]<123>"), 123u);
  EXPECT_FALSE(partialOrigin("BODY[]").has_value());
  EXPECT_FALSE(partialOrigin("BODY[]<>").has_value());
  EXPECT_FALSE(partialOrigin("BODY[]<12x>").has_value());
  EXPECT_FALSE(partialOrigin("BODY[]<99999999999999999999999>").has_value());
  EXPECT_FALSE(partialOrigin("BODY[TEXT]<5>").has_value());
}

TEST(ParseFetch, BufferedLiteralBodyIsInline) {
  Parsed p = parse(fetchWithLiteral(), /*stream_body=*/false);
  ASSERT_EQ(p.responses.size(), 1u);
  EXPECT_EQ(p.streamed_literals, 0);
  std::optional<FetchData> d = parseFetch(p.responses[0]);
  ASSERT_TRUE(d.has_value());
  expectFetchMetadata(*d);
  EXPECT_FALSE(d->body_streamed);
  ASSERT_TRUE(d->body.has_value());
  EXPECT_EQ(*d->body, kBody);
}

TEST(ParseFetch, QuotedBodyIsInline) {
  std::optional<FetchData> d = parseFetch(one("* 1 FETCH (BODY[] \"tiny \\\"msg\\\"\" UID 3)\r\n"));
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE(d->body.has_value());
  EXPECT_EQ(*d->body, "tiny \"msg\"");
  EXPECT_FALSE(d->body_streamed);
  EXPECT_EQ(d->uid, 3u);
}

TEST(ParseFetch, NilBody) {
  std::optional<FetchData> d = parseFetch(one("* 2 FETCH (UID 8 BODY[] NIL)\r\n"));
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->body_nil);
  EXPECT_FALSE(d->body.has_value());
  EXPECT_FALSE(d->body_streamed);
  EXPECT_EQ(d->uid, 8u);
}

TEST(ParseFetch, OnlyWhatWasSent) {
  std::optional<FetchData> d = parseFetch(one("* 12 FETCH (FLAGS ())\r\n"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->sequence, 12u);
  EXPECT_FALSE(d->uid.has_value());
  EXPECT_FALSE(d->rfc822_size.has_value());
  EXPECT_FALSE(d->internaldate.has_value());
  ASSERT_TRUE(d->flags.has_value());
  EXPECT_EQ(*d->flags, "");
  EXPECT_FALSE(d->body.has_value());
  EXPECT_FALSE(d->body_streamed);
  EXPECT_FALSE(d->body_nil);
}

TEST(ParseFetch, SessionOnlyRecentFlagIsDropped) {
  std::optional<FetchData> d = parseFetch(one("* 4 FETCH (FLAGS (\\Seen \\Recent $Label1) UID 9)\r\n"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->flags, "\\Seen $Label1");
  std::optional<FetchData> only = parseFetch(one("* 5 FETCH (FLAGS (\\recent))\r\n"));
  ASSERT_TRUE(only.has_value());
  EXPECT_EQ(only->flags, "");
}

TEST(ParseFetch, ItemNamesAreCaseInsensitive) {
  std::optional<FetchData> d = parseFetch(one("* 3 fetch (uid 77 rfc822.size 10 flags (\\Answered))\r\n"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->uid, 77u);
  EXPECT_EQ(d->rfc822_size, 10u);
  EXPECT_EQ(d->flags, "\\Answered");
}

TEST(ParseFetch, UidRange) {
  std::optional<FetchData> max = parseFetch(one("* 1 FETCH (UID 4294967295)\r\n"));
  ASSERT_TRUE(max.has_value());
  EXPECT_EQ(max->uid, 4294967295u);
  EXPECT_FALSE(parseFetch(one("* 1 FETCH (UID 0)\r\n")).has_value());
  EXPECT_FALSE(parseFetch(one("* 1 FETCH (UID 4294967296)\r\n")).has_value());
  EXPECT_FALSE(parseFetch(one("* 1 FETCH (UID 18446744073709551615)\r\n")).has_value());
  EXPECT_FALSE(parseFetch(one("* 1 FETCH (UID abc)\r\n")).has_value());
  EXPECT_FALSE(parseFetch(one("* 1 FETCH (UID \"5\")\r\n")).has_value());
}

TEST(ParseFetch, MalformedOrOtherResponses) {
  for (const std::string bytes : {
           "* 1 FETCH (FLAGS NIL)\r\n",          // FLAGS must be a list
           "* 1 FETCH (\"UID\" 5)\r\n",          // item name not an atom
           "* 1 FETCH UID 5\r\n",                // no parenthesised list
           "* 1 FETCH\r\n",
           "* FETCH (UID 5)\r\n",                // no sequence number
           "* 1 STORE (UID 5)\r\n",
           "* 3 EXISTS\r\n",
           "* OK [UIDNEXT 5] hi\r\n",
           "A1 OK FETCH done\r\n",
           "+ go ahead\r\n",
       }) {
    SCOPED_TRACE(bytes);
    EXPECT_FALSE(parseFetch(one(bytes)).has_value());
  }
}

TEST(ParseStatus, EveryItemAnArchiverAsksFor) {
  std::optional<StatusData> d = parseStatus(
      one("* STATUS \"Sent Items\" (MESSAGES 231 UIDNEXT 44292 UIDVALIDITY 1234 HIGHESTMODSEQ 9000000001 SIZE 7340032)\r\n"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->name, "Sent Items");
  EXPECT_EQ(d->messages, 231u);
  EXPECT_EQ(d->uidnext, 44292u);
  EXPECT_EQ(d->uidvalidity, 1234u);
  EXPECT_EQ(d->highest_modseq, 9000000001u);
  EXPECT_EQ(d->size, 7340032u);
}

TEST(ParseStatus, AtomNameUnknownItemsAndOutOfRangeUids) {
  std::optional<StatusData> d = parseStatus(one("* STATUS INBOX (UNSEEN 3 UIDNEXT 4294967296 MESSAGES 0)\r\n"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->name, "INBOX");
  EXPECT_EQ(d->messages, 0u);
  EXPECT_FALSE(d->uidnext.has_value());  // not a valid UID
  EXPECT_FALSE(d->uidvalidity.has_value());
}

TEST(ParseStatus, MalformedOrOtherResponsesAreNotStatus) {
  for (const std::string bytes : {
           "* STATUS INBOX (MESSAGES)\r\n",
           "* STATUS INBOX (MESSAGES x)\r\n",
           "* STATUS INBOX MESSAGES 3\r\n",
           "* STATUS (MESSAGES 3)\r\n",
           "* LIST () \"/\" INBOX\r\n",
       }) {
    SCOPED_TRACE(bytes);
    EXPECT_FALSE(parseStatus(one(bytes)).has_value());
  }
}

TEST(SameMailboxName, InboxIsCaseInsensitiveOtherNamesAreNot) {
  EXPECT_TRUE(sameMailboxName("INBOX", "inbox"));
  EXPECT_TRUE(sameMailboxName("Inbox", "INBOX"));
  EXPECT_TRUE(sameMailboxName("Sent Items", "Sent Items"));
  EXPECT_FALSE(sameMailboxName("Sent Items", "sent items"));
  EXPECT_FALSE(sameMailboxName("INBOX/Sub", "inbox/sub"));
}

TEST(ParseList, PlainEntry) {
  std::optional<ListEntry> e = parseList(one("* LIST (\\HasNoChildren) \"/\" INBOX\r\n"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->name, "INBOX");
  EXPECT_EQ(e->delimiter, "/");
  EXPECT_EQ(e->attributes, std::vector<std::string>{"\\HasNoChildren"});
  EXPECT_TRUE(e->selectable());
}

TEST(ParseList, QuotedNameWithSpacesAndSpecialUse) {
  std::optional<ListEntry> e = parseList(one("* LIST (\\HasNoChildren \\Sent) \".\" \"Sent Items\"\r\n"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->name, "Sent Items");
  EXPECT_EQ(e->delimiter, ".");
  EXPECT_EQ(e->attributes, (std::vector<std::string>{"\\HasNoChildren", "\\Sent"}));
  EXPECT_TRUE(e->selectable());
}

TEST(ParseList, NoselectAndNonExistentAreNotSelectable) {
  for (const std::string bytes : {
           "* LIST (\\Noselect \\HasChildren) \"/\" Public\r\n",
           "* LIST (\\HasChildren \\NOSELECT) \"/\" Public\r\n",
           "* LIST (\\NonExistent) \"/\" Public\r\n",
           "* LIST (\\nonexistent \\HasNoChildren) \"/\" Public\r\n",
       }) {
    SCOPED_TRACE(bytes);
    std::optional<ListEntry> e = parseList(one(bytes));
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->name, "Public");
    EXPECT_FALSE(e->selectable());
  }
}

TEST(ParseList, NilDelimiter) {
  std::optional<ListEntry> e = parseList(one("* LIST () NIL Archive\r\n"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->name, "Archive");
  EXPECT_EQ(e->delimiter, "");
  EXPECT_TRUE(e->attributes.empty());
  EXPECT_TRUE(e->selectable());
}

TEST(ParseList, LiteralName) {
  const std::string name = "Projekte/\"Q3\" (alt)";
  Parsed p = parse("* LIST (\\HasNoChildren) \"/\" {" + std::to_string(name.size()) + "}\r\n" + name + "\r\n",
                   /*stream_body=*/true, 1);
  ASSERT_EQ(p.responses.size(), 1u);
  EXPECT_EQ(p.streamed_literals, 0);
  std::optional<ListEntry> e = parseList(p.responses[0]);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->name, name);
  EXPECT_EQ(e->delimiter, "/");
}

TEST(ParseList, NumericAndModifiedUtf7NamesAreKeptAsSent) {
  std::optional<ListEntry> year = parseList(one("* LIST () \"/\" 2024\r\n"));
  ASSERT_TRUE(year.has_value());
  EXPECT_EQ(year->name, "2024");
  std::optional<ListEntry> utf7 = parseList(one("* LIST () \"/\" &AOk-t&AOk-\r\n"));
  ASSERT_TRUE(utf7.has_value());
  EXPECT_EQ(utf7->name, "&AOk-t&AOk-");
}

TEST(ParseList, MalformedOrOtherResponses) {
  for (const std::string bytes : {
           "* LSUB () \"/\" INBOX\r\n",
           "* LIST \"/\" INBOX\r\n",            // no attribute list
           "* LIST NIL \"/\" INBOX\r\n",        // attributes NIL
           "* LIST () / INBOX\r\n",             // delimiter is an atom
           "* LIST () \"/\" (INBOX)\r\n",       // name is a list
           "* LIST () \"/\" NIL\r\n",           // name NIL
           "* LIST () \"/\"\r\n",               // no name
           "* LIST () \"/\" INBOX extra\r\n",
           "* 3 EXISTS\r\n",
           "A1 OK LIST done\r\n",
       }) {
    SCOPED_TRACE(bytes);
    EXPECT_FALSE(parseList(one(bytes)).has_value());
  }
}

TEST(ParseExists, Counts) {
  EXPECT_EQ(parseExists(one("* 23 EXISTS\r\n")), 23u);
  EXPECT_EQ(parseExists(one("* 0 exists\r\n")), 0u);
  EXPECT_EQ(parseExists(one("* 4294967296 EXISTS\r\n")), 4294967296u);
  for (const std::string bytes : {
           "* EXISTS\r\n",
           "* 23 RECENT\r\n",
           "* 23 EXISTS now\r\n",
           "* x EXISTS\r\n",
           "* 23 EXPUNGE\r\n",
           "* OK [UIDNEXT 5] hi\r\n",
           "A1 OK 5 EXISTS\r\n",
       }) {
    SCOPED_TRACE(bytes);
    EXPECT_FALSE(parseExists(one(bytes)).has_value());
  }
}

TEST(CodeNumber, FromParsedStatusResponses) {
  Parsed p = parse(
      "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
      "* OK [UIDNEXT 4392] Predicted next UID\r\n"
      "* OK [uidnext 7] lower case\r\n"
      "A2 OK [READ-ONLY] EXAMINE completed\r\n");
  ASSERT_EQ(p.responses.size(), 4u);
  EXPECT_EQ(codeNumber(p.responses[0].code, "UIDVALIDITY"), 3857529045u);
  EXPECT_FALSE(codeNumber(p.responses[0].code, "UIDNEXT").has_value());
  EXPECT_EQ(codeNumber(p.responses[1].code, "UIDNEXT"), 4392u);
  EXPECT_FALSE(codeNumber(p.responses[1].code, "UIDVALIDITY").has_value());
  EXPECT_EQ(codeNumber(p.responses[2].code, "UIDNEXT"), 7u);
  EXPECT_FALSE(codeNumber(p.responses[3].code, "UIDNEXT").has_value());
}

TEST(CodeNumber, Malformed) {
  for (const std::string code : {
           "",
           "UIDVALIDITY",
           "UIDVALIDITY ",
           "UIDVALIDITY abc",
           "UIDVALIDITY 12x",
           "UIDVALIDITY 12 34",
           "UIDVALIDITY  12",
           "UIDVALIDITY -1",
           "UIDVALIDITY +1",
           "UIDVALIDITY 4294967296",
           "UIDVALIDITY 99999999999999999999",
           "UIDVALIDITYX 12",
           "UIDVALIDIT 12",
           "XUIDVALIDITY 12",
       }) {
    SCOPED_TRACE(code);
    EXPECT_FALSE(codeNumber(code, "UIDVALIDITY").has_value());
  }
  EXPECT_EQ(codeNumber("UIDVALIDITY 4294967295", "UIDVALIDITY"), 4294967295u);
}

TEST(CodeNumber, MalformedCodesFromTheParser) {
  Parsed p = parse(
      "* OK [UIDVALIDITY] no number\r\n"
      "* OK [UIDVALIDITY 0x10] hex\r\n"
      "* OK [UIDNEXT 4294967296] too big\r\n");
  ASSERT_EQ(p.responses.size(), 3u);
  EXPECT_FALSE(codeNumber(p.responses[0].code, "UIDVALIDITY").has_value()) << p.responses[0].code;
  EXPECT_FALSE(codeNumber(p.responses[1].code, "UIDVALIDITY").has_value()) << p.responses[1].code;
  EXPECT_FALSE(codeNumber(p.responses[2].code, "UIDNEXT").has_value()) << p.responses[2].code;
}

}  // namespace
}  // namespace mailark::imap
