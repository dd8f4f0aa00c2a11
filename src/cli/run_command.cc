// `mailark run`: archive every configured mailbox once.
#include <cstdio>

#include "src/auth/oauth_client_credentials.h"
#include "src/base/log.h"
#include "src/cli/archive_paths.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"
#include "src/config/config.h"
#include "src/engine/archive_run.h"
#include "src/loop/curl_multi_uv.h"
#include "src/tls/tls_context.h"

namespace mailark::cli {

namespace {

void printSummary(const engine::RunReport& report) {
  double seconds = std::chrono::duration<double>(report.elapsed).count();
  std::printf("mailboxes: %llu ok, %llu failed\n", static_cast<unsigned long long>(report.ok),
              static_cast<unsigned long long>(report.failed));
  std::printf("fetched:   %llu messages, %s in %.1f s (%.1f messages/s)\n",
              static_cast<unsigned long long>(report.messages), humanBytes(report.bytes).c_str(), seconds,
              seconds > 0 ? static_cast<double>(report.messages) / seconds : 0.0);
  for (const engine::MailboxOutcome& m : report.mailboxes) {
    if (!m.result.status.isOk())
      std::fprintf(stderr, "mailark: FAILED %s: %s\n", m.mailbox.c_str(), m.result.status.message().c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int runCommand(const RunOptions& options) {
  Result<config::Config> cfg = config::loadConfig(options.config, config::SecretNeed::Load);
  if (!cfg) return reportFatal(cfg.status().message());
  for (const std::string& w : cfg->warnings) log::warn(w);

  Result<std::unique_ptr<Archive>> archive = openArchive(cfg->archive.path, ArchiveMode::CreateAndLock);
  if (!archive) return reportFatal(archive.status().message());
  Result<std::shared_ptr<tls::TlsContext>> tls = tls::TlsContext::create(cfg->server.ca_file);
  if (!tls) return reportFatal(tls.status().message());

  uv_loop_t loop;
  uv_loop_init(&loop);
  engine::RunReport report;
  {
    loop::CurlMultiUv http(&loop);
    auth::OAuthSettings oauth;
    oauth.authority = cfg->app.authority;
    oauth.tenant = cfg->app.tenant;
    oauth.client_id = cfg->app.client_id;
    oauth.client_secret = cfg->app.client_secret;
    oauth.scope = cfg->app.scope;
    oauth.ca_file = cfg->server.ca_file;
    auth::OAuthClientCredentials tokens(&loop, http, std::move(oauth));

    engine::JobServices services{&loop, *tls, &tokens, (*archive)->store.get(), (*archive)->state.get()};
    engine::JobSettings settings;
    settings.host = cfg->server.host;
    settings.port = cfg->server.port;
    settings.idle_timeout_ms = uint64_t{cfg->server.timeout_seconds} * 1000;
    log::info("archiving " + std::to_string(cfg->mailboxes.size()) + " mailbox(es) from " + cfg->server.host +
              " into " + cfg->archive.path);
    engine::ArchiveRun run(services, settings, cfg->limits.connections, cfg->mailboxes);
    report = run.run();
    tokens.close();
    http.close();
  }
  // Let every close callback run so the loop can be closed cleanly.
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) log::warn("event loop closed with handles still open");

  if (!report.fatal.isOk()) {
    printSummary(report);
    return reportFatal(report.fatal.message());
  }
  printSummary(report);
  return report.failed > 0 ? 1 : 0;
}

}  // namespace mailark::cli
