// `mailark doctor`: walks each app and mailbox through the steps a run
// takes, stops each at its first failure and says what to fix. Never prints
// the secret or a token.
#include <cctype>
#include <cstdio>
#include <optional>
#include <set>

#include "src/auth/jwt_claims.h"
#include "src/auth/oauth_client_credentials.h"
#include "src/base/log.h"
#include "src/cli/app_auth.h"
#include "src/cli/commands.h"
#include "src/cli/doctor_report.h"
#include "src/config/config.h"
#include "src/engine/access_probe.h"
#include "src/loop/curl_multi_uv.h"
#include "src/tls/tls_context.h"

namespace mailark::cli {

namespace {

constexpr uint64_t kTimeoutMs = 30'000;

// Host and port of an https:// URL ("https://host[:port][/path]").
std::optional<std::pair<std::string, uint16_t>> httpsHost(const std::string& url) {
  const std::string scheme = "https://";
  if (url.compare(0, scheme.size(), scheme) != 0) return std::nullopt;
  std::string rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  uint16_t port = 443;
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']') == std::string::npos) {
    unsigned long p = std::strtoul(rest.c_str() + colon + 1, nullptr, 10);
    if (p == 0 || p > 65535) return std::nullopt;
    port = static_cast<uint16_t>(p);
    rest.resize(colon);
  }
  if (rest.empty()) return std::nullopt;
  return std::make_pair(rest, port);
}

// Splits a token client message "...AADSTSnnn error: advice" into what
// happened and the advice.
DoctorCheck tokenCheck(const std::string& subject, const Status& s) {
  DoctorCheck c{subject, "token", false, s.message(), "", "token_refused"};
  size_t code = s.message().find("AADSTS");
  if (code != std::string::npos) {
    size_t end = code + 6;
    while (end < s.message().size() && std::isdigit(static_cast<unsigned char>(s.message()[end]))) ++end;
    c.cause = s.message().substr(code, end - code);
  }
  size_t colon = code == std::string::npos ? std::string::npos : s.message().find(": ", code);
  if (colon != std::string::npos) {
    c.detail = s.message().substr(0, colon);
    c.fix = s.message().substr(colon + 2);
  } else if (s.code() == StatusCode::Tls) {
    c.cause = "tls_untrusted";
    c.fix = "the token endpoint's certificate is not trusted: put its CA in the system store or name it with ca_file";
  }
  return c;
}

class Doctor {
 public:
  Doctor(const config::Config& cfg, std::set<std::string> only) : cfg_(cfg), only_(std::move(only)) {
    uv_loop_init(&loop_);
  }

  std::vector<DoctorCheck> run() {
    {
      loop::CurlMultiUv http(&loop_);
      http_ = &http;
      for (const config::AppConfig& app : cfg_.apps) checkApp(app);
      http.close();
      http_ = nullptr;
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop_) != 0) log::warn("event loop closed with handles still open");
    return std::move(checks_);
  }

 private:
  template <typename Pred>
  void runUntil(Pred done) {
    while (!done() && uv_run(&loop_, UV_RUN_ONCE) != 0) {
    }
  }

  std::vector<const config::MailboxSpec*> selected(const config::AppConfig& app) const {
    std::vector<const config::MailboxSpec*> out;
    for (const config::MailboxSpec& m : app.mailboxes)
      if (only_.empty() || only_.count(m.address)) out.push_back(&m);
    return out;
  }

  // Every selected mailbox of an app whose own checks failed is reported
  // as not checked, so a script sees each mailbox once.
  void skipMailboxes(const std::vector<const config::MailboxSpec*>& boxes, const std::string& app) {
    for (const config::MailboxSpec* m : boxes)
      checks_.push_back({m->address, "skipped", false, "app " + app + " failed its checks", "fix app " + app + " first",
                         "app_failed"});
  }

  void checkApp(const config::AppConfig& app) {
    std::vector<const config::MailboxSpec*> boxes = selected(app);
    if (boxes.empty() && !only_.empty()) return;
    std::string subject = "app " + app.name;
    bool need_imap = false, need_pop = false;
    for (const config::MailboxSpec* m : boxes) (m->protocol == config::Protocol::Pop3 ? need_pop : need_imap) = true;

    // 1. config
    Result<auth::OAuthSettings> oauth = oauthSettingsFor(app);
    Status bad = oauth ? auth::validateOAuthSettings(*oauth) : oauth.status();
    Result<std::shared_ptr<tls::TlsContext>> tls = tls::TlsContext::create(app.server.ca_file);
    if (bad.isOk() && !tls) bad = tls.status();
    auto token_host = httpsHost(app.authority);
    if (bad.isOk() && !token_host) bad = configError("authority " + app.authority + " is not an https:// URL");
    if (!bad.isOk()) {
      checks_.push_back({subject, "config", false, bad.message(), "fix " + cfg_.file + " as the message says", "config"});
      return skipMailboxes(boxes, app.name);
    }
    checks_.push_back({subject, "config", true, cfg_.file, ""});
    // Doctor reports; it does not wait out retries.
    oauth->retry.max_attempts = 1;
    oauth->timeout = std::chrono::milliseconds(kTimeoutMs);

    // 2. token host
    {
      std::optional<Status> reached;
      engine::TlsReachProbe probe(&loop_, *tls);
      probe.start(token_host->first, token_host->second, kTimeoutMs, [&reached](const Status& s) { reached = s; });
      runUntil([&] { return reached.has_value(); });
      if (!reached) reached = internalError("the TLS probe never finished");
      DoctorCheck c = diagnoseReach(subject, "token_host", token_host->first, token_host->second, *reached);
      checks_.push_back(c);
      if (!c.ok) return skipMailboxes(boxes, app.name);
    }

    // 3. token
    auth::OAuthClientCredentials provider(&loop_, *http_, std::move(*oauth));
    std::optional<Result<AccessToken>> token;
    provider.getToken([&token](const Result<AccessToken>& r) { token = r; });
    runUntil([&] { return token.has_value(); });
    provider.close();
    if (!token) token = Result<AccessToken>(internalError("the token request never finished"));
    if (!token->isOk()) {
      checks_.push_back(tokenCheck(subject, token->status()));
      return skipMailboxes(boxes, app.name);
    }
    checks_.push_back({subject, "token", true, "expires in " + std::to_string(std::chrono::duration_cast<std::chrono::minutes>(
                                                                 (*token)->expires_at - std::chrono::system_clock::now())
                                                                 .count()) + " min", ""});

    // 4. claims
    Result<auth::JwtClaims> claims = auth::decodeJwtClaims((*token)->value);
    if (!claims) {
      checks_.push_back({subject, "token_claims", false, "the token is not a readable JWT: " + claims.status().message(),
                         "Exchange Online issues JWTs; check authority and scope", "token_not_jwt"});
      return skipMailboxes(boxes, app.name);
    }
    DoctorCheck c = checkClaims(subject, *claims, need_imap, need_pop, app.client_id, app.scope);
    checks_.push_back(c);
    if (!c.ok) return skipMailboxes(boxes, app.name);

    // 5.-8. each mailbox, one at a time (a refused login is slow on purpose;
    // doctor is for a handful of mailboxes).
    std::vector<engine::ProbeOutcome> outcomes;
    for (const config::MailboxSpec* m : boxes) outcomes.push_back(probeMailbox(app, *m, *tls, (*token)->value));
    size_t logged_in = 0;
    for (const engine::ProbeOutcome& o : outcomes) logged_in += o.failed_at > engine::ProbeStep::Authenticate;
    for (size_t i = 0; i < boxes.size(); ++i) report(app, *boxes[i], outcomes[i], claims->aud, logged_in > 0);
  }

  engine::ProbeOutcome probeMailbox(const config::AppConfig& app, const config::MailboxSpec& m,
                                    std::shared_ptr<tls::TlsContext> tls, const std::string& token) {
    bool pop3 = m.protocol == config::Protocol::Pop3;
    engine::ProbeTarget target{app.server.host, pop3 ? app.server.pop3_port : app.server.port,
                               uint64_t{app.server.timeout_seconds} * 1000, m.address, token};
    std::optional<engine::ProbeOutcome> outcome;
    auto done = [&outcome](const engine::ProbeOutcome& o) { outcome = o; };
    std::unique_ptr<engine::ImapAccessProbe> imap;
    std::unique_ptr<engine::Pop3AccessProbe> pop;
    if (pop3) {
      pop = std::make_unique<engine::Pop3AccessProbe>(&loop_, tls);
      pop->start(target, done);
    } else {
      imap = std::make_unique<engine::ImapAccessProbe>(&loop_, tls);
      imap->start(target, done);
    }
    runUntil([&] { return outcome.has_value(); });
    if (!outcome) {
      outcome = engine::ProbeOutcome{};
      outcome->failed_at = engine::ProbeStep::Connect;
      outcome->status = internalError("the probe never finished");
    }
    return *outcome;
  }

  void report(const config::AppConfig& app, const config::MailboxSpec& m, const engine::ProbeOutcome& outcome,
              const std::string& aud, bool token_works_elsewhere) {
    bool pop3 = m.protocol == config::Protocol::Pop3;
    uint16_t port = pop3 ? app.server.pop3_port : app.server.port;
    // The steps before the failing one passed.
    using engine::ProbeStep;
    std::string host = app.server.host + ":" + std::to_string(port);
    if (outcome.failed_at > ProbeStep::Connect) checks_.push_back({m.address, "server_host", true, host, ""});
    if (outcome.failed_at > ProbeStep::Authenticate) checks_.push_back({m.address, "authenticate", true, "", ""});
    if (!pop3 && outcome.failed_at > ProbeStep::FirstCommand) checks_.push_back({m.address, "mailbox_access", true, "", ""});
    checks_.push_back(diagnoseProbe(m.address, pop3, outcome, aud, app.server.host, port, token_works_elsewhere));
  }

  const config::Config& cfg_;
  std::set<std::string> only_;
  uv_loop_t loop_;
  loop::CurlMultiUv* http_ = nullptr;
  std::vector<DoctorCheck> checks_;
};

int print(const std::vector<DoctorCheck>& checks, bool json) {
  std::string out = json ? renderJson(checks) : renderTable(checks);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  for (const DoctorCheck& c : checks)
    if (!c.ok) return 1;
  return 0;
}

}  // namespace

int doctorCommand(const DoctorOptions& options) {
  std::vector<DoctorCheck> checks;
  Result<config::Config> cfg = config::loadConfig(options.config, config::SecretNeed::Load);
  if (!cfg) {
    checks.push_back({options.config, "config", false, cfg.status().message(), "fix the config as the message says", "config"});
    return print(checks, options.json);
  }
  std::vector<std::string> all = cfg->allMailboxes();
  std::set<std::string> only(options.mailboxes.begin(), options.mailboxes.end());
  for (const std::string& m : only) {
    if (std::find(all.begin(), all.end(), m) == all.end())
      checks.push_back({m, "config", false, "not a mailbox of " + options.config,
                        "add it to the config's [mailboxes] list (doctor checks configured mailboxes only)", "not_configured"});
  }
  for (const std::string& w : cfg->warnings) checks.push_back({"config", "config", true, "warning: " + w, ""});
  Doctor doctor(*cfg, only);
  for (DoctorCheck& c : doctor.run()) checks.push_back(std::move(c));
  return print(checks, options.json);
}

}  // namespace mailark::cli
