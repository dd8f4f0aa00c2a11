// `mailark run`: archive every configured mailbox once.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "src/auth/oauth_client_credentials.h"
#include "src/base/log.h"
#include "src/cli/app_auth.h"
#include "src/cli/archive_paths.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"
#include "src/cli/run_observers.h"
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
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::printf("resources: %.1f CPU s, peak memory %.1f MiB\n", cpu, static_cast<double>(usage.ru_maxrss) / 1024.0);
  for (const engine::MailboxOutcome& m : report.mailboxes) {
    // The run's fatal error is printed once, not once per mailbox.
    if (!m.result.status.isOk() && m.result.status.message() != report.fatal.message())
      std::fprintf(stderr, "mailark: FAILED %s: %s\n", m.mailbox.c_str(), m.result.status.message().c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int runCommand(const RunOptions& options) {
  Result<config::Config> cfg = config::loadConfig(options.config, config::SecretNeed::Load);
  if (!cfg) return reportFatal(cfg.status().message());
  for (const std::string& w : cfg->warnings) log::warn(w);

  Result<std::unique_ptr<Archive>> archive =
      openArchive(cfg->archive.path, ArchiveMode::CreateAndLock, packStoreOptions(cfg->archive));
  if (!archive) return reportFatal(archive.status().message());

  uv_loop_t loop;
  uv_loop_init(&loop);
  engine::RunReport report;
  {
    loop::CurlMultiUv http(&loop);
    // One token provider (and TLS trust) per app; every mailbox of the app
    // shares them.
    std::vector<std::unique_ptr<auth::OAuthClientCredentials>> providers;
    std::vector<engine::RunItem> items;
    for (const config::AppConfig& app : cfg->apps) {
      Result<std::shared_ptr<tls::TlsContext>> tls = tls::TlsContext::create(app.server.ca_file);
      if (!tls) {
        report.fatal = tls.status();
        break;
      }
      Result<auth::OAuthSettings> oauth = oauthSettingsFor(app);
      if (!oauth) {
        report.fatal = oauth.status();
        break;
      }
      providers.push_back(std::make_unique<auth::OAuthClientCredentials>(&loop, http, std::move(*oauth)));
      engine::JobSettings settings = jobSettingsFor(app, cfg->imap);
      settings.connections_per_mailbox = cfg->limits.connections_per_mailbox;
      for (const config::MailboxSpec& m : app.mailboxes) {
        engine::Protocol protocol = m.protocol == config::Protocol::Pop3 ? engine::Protocol::Pop3 : engine::Protocol::Imap;
        engine::JobSettings item_settings = settings;
        if (protocol == engine::Protocol::Pop3) item_settings.port = app.server.pop3_port;
        items.push_back({m.address, protocol, providers.back().get(), *tls, item_settings});
      }
    }
    if (report.fatal.isOk()) {
      log::info("archiving " + std::to_string(items.size()) + " mailbox(es) of " + std::to_string(cfg->apps.size()) +
                " app(s) into " + cfg->archive.path);
      engine::MessageRecorder recorder((*archive)->store.get(), (*archive)->state.get());
      engine::JobServices base;
      base.loop = &loop;
      base.store = (*archive)->store.get();
      base.state = (*archive)->state.get();
      base.recorder = &recorder;
      engine::ArchiveRun run(base, engine::makeJob, cfg->limits.connections, std::move(items));
      ObserverList observers;
      if (options.progress) observers.add(makeProgressDisplay(isatty(STDERR_FILENO) != 0, 5));
      if (!options.metrics_file.empty()) observers.add(makeMetricsFile(options.metrics_file));
      if (!options.json_events.empty()) {
        Result<std::unique_ptr<engine::RunObserver>> events = makeJsonEventLog(options.json_events);
        if (!events) {
          report.fatal = events.status();
        } else {
          observers.add(std::move(*events));
        }
      }
      run.setObserver(&observers);
      if (report.fatal.isOk()) report = run.run();
    }
    for (auto& p : providers) p->close();
    http.close();
  }
  // Let every close callback run so the loop can be closed cleanly.
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) log::warn("event loop closed with handles still open");

  printSummary(report);
  if (!report.fatal.isOk()) return reportFatal(report.fatal.message());
  if (report.interrupted) {
    std::fprintf(stderr, "mailark: interrupted; everything fetched so far is archived, the next run continues\n");
    return 130;
  }
  return report.failed > 0 ? 1 : 0;
}

}  // namespace mailark::cli
