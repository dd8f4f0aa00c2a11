// OAuthClientCredentials: app-only access tokens from the Microsoft identity
// platform (OAuth2 client-credentials grant with a client secret or a
// certificate: see src/auth/client_assertion.h).
//
// POSTs grant_type=client_credentials to {authority}/{tenant}/oauth2/v2.0/token
// through a CurlMultiUv, caches the token, and hands it out until it nears
// expiry (see refreshMargin). Concurrent getToken() calls share one request
// (single flight). Every callback runs asynchronously on the loop, never
// inside getToken().
//
// TLS verification is always on. `ca_file` is an extra trust anchor: it is
// added to the system store for this client's connections, not put in its
// place. Errors are one-line Status values (see src/auth/token_errors.h);
// none contains the secret or a token.
//
// Retries (RetryPolicy): a Transient failure is retried while callers wait:
// 429 after its Retry-After (default 60 s, body ignored), any answer with a
// Retry-After after that, everything else (5xx, timeouts, refused
// connections, Microsoft's transient AADSTS codes) after a jittered
// exponential backoff. Configuration refusals (AuthRejected, Config, Tls)
// fail at once, without a second request.
//
// Lifetimes: `http` must outlive this object. After close() or destruction
// no callback is delivered; callers still waiting are dropped uncalled (like
// TcpStream), so their owners must not wait for them during shutdown.
// Threading: one loop; no locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include "mailark/token_provider.h"
#include "src/auth/client_assertion.h"
#include "src/loop/curl_multi_uv.h"
#include "src/loop/timer.h"

namespace mailark::auth {

// How failed token requests are retried before callers see the error.
struct RetryPolicy {
  uint32_t max_attempts = 6;  // requests per round, the first included; 1 = no retry
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(60)};
  std::chrono::milliseconds max_total_wait{std::chrono::minutes(5)};  // waits summed per round
  std::chrono::seconds default_retry_after{60};  // for a 429 without a usable Retry-After
};

// The wait before retry number `retry` (1 = the first retry): "equal
// jitter", uniform between half and all of min(max_backoff,
// initial_backoff * 2^(retry-1)). `unit` is a random number in [0, 1).
std::chrono::milliseconds backoffDelay(const RetryPolicy& policy, uint32_t retry, double unit);

// A Retry-After header value in delta-seconds ("2", " 60 "). Empty for an
// absent value, an HTTP-date or anything else (the caller uses its default).
std::optional<std::chrono::seconds> parseRetryAfter(std::string_view value);

struct OAuthSettings {
  std::string authority = "https://login.microsoftonline.com";
  std::string tenant;     // tenant id (GUID) or domain; never "common"
  std::string client_id;  // the app registration's Application (client) ID
  std::string client_secret;  // held in memory only; never logged
  CertificateCredentialPtr certificate;  // instead of client_secret (exactly one is set)
  std::string scope = "https://outlook.office365.com/.default";
  std::string ca_file;  // optional PEM file of extra trusted CAs
  std::chrono::milliseconds timeout{30000};  // whole request, connect included
  RetryPolicy retry;
};

// Checks the settings without network access. Returns Config naming the
// field and the fix (e.g. tenant "common" cannot issue app-only tokens).
Status validateOAuthSettings(const OAuthSettings& settings);

// How long before expiry a token of `lifetime` is refreshed: a quarter of its
// life but at least 5 minutes, i.e. refresh at the earlier of exp - 5 min and
// 75% of the life (the MSAL-like rule in docs/exchange-online.md). Capped at
// half the life so that short-lived tokens (tests, custom policies) are still
// reused instead of fetched on every call.
std::chrono::seconds refreshMargin(std::chrono::seconds lifetime);

class OAuthClientCredentials final : public TokenProvider {
 public:
  OAuthClientCredentials(uv_loop_t* loop, loop::CurlMultiUv& http, OAuthSettings settings);
  ~OAuthClientCredentials() override;  // implies close()
  OAuthClientCredentials(const OAuthClientCredentials&) = delete;
  OAuthClientCredentials& operator=(const OAuthClientCredentials&) = delete;

  // See TokenProvider. Result errors: Config (bad settings or ca_file),
  // AuthRejected (AADSTS refusal, with a hint), Tls (certificate not
  // trusted), Transient (network, timeout, 429, 5xx, once retries are used
  // up), ProtocolError (answer is not a token). While a Transient failure is
  // being retried, a cached token with at least a minute left is handed out
  // instead of waiting.
  // REQUIRES: close() not called (later calls are dropped uncalled).
  void getToken(Callback done) override;

  // Forgets the cached token so the next getToken() asks again, e.g. after a
  // server refused the token. A request already in flight is kept.
  void invalidate();

  // Token requests started so far (for tests and `mailark doctor`).
  uint64_t requestsStarted() const { return requests_started_; }

  // Cancels the request in flight and closes the uv handles; idempotent.
  void close();

 private:
  struct Request;
  struct Deferred;

  void startRequest();
  void onRequestDone(CURLcode code);
  Result<AccessToken> interpret(CURLcode code, Request& req) const;
  std::optional<std::chrono::milliseconds> retryDelay(CURLcode code, const Request& req,
                                                      const Status& failure);
  bool hasFallback() const;
  void finishAll(const Result<AccessToken>& result);
  void failAllLater(const Status& status);
  void cleanupRequest();

  loop::CurlMultiUv& http_;
  OAuthSettings settings_;
  loop::Timer retry_timer_;  // armed while waiting to retry a failed request
  uint32_t attempt_ = 0;     // requests in the current round
  std::chrono::milliseconds waited_{0};  // retry waits in the current round
  Deferred* deferred_;  // owns a uv timer; freed from its close callback
  std::unique_ptr<Request> request_;  // the one request in flight, if any
  std::vector<Callback> waiters_;     // callers waiting for request_
  std::optional<AccessToken> cached_;
  std::chrono::steady_clock::time_point refresh_at_{};
  std::chrono::steady_clock::time_point expires_steady_{};
  uint64_t requests_started_ = 0;
  bool closed_ = false;
};

}  // namespace mailark::auth
