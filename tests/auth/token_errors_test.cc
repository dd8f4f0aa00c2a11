#include "src/auth/token_errors.h"

#include <gtest/gtest.h>

#include <string>

namespace mailark::auth {
namespace {

constexpr const char* kSecret = "abc8Q~s3cr3t-value_that.must~never+leak";

TokenErrorContext context(std::string_view ca_file = "") {
  TokenErrorContext ctx;
  ctx.authority = "https://login.microsoftonline.com";
  ctx.tenant = "contoso.onmicrosoft.com";
  ctx.client_id = "11111111-2222-3333-4444-555555555555";
  ctx.scope = "https://outlook.office365.com/.default";
  ctx.client_secret = kSecret;
  ctx.ca_file = ca_file;
  ctx.timeout_ms = 30000;
  return ctx;
}

// An error body as Entra words it; the description deliberately echoes the
// secret to prove it is never passed through.
std::string errorBody(const std::string& error, int64_t code) {
  return R"({"error":")" + error + R"(","error_description":"AADSTS)" + std::to_string(code) +
         ": something about " + kSecret + R"(\r\nTrace ID: 1","error_codes":[)" +
         std::to_string(code) + R"(],"timestamp":"2024-01-01 00:00:00Z"})";
}

void expectClean(const Status& st) {
  EXPECT_EQ(st.message().find(kSecret), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\n'), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\r'), std::string::npos) << st.message();
}

TEST(TokenErrors, KnownAadCodesGetHintsAndAreNotRetried) {
  struct Case {
    int64_t code;
    const char* error;
    const char* hint;
  } cases[] = {
      {7000215, "invalid_client", "copy the secret's Value (not its Secret ID)"},
      {7000222, "invalid_client", "client secret has expired"},
      {700016, "unauthorized_client",
       "application 11111111-2222-3333-4444-555555555555 not found in tenant "
       "contoso.onmicrosoft.com"},
      {90002, "invalid_request", "tenant contoso.onmicrosoft.com not found"},
      {500011, "invalid_resource", "grant admin consent"},
      {65001, "invalid_grant", "Grant admin consent"},
      {70011, "invalid_scope", "scope must be https://outlook.office365.com/.default"},
      {700022, "invalid_scope", "scope must be https://outlook.office365.com/.default"},
      {7000218, "invalid_client", "no client secret was sent"},
      {700027, "invalid_client", "client assertion signature invalid"},
      {7000112, "unauthorized_client", "is disabled in tenant"},
  };
  for (const Case& c : cases) {
    Status st = tokenHttpError(400, errorBody(c.error, c.code), "", context());
    EXPECT_EQ(st.code(), StatusCode::AuthRejected) << c.code;
    std::string head = "token request failed: AADSTS" + std::to_string(c.code) + " " + c.error + ": ";
    EXPECT_EQ(st.message().rfind(head, 0), 0u) << st.message();
    EXPECT_NE(st.message().find(c.hint), std::string::npos) << st.message();
    expectClean(st);
  }
}

TEST(TokenErrors, UnknownCodeShowsFirstDescriptionLineRedacted) {
  Status st = tokenHttpError(401, errorBody("invalid_client", 123456), "", context());
  EXPECT_EQ(st.code(), StatusCode::AuthRejected);
  EXPECT_EQ(st.message(),
            "token request failed: AADSTS123456 invalid_client: something about [REDACTED]");
}

TEST(TokenErrors, TransientAadCodesAndServerErrors) {
  Status st = tokenHttpError(400, errorBody("temporarily_unavailable", 50033), "", context());
  EXPECT_EQ(st.code(), StatusCode::Transient);
  EXPECT_NE(st.message().find("AADSTS50033"), std::string::npos);
  expectClean(st);

  st = tokenHttpError(503, errorBody("temporarily_unavailable", 90033), "30", context());
  EXPECT_EQ(st.code(), StatusCode::Transient);
  EXPECT_NE(st.message().find("HTTP 503"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("Retry-After: 30"), std::string::npos) << st.message();

  st = tokenHttpError(502, "<html>Bad gateway</html>", "", context());
  EXPECT_EQ(st.code(), StatusCode::Transient);
  EXPECT_NE(st.message().find("HTTP 502"), std::string::npos) << st.message();
}

TEST(TokenErrors, ThrottlingNamesStatusAndRetryAfter) {
  Status st = tokenHttpError(429, "Too Many Requests", "60", context());
  EXPECT_EQ(st.code(), StatusCode::Transient);
  EXPECT_NE(st.message().find("HTTP 429"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("Retry-After: 60"), std::string::npos) << st.message();
}

TEST(TokenErrors, NonJsonClientErrors) {
  Status st = tokenHttpError(404, "Not Found", "", context());
  EXPECT_EQ(st.code(), StatusCode::Config);
  EXPECT_NE(st.message().find("check authority and tenant"), std::string::npos);
  st = tokenHttpError(400, "bad", "", context());
  EXPECT_EQ(st.code(), StatusCode::ProtocolError);
  EXPECT_NE(st.message().find("HTTP 400"), std::string::npos);
}

TEST(TokenErrors, TransportFailuresAreNamed) {
  struct Case {
    CURLcode code;
    StatusCode expect;
    const char* text;
  } cases[] = {
      {CURLE_COULDNT_RESOLVE_HOST, StatusCode::Transient, "DNS lookup of the token endpoint failed"},
      {CURLE_COULDNT_CONNECT, StatusCode::Transient, "connection refused"},
      {CURLE_OPERATION_TIMEDOUT, StatusCode::Transient, "did not answer within 30000 ms"},
      {CURLE_PEER_FAILED_VERIFICATION, StatusCode::Tls,
       "token endpoint TLS verification failed: detail; if the endpoint uses a private CA set "
       "[server] ca_file"},
      {CURLE_SSL_CONNECT_ERROR, StatusCode::Tls, "TLS handshake failed"},
      {CURLE_RECV_ERROR, StatusCode::Transient, "connection to the token endpoint broke"},
      {CURLE_URL_MALFORMAT, StatusCode::Config, "not a usable https URL"},
  };
  for (const Case& c : cases) {
    Status st = tokenTransportError(c.code, "detail", context());
    EXPECT_EQ(st.code(), c.expect) << st.toString();
    EXPECT_NE(st.message().find(c.text), std::string::npos) << st.message();
  }
  Status st = tokenTransportError(CURLE_PEER_FAILED_VERIFICATION, "x", context("/etc/my-ca.pem"));
  EXPECT_NE(st.message().find("check that ca_file /etc/my-ca.pem holds the CA"), std::string::npos);
  st = tokenTransportError(CURLE_SSL_CACERT_BADFILE, "", context("/nope.pem"));
  EXPECT_EQ(st.code(), StatusCode::Config);
  EXPECT_NE(st.message().find("ca_file /nope.pem"), std::string::npos);
  st = tokenTransportError(CURLE_RECV_ERROR, std::string("echo ") + kSecret, context());
  expectClean(st);
}

}  // namespace
}  // namespace mailark::auth
