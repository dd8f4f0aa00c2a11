#include "src/cli/export_names.h"

#include <gtest/gtest.h>

#include <set>

namespace mailark::cli {
namespace {

TEST(ExportNames, HostileFolderNamesStayOneSafeComponentWithoutCollisions) {
  std::set<std::string> seen;
  for (const char* name : {"../../etc", "../x", "a/../../b", "..", ".", ".hidden", "a/b", "a%2Fb", "a\\b", "INBOX",
                           "Entw\xc3\xbcrfe", "line\nbreak"}) {
    std::string safe = safeFolderFileName(name);
    EXPECT_EQ(safe.find('/'), std::string::npos) << name;
    EXPECT_NE(safe.front(), '.') << name;
    EXPECT_EQ(safe.find('\n'), std::string::npos) << name;
    EXPECT_TRUE(seen.insert(safe).second) << "collision for " << name;
  }
  EXPECT_EQ(safeFolderFileName("../../etc"), "%2E.%2F..%2Fetc");
  EXPECT_EQ(safeFolderFileName("INBOX"), "INBOX");
}

TEST(ExportNames, InternalDateAndFlags) {
  std::optional<std::time_t> t = parseInternalDate("17-Jul-1996 02:44:25 -0700");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 837596665);
  EXPECT_EQ(asctimeUtc(*t), "Wed Jul 17 09:44:25 1996");
  EXPECT_EQ(parseInternalDate(" 1-Jan-2024 00:00:00 +0000").value_or(0), 1704067200);
  EXPECT_FALSE(parseInternalDate("garbage"));
  EXPECT_EQ(maildirFlags("\\Seen \\Answered \\Flagged $Forwarded \\Draft \\Deleted"), "DFPRST");
  EXPECT_EQ(maildirFlags(""), "");
}

TEST(ExportNames, MboxrdQuotesFromLinesAcrossChunks) {
  std::string out;
  MboxrdQuoter q;
  std::string in = "From x\nhello\n>From y\nFro";
  q.feed(in, &out);
  q.feed("m z\nFromage\n", &out);
  q.finish(&out);
  EXPECT_EQ(out, ">From x\nhello\n>>From y\n>From z\nFromage\n");
}

}  // namespace
}  // namespace mailark::cli
