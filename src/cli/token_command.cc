// `mailark token`: get each app's token and show what an admin needs to
// check (tenant, client, expiry, audience, roles), never the token itself
// unless --print asks for exactly that.
#include <time.h>

#include <cstdio>
#include <memory>
#include <optional>

#include "src/auth/cloud.h"
#include "src/auth/jwt_claims.h"
#include "src/auth/oauth_client_credentials.h"
#include "src/base/log.h"
#include "src/cli/app_auth.h"
#include "src/cli/commands.h"
#include "src/config/config.h"
#include "src/loop/curl_multi_uv.h"

namespace mailark::cli {

namespace {

struct Acquired {
  const config::AppConfig* app = nullptr;
  std::unique_ptr<auth::OAuthClientCredentials> provider;
  std::optional<Result<AccessToken>> result;
};

std::string utcTime(std::chrono::system_clock::time_point t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string joined(const std::vector<std::string>& items) {
  if (items.empty()) return "(none)";
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string consentHint(const config::AppConfig& app, const char* role) {
  return std::string("token of app ") + app.name + " has no " + role + " role: in Entra ID > App registrations > " +
         app.client_id + " > API permissions, add Office 365 Exchange Online > Application permissions > " + role +
         " and click \"Grant admin consent\"";
}

// Prints the report of one token; returns the number of warnings.
int report(const config::AppConfig& app, const AccessToken& token) {
  std::printf("app:        %s\n", app.name.c_str());
  std::printf("tenant:     %s\n", app.tenant.c_str());
  std::printf("client id:  %s\n", app.client_id.c_str());
  auto left = std::chrono::duration_cast<std::chrono::seconds>(token.expires_at - std::chrono::system_clock::now());
  std::printf("expires:    %s (in %lld s)\n", utcTime(token.expires_at).c_str(), static_cast<long long>(left.count()));
  Result<auth::JwtClaims> claims = auth::decodeJwtClaims(token.value);
  if (!claims) {
    log::warn("app " + app.name + ": the token is not a readable JWT (" + claims.status().message() +
              "); its audience and roles cannot be checked");
    return 1;
  }
  std::printf("aud:        %s\n", claims->aud.c_str());
  std::printf("roles:      %s\n", joined(claims->roles).c_str());
  std::printf("appid:      %s\n", (claims->appid.empty() ? claims->azp : claims->appid).c_str());
  std::printf("oid:        %s\n", claims->oid.c_str());
  if (!claims->tid.empty()) std::printf("tid:        %s\n", claims->tid.c_str());
  std::fflush(stdout);

  int warnings = 0;
  if (!auth::isExchangeAudience(claims->aud)) {
    log::warn("token of app " + app.name + " is for audience " + claims->aud +
              ", not Exchange Online: IMAP/POP will refuse it; set scope = \"https://outlook.office365.com/.default\" "
              "(or the national cloud's Exchange resource)");
    ++warnings;
  }
  bool imap = app.mailboxes.empty(), pop = false;
  for (const config::MailboxSpec& m : app.mailboxes) (m.protocol == config::Protocol::Pop3 ? pop : imap) = true;
  if (imap && !claims->hasRole("IMAP.AccessAsApp")) {
    log::warn(consentHint(app, "IMAP.AccessAsApp"));
    ++warnings;
  }
  if (pop && !claims->hasRole("POP.AccessAsApp")) {
    log::warn(consentHint(app, "POP.AccessAsApp"));
    ++warnings;
  }
  return warnings;
}

}  // namespace

int tokenCommand(const TokenOptions& options) {
  Result<config::Config> cfg = config::loadConfig(options.config, config::SecretNeed::Load);
  if (!cfg) return reportFatal(cfg.status().message());
  for (const std::string& w : cfg->warnings) log::warn(w);

  std::vector<Acquired> apps;
  std::string names;
  for (const config::AppConfig& app : cfg->apps) {
    names += (names.empty() ? "" : ", ") + app.name;
    if (options.app.empty() || options.app == app.name) apps.push_back({&app, nullptr, std::nullopt});
  }
  if (apps.empty()) return reportFatal("no app named \"" + options.app + "\" in " + options.config + " (apps: " + names + ")");
  if (options.print && apps.size() > 1)
    return reportFatal("--print needs --app NAME: the config has several apps (" + names + ")");

  uv_loop_t loop;
  uv_loop_init(&loop);
  int failed = 0, warnings = 0;
  {
    loop::CurlMultiUv http(&loop);
    for (Acquired& a : apps) {
      Result<auth::OAuthSettings> oauth = oauthSettingsFor(*a.app);
      if (!oauth) {
        a.result = Result<AccessToken>(oauth.status());
        continue;
      }
      a.provider = std::make_unique<auth::OAuthClientCredentials>(&loop, http, std::move(*oauth));
      Acquired* slot = &a;
      a.provider->getToken([slot](const Result<AccessToken>& r) { slot->result = r; });
    }
    auto done = [&] {
      for (const Acquired& a : apps)
        if (!a.result) return false;
      return true;
    };
    while (!done() && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    bool first = true;
    for (Acquired& a : apps) {
      if (!a.result) a.result = Result<AccessToken>(internalError("the token request never finished"));
      if (!a.result->isOk()) {
        std::fprintf(stderr, "mailark: app %s: %s\n", a.app->name.c_str(), a.result->status().message().c_str());
        ++failed;
        continue;
      }
      if (options.print) {
        std::printf("%s\n", (*a.result)->value.c_str());
        std::fflush(stdout);
        continue;
      }
      if (!first) std::printf("\n");
      first = false;
      warnings += report(*a.app, **a.result);
    }
    // Providers own uv handles: destroy them before the loop drains.
    for (Acquired& a : apps) a.provider.reset();
    http.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) log::warn("event loop closed with handles still open");
  if (failed > 0) return 2;
  return warnings > 0 ? 1 : 0;
}

}  // namespace mailark::cli
