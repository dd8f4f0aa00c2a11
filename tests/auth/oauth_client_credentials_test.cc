#include "src/auth/oauth_client_credentials.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/auth/jwt_claims.h"
#include "tests/auth/auth_testbed.h"

namespace mailark::auth {
namespace {

using authtest::AuthTestbed;

class OAuthClientCredentialsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    bed_ = AuthTestbed::start().release();
  }
  static void TearDownTestSuite() {
    delete bed_;
    bed_ = nullptr;
    curl_global_cleanup();
  }

  void SetUp() override {
    ASSERT_NE(bed_, nullptr) << "test bed did not start";
    bed_->configure(R"({"reset_stats":true,"fail_next":0,"fail_code":0,"delay_ms":0,"token_lifetime":3600})");
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    http_ = std::make_unique<loop::CurlMultiUv>(&loop_);
  }

  // Every test ends with all handles closed and the loop closable.
  void TearDown() override {
    clients_.clear();
    http_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  OAuthSettings settings() const {
    OAuthSettings s;
    s.authority = bed_->authority;
    s.tenant = bed_->tenant_id;
    s.client_id = bed_->client_id;
    s.client_secret = bed_->secret;
    s.ca_file = bed_->ca_file;
    s.retry.initial_backoff = std::chrono::milliseconds(200);
    return s;
  }

  // The same settings, failing on the first error (no retry).
  OAuthSettings noRetry() const {
    OAuthSettings s = settings();
    s.retry.max_attempts = 1;
    return s;
  }

  OAuthSettings certSettings(AssertionAlg alg, bool wrong = false) const {
    OAuthSettings s = settings();
    s.client_id = bed_->cert_client_id;
    s.client_secret.clear();
    Result<CertificateCredentialPtr> cred =
        wrong ? CertificateCredential::load(bed_->cert_wrong_certificate_file, bed_->cert_wrong_key_file, alg)
              : CertificateCredential::load(bed_->cert_certificate_file, bed_->cert_private_key_file, alg);
    EXPECT_TRUE(cred.isOk()) << cred.status().toString();
    if (cred) s.certificate = *cred;
    return s;
  }

  // Runs the loop for `ms` milliseconds.
  void sleepOnLoop(uint64_t ms) {
    bool fired = false;
    loop::Timer t(&loop_);
    t.start(ms, [&] { fired = true; });
    runUntil([&] { return fired; });
  }

  OAuthClientCredentials& client(OAuthSettings s) {
    clients_.push_back(std::make_unique<OAuthClientCredentials>(&loop_, *http_, std::move(s)));
    return *clients_.back();
  }

  void runUntil(const std::function<bool()>& done) {
    while (!done() && uv_run(&loop_, UV_RUN_ONCE) != 0) {
    }
    ASSERT_TRUE(done());
  }

  // One getToken() run to completion; also checks it did not call back early.
  Result<AccessToken> fetch(OAuthClientCredentials& c) {
    std::optional<Result<AccessToken>> out;
    c.getToken([&](const Result<AccessToken>& r) { out = r; });
    EXPECT_FALSE(out.has_value()) << "callback ran inside getToken()";
    runUntil([&] { return out.has_value(); });
    if (!out) return internalError("no callback");
    return *out;
  }

  // Fails the test when the message carries the secret or looks multi-line.
  static void expectClean(const Status& st) {
    EXPECT_EQ(st.message().find(bed_->secret), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find('\n'), std::string::npos) << st.message();
  }

  static AuthTestbed* bed_;
  uv_loop_t loop_{};
  std::unique_ptr<loop::CurlMultiUv> http_;
  std::vector<std::unique_ptr<OAuthClientCredentials>> clients_;
};
AuthTestbed* OAuthClientCredentialsTest::bed_ = nullptr;

TEST_F(OAuthClientCredentialsTest, ObtainsARealTokenWithExchangeClaims) {
  OAuthClientCredentials& c = client(settings());
  std::chrono::system_clock::time_point before = std::chrono::system_clock::now();
  Result<AccessToken> r = fetch(c);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  // The bed issues 3600 s tokens.
  EXPECT_GT(r->expires_at, before + std::chrono::minutes(50));
  EXPECT_LE(r->expires_at, std::chrono::system_clock::now() + std::chrono::seconds(3600));

  Result<JwtClaims> claims = decodeJwtClaims(r->value);
  ASSERT_TRUE(claims.isOk()) << claims.status().toString();
  EXPECT_EQ(claims->aud, "https://outlook.office365.com");
  EXPECT_TRUE(claims->hasRole("IMAP.AccessAsApp"));
  EXPECT_EQ(claims->appid, bed_->client_id);
  EXPECT_EQ(claims->tid, bed_->tenant_id);
  EXPECT_EQ(claims->idtyp, "app");
  EXPECT_EQ(bed_->tokenRequests(), 1);
}

TEST_F(OAuthClientCredentialsTest, TenantDomainWorksToo) {
  OAuthSettings s = settings();
  s.tenant = bed_->tenant;
  Result<AccessToken> r = fetch(client(s));
  EXPECT_TRUE(r.isOk()) << r.status().toString();
}

TEST_F(OAuthClientCredentialsTest, CachedTokenIsReusedAndStillAsynchronous) {
  OAuthClientCredentials& c = client(settings());
  Result<AccessToken> first = fetch(c);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  Result<AccessToken> second = fetch(c);  // fetch() checks the callback is deferred
  ASSERT_TRUE(second.isOk());
  EXPECT_EQ(second->value, first->value);
  EXPECT_EQ(c.requestsStarted(), 1u);
  EXPECT_EQ(bed_->tokenRequests(), 1);

  c.invalidate();
  Result<AccessToken> third = fetch(c);
  ASSERT_TRUE(third.isOk());
  EXPECT_EQ(c.requestsStarted(), 2u);
  EXPECT_EQ(bed_->tokenRequests(), 2);
}

TEST_F(OAuthClientCredentialsTest, FiftyConcurrentCallersShareOneRequest) {
  OAuthClientCredentials& c = client(settings());
  std::vector<std::optional<Result<AccessToken>>> results(50);
  for (auto& slot : results)
    c.getToken([&slot](const Result<AccessToken>& r) { slot = r; });
  runUntil([&] {
    for (auto& r : results)
      if (!r) return false;
    return true;
  });
  ASSERT_TRUE(results[0]->isOk()) << results[0]->status().toString();
  for (auto& r : results) {
    ASSERT_TRUE(r->isOk());
    EXPECT_EQ((*r)->value, (*results[0])->value);
  }
  EXPECT_EQ(bed_->tokenRequests(), 1);
  EXPECT_EQ(c.requestsStarted(), 1u);
}

TEST_F(OAuthClientCredentialsTest, WrongSecretNamesAADSTS7000215) {
  OAuthSettings s = settings();
  s.client_secret = "wrong8Q~secret-value";
  Result<AccessToken> r = fetch(client(s));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::AuthRejected);
  std::string m = r.status().message();
  EXPECT_EQ(m.rfind("token request failed: AADSTS7000215 invalid_client: ", 0), 0u) << m;
  EXPECT_NE(m.find("copy the secret's Value (not its Secret ID)"), std::string::npos) << m;
  EXPECT_EQ(m.find("wrong8Q~secret-value"), std::string::npos) << m;
  expectClean(r.status());
}

TEST_F(OAuthClientCredentialsTest, UnknownAppNamesAADSTS700016) {
  OAuthSettings s = settings();
  s.client_id = "00000000-0000-0000-0000-000000000001";
  Result<AccessToken> r = fetch(client(s));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::AuthRejected);
  EXPECT_NE(r.status().message().find("AADSTS700016"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("application 00000000-0000-0000-0000-000000000001 not found "
                                      "in tenant " + bed_->tenant_id),
            std::string::npos)
      << r.status().message();
  expectClean(r.status());
}

TEST_F(OAuthClientCredentialsTest, UnknownTenantNamesAADSTS90002) {
  OAuthSettings s = settings();
  s.tenant = "fabrikam.example";
  Result<AccessToken> r = fetch(client(s));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::AuthRejected);
  EXPECT_NE(r.status().message().find("AADSTS90002"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("tenant fabrikam.example not found"), std::string::npos);
  expectClean(r.status());
}

TEST_F(OAuthClientCredentialsTest, WrongScopeNamesTheRequiredScope) {
  OAuthSettings s = settings();
  s.scope = "https://graph.microsoft.com/.default";
  Result<AccessToken> r = fetch(client(s));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::AuthRejected);
  EXPECT_NE(r.status().message().find("https://outlook.office365.com/.default"), std::string::npos)
      << r.status().message();
  expectClean(r.status());
}

TEST_F(OAuthClientCredentialsTest, UntrustedCaIsATlsError) {
  OAuthSettings s = settings();
  s.ca_file.clear();
  Result<AccessToken> r = fetch(client(s));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::Tls);
  EXPECT_EQ(r.status().message().rfind("token endpoint TLS verification failed: ", 0), 0u)
      << r.status().message();
  EXPECT_NE(r.status().message().find("set [server] ca_file"), std::string::npos);
}

TEST_F(OAuthClientCredentialsTest, UnreadableCaFileIsAConfigError) {
  OAuthSettings s = settings();
  s.ca_file = bed_->dir + "/no-such-ca.pem";
  Result<AccessToken> r = fetch(client(s));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::Config);
  EXPECT_NE(r.status().message().find("no-such-ca.pem"), std::string::npos) << r.status().message();
}

TEST_F(OAuthClientCredentialsTest, ThrottlingIsTransientWithRetryAfter) {
  bed_->configure(R"({"fail_next":1,"fail_status":429,"retry_after":60})");
  Result<AccessToken> r = fetch(client(noRetry()));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::Transient);
  EXPECT_NE(r.status().message().find("HTTP 429"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("Retry-After: 60"), std::string::npos) << r.status().message();
}

TEST_F(OAuthClientCredentialsTest, ServerErrorIsTransientAndNextCallRecovers) {
  bed_->configure(R"({"fail_next":1,"fail_status":503})");
  OAuthClientCredentials& c = client(noRetry());
  Result<AccessToken> r = fetch(c);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::Transient);
  EXPECT_NE(r.status().message().find("HTTP 503"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("AADSTS50033"), std::string::npos) << r.status().message();
  Result<AccessToken> again = fetch(c);  // errors are not cached
  EXPECT_TRUE(again.isOk()) << again.status().toString();
}

TEST_F(OAuthClientCredentialsTest, SlowEndpointTimesOut) {
  bed_->configure(R"({"delay_ms":3000})");
  OAuthSettings s = noRetry();
  s.timeout = std::chrono::milliseconds(300);
  Result<AccessToken> r = fetch(client(s));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::Transient);
  EXPECT_NE(r.status().message().find("did not answer within 300 ms"), std::string::npos)
      << r.status().message();
}

TEST_F(OAuthClientCredentialsTest, ConnectionRefusedIsNamed) {
  OAuthSettings s = noRetry();
  s.authority = "https://127.0.0.1:1";
  Result<AccessToken> r = fetch(client(s));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::Transient);
  EXPECT_NE(r.status().message().find("could not connect to the token endpoint"), std::string::npos)
      << r.status().message();
}

TEST_F(OAuthClientCredentialsTest, BadSettingsFailAsynchronouslyWithoutARequest) {
  OAuthSettings s = settings();
  s.tenant = "common";
  OAuthClientCredentials& c = client(s);
  Result<AccessToken> r = fetch(c);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::Config);
  EXPECT_EQ(c.requestsStarted(), 0u);
}

TEST_F(OAuthClientCredentialsTest, DestroyedWhileInFlightDeliversNothing) {
  bed_->configure(R"({"delay_ms":500})");
  auto c = std::make_unique<OAuthClientCredentials>(&loop_, *http_, settings());
  int calls = 0;
  c->getToken([&](const Result<AccessToken>&) { ++calls; });
  c->getToken([&](const Result<AccessToken>&) { ++calls; });
  uv_run(&loop_, UV_RUN_NOWAIT);
  c.reset();
  EXPECT_EQ(http_->inFlight(), 0u);
  http_->close();
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(calls, 0);
}

TEST_F(OAuthClientCredentialsTest, CallerMayDestroyTheClientFromItsCallback) {
  auto c = std::make_unique<OAuthClientCredentials>(&loop_, *http_, settings());
  int calls = 0;
  for (int i = 0; i < 3; ++i) {
    c->getToken([&](const Result<AccessToken>& r) {
      EXPECT_TRUE(r.isOk()) << r.status().toString();
      ++calls;
      c.reset();  // later waiters are dropped with the client
    });
  }
  runUntil([&] { return calls > 0; });
  EXPECT_EQ(calls, 1);
}

// Issue 3: however many connections ask at once, one request is in the air.
TEST_F(OAuthClientCredentialsTest, ThreeHundredConcurrentCallersCauseOneRequest) {
  bed_->configure(R"({"delay_ms":300})");  // all 300 ask while the request is in flight
  OAuthClientCredentials& c = client(settings());
  std::vector<std::optional<Result<AccessToken>>> results(300);
  for (auto& slot : results) c.getToken([&slot](const Result<AccessToken>& r) { slot = r; });
  runUntil([&] {
    for (auto& r : results)
      if (!r) return false;
    return true;
  });
  for (auto& r : results) {
    ASSERT_TRUE(r->isOk()) << r->status().toString();
    EXPECT_EQ((*r)->value, (*results[0])->value);
  }
  EXPECT_EQ(bed_->tokenRequests(), 1);
  EXPECT_EQ(c.requestsStarted(), 1u);
}

TEST_F(OAuthClientCredentialsTest, RetryAfterOfA429IsHonoured) {
  bed_->configure(R"({"fail_next":1,"fail_status":429,"retry_after":2})");
  OAuthClientCredentials& c = client(settings());
  Result<AccessToken> r = fetch(c);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  std::vector<AuthTestbed::Seen> seen = bed_->requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].status, 429);
  EXPECT_EQ(seen[1].status, 200);
  // The endpoint's own clock: the retry came no sooner than Retry-After.
  EXPECT_GE(seen[1].time - seen[0].time, 2.0);
}

TEST_F(OAuthClientCredentialsTest, ServerErrorBurstIsRetriedWithGrowingBackoff) {
  bed_->configure(R"({"fail_next":3,"fail_status":500})");
  OAuthClientCredentials& c = client(settings());  // backoff 200 ms, doubling, equal jitter
  Result<AccessToken> r = fetch(c);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  std::vector<AuthTestbed::Seen> seen = bed_->requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(bed_->statsInt("injected_failures"), 3);
  // Equal jitter waits at least half of 200, 400, 800 ms.
  EXPECT_GE(seen[1].time - seen[0].time, 0.1);
  EXPECT_GE(seen[2].time - seen[1].time, 0.2);
  EXPECT_GE(seen[3].time - seen[2].time, 0.4);
}

TEST_F(OAuthClientCredentialsTest, RetriesStopAtMaxAttemptsWithTheLastError) {
  bed_->configure(R"({"fail_next":10,"fail_status":503})");
  OAuthSettings s = settings();
  s.retry.max_attempts = 3;
  s.retry.initial_backoff = std::chrono::milliseconds(50);
  Result<AccessToken> r = fetch(client(s));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::Transient);
  EXPECT_NE(r.status().message().find("AADSTS50033"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("gave up after 3 attempts"), std::string::npos) << r.status().message();
  EXPECT_EQ(bed_->tokenRequests(), 3);
}

TEST_F(OAuthClientCredentialsTest, ConfigurationCodesFailFastWithTheirHint) {
  struct Case {
    int code;
    const char* hint;
  } cases[] = {
      {7000215, "copy the secret's Value"},
      {7000222, "client secret has expired"},
      {700016, "not found in tenant"},
      {90002, "not found: check the tenant id/domain and the cloud"},
      {500011, "grant admin consent"},
      {65001, "Grant admin consent"},
      {700027, "client assertion signature invalid"},
      {7000112, "is disabled in tenant"},
      {70011, "invalid scope"},
      {700022, "invalid scope"},
  };
  for (const Case& c : cases) {
    bed_->configure(R"({"reset_stats":true,"fail_next":1,"fail_code":)" + std::to_string(c.code) + "}");
    Result<AccessToken> r = fetch(client(settings()));
    ASSERT_FALSE(r.isOk()) << c.code;
    EXPECT_EQ(r.status().code(), StatusCode::AuthRejected) << r.status().toString();
    EXPECT_NE(r.status().message().find("AADSTS" + std::to_string(c.code) + " "), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find(c.hint), std::string::npos) << r.status().message();
    EXPECT_EQ(bed_->tokenRequests(), 1) << "retried AADSTS" << c.code;
    expectClean(r.status());
  }
}

// With 4-second tokens the refresh margin is 2 s: a caller after 2.5 s gets
// a new token while the old one still had 1.5 s left.
TEST_F(OAuthClientCredentialsTest, RefreshesAheadOfExpiry) {
  bed_->configure(R"({"token_lifetime":4})");
  OAuthClientCredentials& c = client(settings());
  Result<AccessToken> first = fetch(c);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  sleepOnLoop(1000);
  Result<AccessToken> cached = fetch(c);
  ASSERT_TRUE(cached.isOk());
  EXPECT_EQ(cached->value, first->value);
  sleepOnLoop(1500);
  Result<AccessToken> fresh = fetch(c);
  ASSERT_TRUE(fresh.isOk());
  EXPECT_NE(fresh->value, first->value);
  EXPECT_EQ(bed_->tokenRequests(), 2);
  std::vector<AuthTestbed::Seen> seen = bed_->requests();
  ASSERT_EQ(seen.size(), 2u);
  Result<JwtClaims> old_claims = decodeJwtClaims(first->value);
  ASSERT_TRUE(old_claims.isOk());
  EXPECT_LT(seen[1].time, static_cast<double>(old_claims->exp)) << "refreshed only after expiry";
}

TEST_F(OAuthClientCredentialsTest, CertificateCredentialsPs256AndRs256) {
  for (AssertionAlg alg : {AssertionAlg::Ps256, AssertionAlg::Rs256}) {
    bed_->configure(R"({"reset_stats":true})");
    OAuthClientCredentials& c = client(certSettings(alg));
    Result<AccessToken> r = fetch(c);
    ASSERT_TRUE(r.isOk()) << assertionAlgName(alg) << ": " << r.status().toString();
    Result<JwtClaims> claims = decodeJwtClaims(r->value);
    ASSERT_TRUE(claims.isOk());
    EXPECT_EQ(claims->appid, bed_->cert_client_id);
    EXPECT_EQ(bed_->statsInt("assertions_verified"), 1);
    // A second request carries a new assertion (the endpoint refuses a replayed jti).
    c.invalidate();
    Result<AccessToken> again = fetch(c);
    EXPECT_TRUE(again.isOk()) << again.status().toString();
    EXPECT_EQ(bed_->statsInt("assertions_verified"), 2);
  }
}

TEST_F(OAuthClientCredentialsTest, WrongCertificateKeyIsRefusedWith700027) {
  OAuthClientCredentials& c = client(certSettings(AssertionAlg::Ps256, /*wrong=*/true));
  Result<AccessToken> r = fetch(c);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::AuthRejected);
  EXPECT_NE(r.status().message().find("AADSTS700027"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("does not match the private key"), std::string::npos) << r.status().message();
  EXPECT_EQ(bed_->tokenRequests(), 1);
}

TEST_F(OAuthClientCredentialsTest, SecretAndCertificateTogetherAreRefusedLocally) {
  OAuthSettings s = certSettings(AssertionAlg::Ps256);
  s.client_secret = "x";
  OAuthClientCredentials& c = client(s);
  Result<AccessToken> r = fetch(c);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::Config);
  EXPECT_EQ(c.requestsStarted(), 0u);
}

}  // namespace
}  // namespace mailark::auth
