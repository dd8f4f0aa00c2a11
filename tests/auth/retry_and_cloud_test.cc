#include <gtest/gtest.h>

#include "src/auth/cloud.h"
#include "src/auth/oauth_client_credentials.h"

namespace mailark::auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(BackoffDelay, DoublesWithEqualJitterUpToTheCap) {
  RetryPolicy p;
  p.initial_backoff = milliseconds(1000);
  p.max_backoff = milliseconds(8000);
  EXPECT_EQ(backoffDelay(p, 1, 0.0), milliseconds(500));
  EXPECT_EQ(backoffDelay(p, 1, 0.999999), milliseconds(999));
  EXPECT_EQ(backoffDelay(p, 2, 0.0), milliseconds(1000));
  EXPECT_EQ(backoffDelay(p, 3, 0.5), milliseconds(3000));
  EXPECT_EQ(backoffDelay(p, 4, 0.0), milliseconds(4000));
  EXPECT_EQ(backoffDelay(p, 5, 0.0), milliseconds(4000));   // capped at 8 s
  EXPECT_EQ(backoffDelay(p, 40, 1.0), milliseconds(8000));  // no overflow
}

TEST(ParseRetryAfter, DeltaSecondsOnly) {
  EXPECT_EQ(parseRetryAfter("2"), seconds(2));
  EXPECT_EQ(parseRetryAfter(" 60 "), seconds(60));
  EXPECT_FALSE(parseRetryAfter(""));
  EXPECT_FALSE(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"));  // HTTP-date: use the default
  EXPECT_FALSE(parseRetryAfter("-1"));
  EXPECT_FALSE(parseRetryAfter("99999999999"));
}

TEST(Cloud, EachCloudHasItsHostsAndUnknownNamesAreRefused) {
  struct Case {
    const char* cloud;
    const char* authority;
    const char* scope;
    const char* host;
  } cases[] = {
      {"global", "https://login.microsoftonline.com", "https://outlook.office365.com/.default", "outlook.office365.com"},
      {"usgov", "https://login.microsoftonline.us", "https://outlook.office365.us/.default", "outlook.office365.us"},
      {"usgov-dod", "https://login.microsoftonline.us", "https://outlook-dod.office365.us/.default",
       "outlook-dod.office365.us"},
      {"china", "https://login.partner.microsoftonline.cn", "https://partner.outlook.cn/.default", "partner.outlook.cn"},
  };
  for (const Case& c : cases) {
    Result<CloudEndpoints> e = cloudEndpoints(c.cloud);
    ASSERT_TRUE(e.isOk()) << c.cloud;
    EXPECT_EQ(e->authority, c.authority);
    EXPECT_EQ(e->scope(), c.scope);
    EXPECT_EQ(e->mail_host, c.host);
    EXPECT_TRUE(isExchangeAudience(e->resource)) << c.cloud;
  }
  Result<CloudEndpoints> bad = cloudEndpoints("azure");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("\"usgov-dod\""), std::string::npos);
}

TEST(Cloud, ExchangeAudiences) {
  EXPECT_TRUE(isExchangeAudience("https://outlook.office365.com"));
  EXPECT_TRUE(isExchangeAudience("https://outlook.office365.com/"));
  EXPECT_TRUE(isExchangeAudience("https://ps.outlook.com"));
  EXPECT_TRUE(isExchangeAudience("00000002-0000-0ff1-ce00-000000000000"));
  EXPECT_FALSE(isExchangeAudience("https://graph.microsoft.com"));
  EXPECT_FALSE(isExchangeAudience(""));
}

}  // namespace
}  // namespace mailark::auth
