#include "src/imap/command_builder.h"

#include <gtest/gtest.h>

namespace mailark::imap {
namespace {

TEST(CommandBuilder, QuotesAndEscapes) {
  Command c = CommandBuilder(false).raw("EXAMINE").string("Project \"Plans\"\\x").build();
  ASSERT_EQ(c.segments.size(), 1u);
  EXPECT_EQ(c.segments[0], "EXAMINE \"Project \\\"Plans\\\"\\\\x\"\r\n");
}

TEST(CommandBuilder, EightBitUsesLiteralPlusWhenOffered) {
  Command c = CommandBuilder(true).raw("EXAMINE").string("Entw\xc3\xbcrfe").build();
  ASSERT_EQ(c.segments.size(), 1u);
  EXPECT_EQ(c.segments[0], "EXAMINE {9+}\r\nEntw\xc3\xbcrfe\r\n");
}

TEST(CommandBuilder, EightBitWaitsForContinuationWithoutLiteralPlus) {
  Command c = CommandBuilder(false).raw("EXAMINE").string("a\r\nb").raw("X").build();
  ASSERT_EQ(c.segments.size(), 2u);
  EXPECT_EQ(c.segments[0], "EXAMINE {4}\r\n");
  EXPECT_EQ(c.segments[1], "a\r\nb X\r\n");
}

TEST(CommandBuilder, LogTextReplacesSecrets) {
  Command c = CommandBuilder(false).raw("AUTHENTICATE XOAUTH2 c2VjcmV0").logAs("AUTHENTICATE XOAUTH2 <redacted>").build();
  EXPECT_EQ(c.log_text, "AUTHENTICATE XOAUTH2 <redacted>");
}

TEST(UidSet, CompressesRuns) {
  EXPECT_EQ(uidSet({}), "");
  EXPECT_EQ(uidSet({7}), "7");
  EXPECT_EQ(uidSet({1, 2, 3, 4, 5, 7, 9, 10, 11, 12}), "1:5,7,9:12");
  EXPECT_EQ(uidSet({4294967294u, 4294967295u}), "4294967294:4294967295");
}

}  // namespace
}  // namespace mailark::imap
