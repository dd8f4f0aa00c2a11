// Token client settings for one configured app (shared by `run` and `token`).
#pragma once

#include "mailark/status.h"
#include "src/auth/oauth_client_credentials.h"
#include "src/config/config.h"
#include "src/engine/job.h"

namespace mailark::cli {

// The OAuth settings of `app`: its secret, or its certificate and private key
// loaded from the PEM files (Config error naming the file when they do not
// load or do not match). `ca_file` of the app's server is also trusted for
// the token endpoint.
Result<auth::OAuthSettings> oauthSettingsFor(const config::AppConfig& app);

// The per-connection settings of an app's mailboxes (server, timeouts,
// IMAP tuning), shared by `run` and `plan`.
engine::JobSettings jobSettingsFor(const config::AppConfig& app, const config::ImapConfig& imap);

}  // namespace mailark::cli
