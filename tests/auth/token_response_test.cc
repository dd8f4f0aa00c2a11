#include "src/auth/token_response.h"

#include <gtest/gtest.h>

#include <string>

namespace mailark::auth {
namespace {

TEST(TokenResponse, ParsesIntegerExpiresIn) {
  Result<TokenResponse> r = parseTokenResponse(
      R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ.abc.def"})");
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->access_token, "eyJ.abc.def");
  EXPECT_EQ(r->token_type, "Bearer");
  EXPECT_EQ(r->expires_in, 3599);
}

TEST(TokenResponse, ParsesStringExpiresInAndAnyFieldOrder) {
  Result<TokenResponse> r = parseTokenResponse(
      R"({"access_token":"tok","expires_in":"4200","foo":{"x":[1,2]},"token_type":"bearer"})");
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->access_token, "tok");
  EXPECT_EQ(r->expires_in, 4200);
}

TEST(TokenResponse, RejectsBadBodiesWithoutEchoingTheToken) {
  struct Case {
    const char* body;
    const char* expect;
  } cases[] = {
      {"", "not a JSON object"},
      {"<html>hi</html>", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {R"({"token_type":"Bearer","expires_in":3599})", "no access_token"},
      {R"({"token_type":"Bearer","access_token":"SECRETTOKEN"})", "no expires_in"},
      {R"({"token_type":"Bearer","expires_in":"soon","access_token":"SECRETTOKEN"})",
       "not a number of seconds"},
      {R"({"token_type":"Bearer","expires_in":"12x","access_token":"SECRETTOKEN"})",
       "not a number of seconds"},
      {R"({"token_type":"Bearer","expires_in":0,"access_token":"SECRETTOKEN"})", "outside"},
      {R"({"token_type":"Bearer","expires_in":-5,"access_token":"SECRETTOKEN"})", "outside"},
      {R"({"token_type":"Bearer","expires_in":999999,"access_token":"SECRETTOKEN"})", "outside"},
      {R"({"token_type":"Bearer","expires_in":1.5,"access_token":"SECRETTOKEN"})",
       "not an integer"},
      {R"({"token_type":"Bearer","expires_in":null,"access_token":"SECRETTOKEN"})",
       "neither a number nor a string"},
      {R"({"token_type":"Bearer","expires_in":10,"access_token":42})", "access_token is not a string"},
      {R"({"token_type":"pop","expires_in":10,"access_token":"SECRETTOKEN"})", "expected Bearer"},
      {R"({"expires_in":10,"access_token":"SECRETTOKEN"})", "expected Bearer"},
  };
  for (const Case& c : cases) {
    Result<TokenResponse> r = parseTokenResponse(c.body);
    ASSERT_FALSE(r.isOk()) << c.body;
    EXPECT_EQ(r.status().code(), StatusCode::ProtocolError) << c.body;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.body << " -> " << r.status().message();
    EXPECT_EQ(r.status().message().find("SECRETTOKEN"), std::string::npos) << c.body;
  }
}

TEST(TokenErrorBody, ParsesMicrosoftErrorShape) {
  Result<TokenErrorBody> r = parseTokenErrorBody(
      R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x","error_codes":[7000215,50012],"timestamp":"2024-01-01 00:00:00Z","trace_id":"t","correlation_id":"c","error_uri":"https://login.microsoftonline.com/error?code=7000215"})");
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->error, "invalid_client");
  EXPECT_EQ(r->error_description, "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x");
  ASSERT_EQ(r->error_codes.size(), 2u);
  EXPECT_EQ(r->error_codes[0], 7000215);
  EXPECT_EQ(r->error_codes[1], 50012);
}

TEST(TokenErrorBody, RejectsNonErrorBodies) {
  for (const char* body : {"Too Many Requests", "", "{}", R"({"error":5})",
                           R"({"error":"x","error_codes":"7000215"})",
                           R"({"error":"x","error_codes":["a"]})"}) {
    Result<TokenErrorBody> r = parseTokenErrorBody(body);
    EXPECT_FALSE(r.isOk()) << body;
  }
}

}  // namespace
}  // namespace mailark::auth
