#include "src/cli/app_auth.h"

namespace mailark::cli {

Result<auth::OAuthSettings> oauthSettingsFor(const config::AppConfig& app) {
  auth::OAuthSettings oauth;
  oauth.authority = app.authority;
  oauth.tenant = app.tenant;
  oauth.client_id = app.client_id;
  oauth.scope = app.scope;
  oauth.ca_file = app.server.ca_file;
  if (!app.certificate_file.empty()) {
    Result<auth::AssertionAlg> alg = auth::parseAssertionAlg(app.assertion_alg);
    if (!alg) return alg.status().withContext("app " + app.name);
    Result<auth::CertificateCredentialPtr> cert =
        auth::CertificateCredential::load(app.certificate_file, app.private_key_file, *alg);
    if (!cert) return cert.status().withContext("app " + app.name);
    oauth.certificate = std::move(*cert);
  } else {
    oauth.client_secret = app.client_secret;
  }
  return oauth;
}

engine::JobSettings jobSettingsFor(const config::AppConfig& app, const config::ImapConfig& imap) {
  engine::JobSettings settings;
  settings.host = app.server.host;
  settings.port = app.server.port;
  settings.idle_timeout_ms = uint64_t{app.server.timeout_seconds} * 1000;
  settings.pipeline_depth = imap.pipeline_depth;
  settings.batch_count = imap.batch_messages;
  settings.split_bytes = uint64_t{imap.split_message_mb} << 20;
  settings.include_non_mail_folders = imap.include_non_mail_folders;
  settings.limits.max_line = size_t{imap.max_line_kb} * 1024;
  settings.limits.max_literal = uint64_t{imap.max_message_mb} << 20;
  return settings;
}

}  // namespace mailark::cli
