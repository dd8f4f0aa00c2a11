#include "src/auth/oauth_client_credentials.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "src/auth/token_errors.h"
#include "src/auth/token_response.h"
#include "src/base/log.h"

namespace mailark::auth {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;

// Token answers are a few KB; a larger body is not a token endpoint.
constexpr size_t kMaxResponseBytes = 256 * 1024;
// A cached token with less than this left is not handed out as a fallback.
constexpr seconds kMinFallbackLife{60};

std::string trimmedAuthority(const std::string& authority) {
  std::string a = authority;
  while (!a.empty() && a.back() == '/') a.pop_back();
  return a;
}

bool isUrlSafeTenant(const std::string& tenant) {
  return std::all_of(tenant.begin(), tenant.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_';
  });
}

double randomUnit() {
  static std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string secondsText(milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

// Adds the configured CA file to the connection's trust store, next to the
// system bundle (see startRequest). Runs inside curl: must not throw.
CURLcode addExtraCa(CURL*, void* ssl_ctx, void* userp) {
  const char* path = static_cast<const char*>(userp);
  X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
  if (store == nullptr || X509_STORE_load_file(store, path) != 1) {
    ERR_clear_error();
    return CURLE_SSL_CACERT_BADFILE;
  }
  return CURLE_OK;
}

// Appends "name=<escaped value>" to a form body. curl_easy_escape returns
// curl-owned memory; it is wiped because it may hold the secret.
bool appendField(CURL* easy, std::string& body, const char* name, const std::string& value) {
  char* escaped = curl_easy_escape(easy, value.data(), static_cast<int>(value.size()));
  if (escaped == nullptr) return false;
  if (!body.empty()) body += '&';
  body += name;
  body += '=';
  size_t n = std::strlen(escaped);
  body.append(escaped, n);
  OPENSSL_cleanse(escaped, n);
  curl_free(escaped);
  return true;
}

}  // namespace

// The transfer in flight: the curl handle and the buffers curl writes into.
struct OAuthClientCredentials::Request {
  CURL* easy = nullptr;
  std::string body;  // holds the escaped secret: wiped before it is freed
  std::string response;
  std::string retry_after;
  bool too_large = false;
  steady_clock::time_point started_steady;
  system_clock::time_point started_system;
  char errbuf[CURL_ERROR_SIZE] = {};

  ~Request() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (!body.empty()) OPENSSL_cleanse(body.data(), body.size());
    if (!response.empty()) OPENSSL_cleanse(response.data(), response.size());
  }

  static size_t onBody(char* data, size_t size, size_t nmemb, void* userp) {
    auto* req = static_cast<Request*>(userp);
    size_t n = size * nmemb;
    if (req->response.size() + n > kMaxResponseBytes) {
      req->too_large = true;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    req->response.append(data, n);
    return n;
  }

  static size_t onHeader(char* data, size_t size, size_t nmemb, void* userp) {
    auto* req = static_cast<Request*>(userp);
    size_t n = size * nmemb;
    std::string_view line(data, n);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
      std::string_view v = line.substr(kName.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
        v.remove_suffix(1);
      req->retry_after.assign(v.substr(0, 64));
    }
    return n;
  }
};

// Runs callbacks on the next loop turn so that getToken() never calls back
// synchronously. Owns its uv timer and is freed from the timer's close
// callback, so it outlives a client destroyed from inside one of its calls.
struct OAuthClientCredentials::Deferred {
  uv_timer_t timer{};
  bool closed = false;
  std::vector<std::pair<Callback, Result<AccessToken>>> queue;

  void post(Callback cb, Result<AccessToken> result) {
    queue.emplace_back(std::move(cb), std::move(result));
    uv_timer_start(&timer, &Deferred::run, 0, 0);
  }

  static void run(uv_timer_t* t) {
    auto* d = static_cast<Deferred*>(t->data);
    auto batch = std::move(d->queue);
    d->queue.clear();
    for (auto& [cb, result] : batch) {
      if (d->closed) return;  // a callback closed the client: deliver nothing more
      cb(result);
    }
  }

  void close() {
    closed = true;
    queue.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&timer),
             [](uv_handle_t* h) { delete static_cast<Deferred*>(h->data); });
  }
};

Status validateOAuthSettings(const OAuthSettings& s) {
  if (strncasecmp(s.authority.c_str(), "https://", 8) != 0 || s.authority.size() <= 8)
    return configError("authority \"" + s.authority +
                       "\" must be an https:// URL such as https://login.microsoftonline.com");
  if (s.tenant.empty()) return configError("tenant is empty: set the tenant id or domain");
  if (!isUrlSafeTenant(s.tenant))
    return configError("tenant \"" + s.tenant + "\" must be a tenant id or domain name");
  for (const char* shared : {"common", "organizations", "consumers"})
    if (strcasecmp(s.tenant.c_str(), shared) == 0)
      return configError("tenant \"" + s.tenant +
                         "\" cannot issue app-only tokens: set the tenant id or domain");
  if (s.client_id.empty()) return configError("client_id is empty: set the app's client id");
  if (s.client_secret.empty() && s.certificate == nullptr)
    return configError("client_secret is empty and no certificate is set: configure one credential");
  if (!s.client_secret.empty() && s.certificate != nullptr)
    return configError("both a client_secret and a certificate are set: configure one credential");
  if (s.retry.max_attempts < 1) return configError("retry.max_attempts must be at least 1");
  if (s.scope.empty()) return configError("scope is empty: use https://outlook.office365.com/.default");
  if (s.timeout.count() <= 0) return configError("token request timeout must be positive");
  return Status::ok();
}

seconds refreshMargin(seconds lifetime) {
  seconds margin = std::max<seconds>(seconds(5 * 60), lifetime / 4);
  return std::min<seconds>(margin, lifetime / 2);
}

milliseconds backoffDelay(const RetryPolicy& policy, uint32_t retry, double unit) {
  milliseconds cap = std::max(policy.max_backoff, milliseconds(1));
  milliseconds d = std::max(policy.initial_backoff, milliseconds(1));
  for (uint32_t i = 1; i < retry && d < cap; ++i) d *= 2;
  d = std::min(d, cap);
  unit = std::clamp(unit, 0.0, 1.0);
  return d / 2 + milliseconds(static_cast<int64_t>(static_cast<double>((d - d / 2).count()) * unit));
}

std::optional<seconds> parseRetryAfter(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || v.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return seconds(n);
}

OAuthClientCredentials::OAuthClientCredentials(uv_loop_t* loop, loop::CurlMultiUv& http,
                                               OAuthSettings settings)
    : http_(http), settings_(std::move(settings)), retry_timer_(loop), deferred_(new Deferred) {
  uv_timer_init(loop, &deferred_->timer);
  deferred_->timer.data = deferred_;
}

OAuthClientCredentials::~OAuthClientCredentials() {
  close();
  if (!settings_.client_secret.empty())
    OPENSSL_cleanse(settings_.client_secret.data(), settings_.client_secret.size());
}

void OAuthClientCredentials::close() {
  if (closed_) return;
  closed_ = true;
  retry_timer_.stop();
  cleanupRequest();
  waiters_.clear();
  cached_.reset();
  deferred_->close();
  deferred_ = nullptr;
}

void OAuthClientCredentials::cleanupRequest() {
  if (request_ == nullptr) return;
  http_.remove(request_->easy);
  request_.reset();
}

void OAuthClientCredentials::invalidate() { cached_.reset(); }

void OAuthClientCredentials::getToken(Callback done) {
  if (closed_) return;
  if (Status st = validateOAuthSettings(settings_); !st) {
    deferred_->post(std::move(done), st);
    return;
  }
  if (cached_ && steady_clock::now() < refresh_at_) {
    deferred_->post(std::move(done), *cached_);
    return;
  }
  // A refresh is being retried: the old token still serves meanwhile.
  if (retry_timer_.active() && hasFallback()) {
    deferred_->post(std::move(done), *cached_);
    return;
  }
  waiters_.push_back(std::move(done));
  if (request_ == nullptr && !retry_timer_.active()) startRequest();
}

bool OAuthClientCredentials::hasFallback() const {
  return cached_ && steady_clock::now() + kMinFallbackLife < expires_steady_;
}

void OAuthClientCredentials::startRequest() {
  auto req = std::make_unique<Request>();
  req->easy = curl_easy_init();
  if (req->easy == nullptr) {
    failAllLater(internalError("token request failed: curl_easy_init failed (out of memory?)"));
    return;
  }
  CURL* e = req->easy;
  std::string url = trimmedAuthority(settings_.authority) + "/" + settings_.tenant +
                    "/oauth2/v2.0/token";
  bool ok = appendField(e, req->body, "grant_type", "client_credentials") &&
            appendField(e, req->body, "client_id", settings_.client_id) &&
            appendField(e, req->body, "scope", settings_.scope);
  if (settings_.certificate != nullptr) {
    // A fresh assertion (new jti, nbf = now) for every request.
    Result<std::string> assertion =
        settings_.certificate->makeAssertion(settings_.client_id, url, system_clock::now());
    if (!assertion) {
      attempt_ = 0;
      waited_ = milliseconds(0);
      failAllLater(assertion.status().withContext("token request failed"));
      return;
    }
    ok = ok &&
         appendField(e, req->body, "client_assertion_type",
                     "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") &&
         appendField(e, req->body, "client_assertion", *assertion);
  } else {
    ok = ok && appendField(e, req->body, "client_secret", settings_.client_secret);
  }
  if (!ok) {
    failAllLater(internalError("token request failed: could not encode the request form"));
    return;
  }
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body.c_str());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req->body.size()));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!settings_.ca_file.empty()) {
    // Without the CA cache each connection gets its own store, and curl fills
    // it with the system bundle into the same store our callback adds to:
    // 7.88 does so after the callback, 8.3+ before it; either way both are
    // trusted (checked by hand on 7.88). With the cache on, 7.88 would swap
    // in the shared cached store and lose our CA, or we would pollute it.
    curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, &addExtraCa);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, settings_.ca_file.c_str());
  }
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout.count()));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "mailark/0.1");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Request::onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, req.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Request::onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, req.get());
  req->started_steady = steady_clock::now();
  req->started_system = system_clock::now();

  Status st = http_.add(e, [this](CURLcode code) { onRequestDone(code); });
  if (!st) {
    failAllLater(st.withContext("token request failed"));
    return;
  }
  request_ = std::move(req);
  ++requests_started_;
  ++attempt_;
  log::debug("token request started for client " + settings_.client_id + " in tenant " +
             settings_.tenant);
}

Result<AccessToken> OAuthClientCredentials::interpret(CURLcode code, Request& req) const {
  TokenErrorContext ctx{settings_.authority, settings_.tenant, settings_.client_id,
                        settings_.scope,     settings_.client_secret, settings_.ca_file,
                        static_cast<int64_t>(settings_.timeout.count())};
  if (code == CURLE_WRITE_ERROR && req.too_large)
    return protocolError("token request failed: the token endpoint's answer exceeds " +
                         std::to_string(kMaxResponseBytes / 1024) + " KiB");
  if (code != CURLE_OK) return tokenTransportError(code, req.errbuf, ctx);
  long http_status = 0;
  curl_easy_getinfo(req.easy, CURLINFO_RESPONSE_CODE, &http_status);
  if (http_status != 200) return tokenHttpError(http_status, req.response, req.retry_after, ctx);
  Result<TokenResponse> parsed = parseTokenResponse(req.response);
  if (!parsed) return parsed.status().withContext("token request failed");
  AccessToken token;
  token.value = std::move(parsed->access_token);
  token.expires_at = req.started_system + seconds(parsed->expires_in);
  return token;
}

void OAuthClientCredentials::onRequestDone(CURLcode code) {
  std::unique_ptr<Request> req = std::move(request_);
  Result<AccessToken> result = interpret(code, *req);
  // Times count from the request's start: the token cannot be older.
  if (result) {
    seconds life = std::chrono::duration_cast<seconds>(result->expires_at - req->started_system);
    cached_ = *result;
    expires_steady_ = req->started_steady + life;
    refresh_at_ = expires_steady_ - refreshMargin(life);
    log::debug("token obtained for client " + settings_.client_id + ", valid " +
               std::to_string(life.count()) + " s");
  } else {
    log::debug(result.status().message());
    if (std::optional<milliseconds> delay = retryDelay(code, *req, result.status())) {
      waited_ += *delay;
      log::warn(result.status().message() + "; retrying in " + secondsText(*delay) + " (attempt " +
                std::to_string(attempt_ + 1) + " of " + std::to_string(settings_.retry.max_attempts) +
                ")");
      req.reset();
      retry_timer_.start(static_cast<uint64_t>(delay->count()), [this] {
        if (!closed_ && request_ == nullptr) startRequest();
      });
      // Callers need not wait for the retry while the old token is good.
      if (hasFallback()) finishAll(*cached_);
      return;
    }
    if (result.status().code() == StatusCode::Transient && attempt_ > 1) {
      result = transientError(result.status().message() + " (gave up after " +
                              std::to_string(attempt_) + " attempts over " + secondsText(waited_) + ")");
    }
    if (result.status().code() == StatusCode::Transient && hasFallback()) result = *cached_;
  }
  attempt_ = 0;
  waited_ = milliseconds(0);
  req.reset();  // frees the easy handle and wipes the request body now
  finishAll(result);
}

std::optional<milliseconds> OAuthClientCredentials::retryDelay(CURLcode code, const Request& req,
                                                               const Status& failure) {
  const RetryPolicy& policy = settings_.retry;
  if (failure.code() != StatusCode::Transient || attempt_ >= policy.max_attempts) return std::nullopt;
  long http_status = 0;
  if (code == CURLE_OK) curl_easy_getinfo(req.easy, CURLINFO_RESPONSE_CODE, &http_status);
  milliseconds delay;
  if (std::optional<seconds> after = parseRetryAfter(req.retry_after)) {
    delay = *after;
  } else if (http_status == 429) {
    delay = policy.default_retry_after;
  } else {
    delay = backoffDelay(policy, attempt_, randomUnit());
  }
  // A wait beyond the budget is not worth it: report the failure now.
  if (waited_ + delay > policy.max_total_wait) return std::nullopt;
  return delay;
}

// Hands `result` to every waiter. A waiter may destroy this client, so only
// the Deferred core (alive until its close callback) is consulted in between.
void OAuthClientCredentials::finishAll(const Result<AccessToken>& result) {
  std::vector<Callback> waiters = std::move(waiters_);
  waiters_.clear();
  Deferred* d = deferred_;
  for (Callback& cb : waiters) {
    if (d->closed) return;
    cb(result);
  }
}

// For failures found while still inside getToken(): callbacks must not run
// on the caller's stack.
void OAuthClientCredentials::failAllLater(const Status& status) {
  std::vector<Callback> waiters = std::move(waiters_);
  waiters_.clear();
  for (Callback& cb : waiters) deferred_->post(std::move(cb), status);
}

}  // namespace mailark::auth
