#include "src/auth/jwt_claims.h"

#include <gtest/gtest.h>

#include <string>

namespace mailark::auth {
namespace {

// Test-only encoder, so the cases below are readable JSON.
std::string base64Url(std::string_view in) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::string jwtWithPayload(std::string_view json) {
  return base64Url(R"({"alg":"RS256","typ":"JWT","kid":"k"})") + "." + base64Url(json) + ".c2ln";
}

TEST(Base64Url, DecodesAllLengthsAndRejectsJunk) {
  EXPECT_EQ(*base64UrlDecode(""), "");
  EXPECT_EQ(*base64UrlDecode("Zg"), "f");
  EXPECT_EQ(*base64UrlDecode("Zm8"), "fo");
  EXPECT_EQ(*base64UrlDecode("Zm9v"), "foo");
  EXPECT_EQ(*base64UrlDecode("Zm9vYg=="), "foob");
  EXPECT_EQ(*base64UrlDecode("-_8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(base64UrlDecode("Zm9vY").isOk());   // impossible length
  EXPECT_FALSE(base64UrlDecode("Zm+v").isOk());    // base64 (not url) alphabet
  EXPECT_FALSE(base64UrlDecode("Zm 9v").isOk());
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*base64UrlDecode(base64Url(all)), all);
}

TEST(JwtClaims, DecodesAppOnlyExchangeToken) {
  std::string token = jwtWithPayload(
      R"({"aud":"https://outlook.office365.com","iss":"https://sts.windows.net/t-1/",)"
      R"("iat":1700000000,"exp":1700003600,"appid":"app-1","idtyp":"app","oid":"oid-1",)"
      R"("roles":["IMAP.AccessAsApp","POP.AccessAsApp"],"tid":"t-1","ver":"1.0"})");
  Result<JwtClaims> c = decodeJwtClaims(token);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->aud, "https://outlook.office365.com");
  EXPECT_EQ(c->iss, "https://sts.windows.net/t-1/");
  EXPECT_EQ(c->appid, "app-1");
  EXPECT_EQ(c->idtyp, "app");
  EXPECT_EQ(c->oid, "oid-1");
  EXPECT_EQ(c->tid, "t-1");
  EXPECT_EQ(c->exp, 1700003600);
  ASSERT_EQ(c->roles.size(), 2u);
  EXPECT_TRUE(c->hasRole("IMAP.AccessAsApp"));
  EXPECT_TRUE(c->hasRole("POP.AccessAsApp"));
  EXPECT_FALSE(c->hasRole("Mail.Read"));
}

TEST(JwtClaims, AudienceArrayAndMissingClaims) {
  Result<JwtClaims> c = decodeJwtClaims(jwtWithPayload(R"({"aud":["https://ps.outlook.com","x"],"exp":1.7e9})"));
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->aud, "https://ps.outlook.com");
  EXPECT_EQ(c->exp, 1700000000);
  EXPECT_TRUE(c->roles.empty());
  EXPECT_TRUE(c->appid.empty());
}

TEST(JwtClaims, RejectsMalformedTokens) {
  for (const std::string& token : {
           std::string("not-a-jwt"),
           std::string("a.b"),
           std::string("a.b.c.d"),
           std::string("eyJ.!!!.c2ln"),
           jwtWithPayload("[1]"),
           jwtWithPayload("not json"),
           jwtWithPayload(R"({"roles":"IMAP.AccessAsApp"})"),
           jwtWithPayload(R"({"roles":[1]})"),
           jwtWithPayload(R"({"aud":5})"),
           jwtWithPayload(R"({"exp":"soon"})"),
       }) {
    Result<JwtClaims> c = decodeJwtClaims(token);
    EXPECT_FALSE(c.isOk()) << token;
    if (!c.isOk()) {
      EXPECT_EQ(c.status().code(), StatusCode::ProtocolError);
    }
  }
}

}  // namespace
}  // namespace mailark::auth
