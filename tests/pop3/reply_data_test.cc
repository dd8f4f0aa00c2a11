#include "src/pop3/reply_data.h"

#include <gtest/gtest.h>

namespace mailark::pop3 {
namespace {

TEST(Pop3ReplyData, UidlLines) {
  Result<UidlEntry> e = parseUidlLine("1 000000017abcdef0");
  ASSERT_TRUE(e.isOk()) << e.status().toString();
  EXPECT_EQ(e->number, 1u);
  EXPECT_EQ(e->uidl, "000000017abcdef0");
  EXPECT_EQ(parseUidlLine("42 AAA!~").value().uidl, "AAA!~");
  EXPECT_EQ(parseUidlLine(std::string("7 ") + std::string(70, 'z')).value().uidl.size(), 70u);
}

TEST(Pop3ReplyData, BadUidlLinesAreProtocolErrors) {
  for (const std::string& line : std::vector<std::string>{"3", "", "x 101", "0 101", "1 101 extra", "99999999999 1", "-1 a",
                           std::string("1 ") + std::string(71, 'z'), std::string("1 a\x7f"), std::string("1 \xc3\xa9")}) {
    Result<UidlEntry> e = parseUidlLine(line);
    EXPECT_FALSE(e.isOk()) << line;
    if (!e.isOk()) {
      EXPECT_EQ(e.status().code(), StatusCode::ProtocolError) << line;
    }
  }
}

TEST(Pop3ReplyData, DuplicateUidlsAreRefused) {
  EXPECT_TRUE(checkUidlListing({{1, "a"}, {2, "b"}}).isOk());
  Status dup = checkUidlListing({{1, "a"}, {2, "b"}, {3, "a"}});
  EXPECT_EQ(dup.code(), StatusCode::ProtocolError);
  EXPECT_NE(dup.message().find("\"a\""), std::string::npos) << dup.message();
  EXPECT_EQ(checkUidlListing({{1, "a"}, {1, "b"}}).code(), StatusCode::ProtocolError);
}

TEST(Pop3ReplyData, Capabilities) {
  std::vector<Capability> capas = {parseCapaLine("TOP"), parseCapaLine("uidl"), parseCapaLine("SASL PLAIN xoauth2")};
  EXPECT_NE(findCapability(capas, "UIDL"), nullptr);
  EXPECT_EQ(findCapability(capas, "STLS"), nullptr);
  EXPECT_TRUE(hasSaslMechanism(capas, "XOAUTH2"));
  EXPECT_FALSE(hasSaslMechanism(capas, "OAUTHBEARER"));
  EXPECT_FALSE(hasSaslMechanism({parseCapaLine("TOP")}, "XOAUTH2"));
}

}  // namespace
}  // namespace mailark::pop3
