#include <gtest/gtest.h>

#include "src/auth/oauth_client_credentials.h"

namespace mailark::auth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(RefreshMargin, EarlierOfFiveMinutesBeforeExpiryAnd75PercentOfLife) {
  EXPECT_EQ(refreshMargin(minutes(60)), minutes(15));  // 75% of life comes first
  EXPECT_EQ(refreshMargin(minutes(90)), seconds(1350));
  EXPECT_EQ(refreshMargin(minutes(16)), minutes(5));   // exp - 5 min comes first
  EXPECT_EQ(refreshMargin(minutes(8)), minutes(4));    // capped at half the life
  EXPECT_EQ(refreshMargin(seconds(2)), seconds(1));
}

TEST(OAuthSettings, ValidationNamesTheField) {
  OAuthSettings good;
  good.tenant = "contoso.onmicrosoft.com";
  good.client_id = "id";
  good.client_secret = "s";
  EXPECT_TRUE(validateOAuthSettings(good).isOk());

  struct Case {
    void (*mutate)(OAuthSettings&);
    const char* text;
  } cases[] = {
      {[](OAuthSettings& s) { s.authority = "http://login.microsoftonline.com"; }, "https://"},
      {[](OAuthSettings& s) { s.tenant.clear(); }, "tenant is empty"},
      {[](OAuthSettings& s) { s.tenant = "common"; }, "cannot issue app-only tokens"},
      {[](OAuthSettings& s) { s.tenant = "Organizations"; }, "cannot issue app-only tokens"},
      {[](OAuthSettings& s) { s.tenant = "a/b"; }, "tenant id or domain"},
      {[](OAuthSettings& s) { s.client_id.clear(); }, "client_id is empty"},
      {[](OAuthSettings& s) { s.client_secret.clear(); }, "client_secret is empty"},
      {[](OAuthSettings& s) { s.scope.clear(); }, "scope is empty"},
      {[](OAuthSettings& s) { s.timeout = std::chrono::milliseconds(0); }, "timeout"},
  };
  for (const Case& c : cases) {
    OAuthSettings s = good;
    c.mutate(s);
    Status st = validateOAuthSettings(s);
    EXPECT_EQ(st.code(), StatusCode::Config) << c.text;
    EXPECT_NE(st.message().find(c.text), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace mailark::auth
