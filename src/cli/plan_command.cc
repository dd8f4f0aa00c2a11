// `mailark plan`: per mailbox and folder, what the server holds and what
// the next run would fetch, with totals and an ETA. Fetches no message and
// changes nothing (EXAMINE only; the archive is opened read-only).
#include <cmath>
#include <cstdio>
#include <functional>
#include <queue>

#include "src/auth/oauth_client_credentials.h"
#include "src/base/json_escape.h"
#include "src/base/log.h"
#include "src/cli/app_auth.h"
#include "src/cli/archive_paths.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"
#include "src/config/config.h"
#include "src/engine/plan_job.h"
#include "src/engine/pop3_plan_job.h"
#include "src/loop/curl_multi_uv.h"
#include "src/tls/tls_context.h"

namespace mailark::cli {

namespace {

struct PlanItem {
  std::string mailbox;
  bool pop3 = false;
  auth::OAuthClientCredentials* tokens = nullptr;
  std::shared_ptr<tls::TlsContext> tls;
  engine::JobSettings settings;
  engine::MailboxPlannerPtr job;
  bool done = false;
  engine::MailboxForecast forecast;  // copied out when the job finishes
};

// Seconds until every mailbox is through when `connections` mailboxes are
// archived at once, each at `rate` messages/s, started in config order
// (as ArchiveRun does).
double etaSeconds(const std::vector<uint64_t>& per_mailbox, uint32_t connections, double rate) {
  std::priority_queue<double, std::vector<double>, std::greater<double>> slots;
  for (uint32_t i = 0; i < std::max<uint32_t>(1, connections); ++i) slots.push(0);
  double end = 0;
  for (uint64_t n : per_mailbox) {
    double start = slots.top();
    slots.pop();
    double finish = start + static_cast<double>(n) / rate;
    end = std::max(end, finish);
    slots.push(finish);
  }
  return end;
}

std::string duration(double seconds) {
  auto s = static_cast<long long>(std::ceil(seconds));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

void printJsonFolder(const std::string& mailbox, const engine::FolderForecast& f) {
  std::string line = "{\"type\":\"folder\",\"mailbox\":";
  appendJsonString(line, mailbox);
  line += ",\"folder\":";
  appendJsonString(line, f.folder);
  line += ",\"messages\":" + std::to_string(f.messages) + ",\"uidvalidity\":" + std::to_string(f.uidvalidity) +
          ",\"uidnext\":" + std::to_string(f.uidnext) + ",\"size\":" + (f.size ? std::to_string(*f.size) : "null") +
          ",\"in_archive\":" + (f.in_archive ? "true" : "false") + ",\"to_fetch\":" + std::to_string(f.to_fetch) +
          ",\"to_fetch_bytes\":" + (f.to_fetch_bytes ? std::to_string(*f.to_fetch_bytes) : "null") + "}";
  std::printf("%s\n", line.c_str());
}

// `text` padded with spaces to `width` characters (UTF-8 code points).
std::string padded(const std::string& text, size_t width) {
  size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
  return chars >= width ? text : text + std::string(width - chars, ' ');
}

void printTableFolder(const engine::FolderForecast& f) {
  std::printf("  %s %8llu %12u %10u %10s %-9s %8llu\n", padded(f.folder, 32).c_str(),
              static_cast<unsigned long long>(f.messages), f.uidvalidity, f.uidnext,
              f.size ? humanBytes(*f.size).c_str() : "-", f.in_archive ? "yes" : "new",
              static_cast<unsigned long long>(f.to_fetch));
}

}  // namespace

int planCommand(const PlanOptions& options) {
  Result<config::Config> cfg = config::loadConfig(options.config, config::SecretNeed::Load);
  if (!cfg) return reportFatal(cfg.status().message());
  for (const std::string& w : cfg->warnings) log::warn(w);
  if (!(options.rate > 0)) return reportFatal("--rate must be a positive number of messages per second");

  // No archive yet is fine: then everything is new.
  std::unique_ptr<Archive> archive;
  Result<std::unique_ptr<Archive>> opened = openArchive(cfg->archive.path, ArchiveMode::ReadExisting);
  if (opened) {
    archive = std::move(*opened);
  } else if (opened.status().code() != StatusCode::NotFound) {
    return reportFatal(opened.status().message());
  }
  StateStore* state = archive ? archive->state.get() : nullptr;

  uv_loop_t loop;
  uv_loop_init(&loop);
  Status fatal;
  std::vector<PlanItem> items;
  {
    loop::CurlMultiUv http(&loop);
    std::vector<std::unique_ptr<auth::OAuthClientCredentials>> providers;
    for (const config::AppConfig& app : cfg->apps) {
      Result<std::shared_ptr<tls::TlsContext>> tls = tls::TlsContext::create(app.server.ca_file);
      if (!tls) {
        fatal = tls.status();
        break;
      }
      Result<auth::OAuthSettings> oauth = oauthSettingsFor(app);
      if (!oauth) {
        fatal = oauth.status();
        break;
      }
      providers.push_back(std::make_unique<auth::OAuthClientCredentials>(&loop, http, std::move(*oauth)));
      engine::JobSettings settings = jobSettingsFor(app, cfg->imap);
      for (const config::MailboxSpec& m : app.mailboxes) {
        PlanItem item;
        item.mailbox = m.address;
        item.pop3 = m.protocol == config::Protocol::Pop3;
        item.tokens = providers.back().get();
        item.tls = *tls;
        item.settings = settings;
        if (item.pop3) item.settings.port = app.server.pop3_port;
        items.push_back(std::move(item));
      }
    }
    if (fatal.isOk()) {
      // At most [limits] connections mailboxes at once, as a run would.
      size_t next = 0, running = 0;
      std::function<void()> startMore = [&] {
        while (running < std::max<uint32_t>(1, cfg->limits.connections) && next < items.size()) {
          PlanItem& item = items[next++];
          ++running;
          auto finished = [&item, &running] {
            item.forecast = item.job->forecast();
            item.done = true;
            --running;
          };
          if (item.pop3) {
            item.job = std::make_unique<engine::Pop3PlanJob>(&loop, item.tls, item.tokens, state, item.settings,
                                                             item.mailbox, finished);
          } else {
            item.job = std::make_unique<engine::PlanJob>(&loop, item.tls, item.tokens, state, item.settings,
                                                         item.mailbox, finished);
          }
          item.job->start();
        }
      };
      startMore();
      while (running > 0 || next < items.size()) {
        uv_run(&loop, UV_RUN_ONCE);
        startMore();
      }
    }
    for (PlanItem& item : items) item.job.reset();
    for (auto& p : providers) p->close();
    http.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) log::warn("event loop closed with handles still open");
  if (!fatal.isOk()) return reportFatal(fatal.message());

  uint64_t messages = 0, to_fetch = 0, bytes = 0, planned = 0, failed = 0;
  bool bytes_complete = true;
  std::vector<uint64_t> per_mailbox;
  if (!options.json)
    std::printf("  %-32s %8s %12s %10s %10s %-9s %8s\n", "folder", "messages", "uidvalidity", "uidnext", "size",
                "archived", "to fetch");
  for (const PlanItem& item : items) {
    const engine::MailboxForecast& f = item.forecast;
    if (!item.done || !f.status.isOk()) {
      ++failed;
      std::fprintf(stderr, "mailark: %s: %s\n", item.mailbox.c_str(),
                   item.done ? f.status.message().c_str() : "planning never finished");
      continue;
    }
    ++planned;
    if (!options.json) std::printf("%s\n", item.mailbox.c_str());
    for (const engine::FolderForecast& folder : f.folders) {
      if (options.json) printJsonFolder(item.mailbox, folder);
      else printTableFolder(folder);
    }
    messages += f.messages;
    to_fetch += f.to_fetch;
    bytes += f.to_fetch_bytes;
    bytes_complete = bytes_complete && f.bytes_complete;
    per_mailbox.push_back(f.to_fetch);
  }
  double eta = etaSeconds(per_mailbox, cfg->limits.connections, options.rate);
  if (options.json) {
    std::printf("{\"type\":\"total\",\"mailboxes\":%llu,\"failed\":%llu,\"messages\":%llu,\"to_fetch\":%llu,"
                "\"to_fetch_bytes\":%llu,\"bytes_complete\":%s,\"connections\":%u,\"rate\":%g,\"eta_seconds\":%.0f}\n",
                static_cast<unsigned long long>(planned), static_cast<unsigned long long>(failed),
                static_cast<unsigned long long>(messages), static_cast<unsigned long long>(to_fetch),
                static_cast<unsigned long long>(bytes), bytes_complete ? "true" : "false", cfg->limits.connections,
                options.rate, std::ceil(eta));
  } else {
    std::printf("\nmailboxes:  %llu planned, %llu failed\n", static_cast<unsigned long long>(planned),
                static_cast<unsigned long long>(failed));
    std::printf("on server:  %llu messages\n", static_cast<unsigned long long>(messages));
    std::printf("next run:   %llu messages, %s%s\n", static_cast<unsigned long long>(to_fetch),
                bytes_complete ? "" : "at least ", humanBytes(bytes).c_str());
    std::printf("ETA:        %s (%u connections, %g messages/s per mailbox; --rate to change)\n", duration(eta).c_str(),
                cfg->limits.connections, options.rate);
  }
  std::fflush(stdout);
  return failed > 0 ? 1 : 0;
}

}  // namespace mailark::cli
