// Read-only commands: `mailark status`, `mailark ls`, `mailark cat`.
#include <cstdio>
#include <map>

#include "src/base/json_escape.h"
#include "src/base/sha256.h"
#include "src/cli/archive_paths.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"
#include "src/cli/output.h"
#include "src/config/config.h"

namespace mailark::cli {

int reportFatal(const std::string& message) {
  std::fprintf(stderr, "mailark: %s\n", message.c_str());
  return 2;
}

namespace {

Result<std::unique_ptr<Archive>> openForReading(const std::string& config_path, config::Config* out) {
  Result<config::Config> cfg = config::loadConfig(config_path, config::SecretNeed::Skip);
  if (!cfg) return cfg.status();
  *out = std::move(*cfg);
  return openArchive(out->archive.path, ArchiveMode::ReadExisting);
}

// Original bytes per stored byte, e.g. "3.2x"; "-" when nothing is stored.
std::string dedupRatio(int64_t original, int64_t stored) {
  if (stored <= 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.1fx", static_cast<double>(original) / static_cast<double>(stored));
  return text;
}

}  // namespace

int statusCommand(const std::string& config_path) {
  config::Config cfg;
  Result<std::unique_ptr<Archive>> archive = openForReading(config_path, &cfg);
  if (!archive) return reportFatal(archive.status().message());
  Result<std::vector<MailboxSummary>> rows = (*archive)->state->mailboxSummaries();
  if (!rows) return reportFatal(rows.status().message());
  std::map<std::string, const MailboxSummary*> by_name;
  for (const MailboxSummary& m : *rows) by_name[m.mailbox] = &m;
  std::printf("%-36s %7s %9s %10s %10s %6s  %-20s %-20s %s\n", "MAILBOX", "FOLDERS", "MESSAGES", "BYTES",
              "STORED", "DEDUP", "LAST RUN", "LAST OK", "RESULT");
  int64_t total_messages = 0, total_bytes = 0;
  auto print = [&](const MailboxSummary& m) {
    std::string result = m.last_run_started.empty() ? "never run"
                         : m.last_error.empty()     ? (m.last_run_finished.empty() ? "incomplete" : "ok")
                                                    : "FAILED: " + m.last_error;
    std::printf("%-36s %7lld %9lld %10s %10s %6s  %-20s %-20s %s\n", m.mailbox.c_str(),
                static_cast<long long>(m.folders), static_cast<long long>(m.messages),
                humanBytes(static_cast<uint64_t>(m.bytes)).c_str(),
                humanBytes(static_cast<uint64_t>(m.stored_bytes)).c_str(), dedupRatio(m.bytes, m.stored_bytes).c_str(),
                m.last_run_started.empty() ? "-" : m.last_run_started.c_str(),
                m.last_success.empty() ? "-" : m.last_success.c_str(), result.c_str());
    total_messages += m.messages;
    total_bytes += m.bytes;
  };
  for (const MailboxSummary& m : *rows) print(m);
  // Configured mailboxes that were never archived are worth seeing too.
  std::vector<std::string> configured = cfg.allMailboxes();
  for (const std::string& name : configured) {
    if (by_name.count(name)) continue;
    MailboxSummary never;
    never.mailbox = name;
    print(never);
  }
  std::printf("total: %zu mailbox(es), %lld messages, %s\n", std::max(rows->size(), configured.size()),
              static_cast<long long>(total_messages), humanBytes(static_cast<uint64_t>(total_bytes)).c_str());
  // Each object is stored once however many messages hold it.
  Result<ArchiveTotals> totals = (*archive)->state->archiveTotals();
  if (!totals) return reportFatal(totals.status().message());
  std::printf("store: %lld objects, %s original, %s stored; dedup+compression ratio %s\n",
              static_cast<long long>(totals->objects), humanBytes(static_cast<uint64_t>(totals->object_bytes)).c_str(),
              humanBytes(static_cast<uint64_t>(totals->stored_bytes)).c_str(),
              dedupRatio(totals->message_bytes, totals->stored_bytes).c_str());
  return 0;
}

int lsCommand(const LsOptions& options) {
  config::Config cfg;
  Result<std::unique_ptr<Archive>> archive = openForReading(options.config, &cfg);
  if (!archive) return reportFatal(archive.status().message());
  std::string line;
  Status s = (*archive)->state->listMessages(options.mailbox, [&](const ArchivedMessage& m) {
    if (!stdoutWritable()) return;  // the reader went away (`| head`): skip the rest quickly
    line.clear();
    if (options.json) {
      line += "{\"mailbox\":";
      appendJsonString(line, m.mailbox);
      line += ",\"folder\":";
      appendJsonString(line, m.folder);
      line += ",\"uidvalidity\":" + std::to_string(m.uidvalidity);
      line += ",\"uid\":" + std::to_string(m.message.uid);
      line += ",\"sha256\":\"" + m.message.sha256 + "\"";
      line += ",\"size\":" + std::to_string(m.message.size);
      line += ",\"internaldate\":";
      appendJsonString(line, m.message.internaldate);
      line += ",\"flags\":";
      appendJsonString(line, m.message.flags);
      if (!m.message.uidl.empty()) {  // POP3 messages only
        line += ",\"uidl\":";
        appendJsonString(line, m.message.uidl);
      }
      line += "}\n";
    } else {
      line += m.mailbox + "\t" + m.folder + "\t" + std::to_string(m.uidvalidity) + "\t" +
              std::to_string(m.message.uid) + "\t" + m.message.sha256 + "\t" + std::to_string(m.message.size) +
              "\t" + m.message.internaldate + "\t" + m.message.flags + "\n";
    }
    writeStdout(line);
  });
  if (!s.isOk()) return reportFatal(s.message());
  return 0;  // main() flushes stdout (src/cli/output.h)
}

int catCommand(const std::string& config_path, const std::string& sha256) {
  Digest parsed{};
  if (!parseDigestHex(sha256, &parsed))
    return reportFatal("\"" + sha256 + "\" is not a SHA-256 (64 hex characters); see `mailark ls`");
  config::Config cfg;
  Result<std::unique_ptr<Archive>> archive = openForReading(config_path, &cfg);
  if (!archive) return reportFatal(archive.status().message());
  Status s = (*archive)->store->read(digestHex(parsed), [](std::span<const char> bytes) -> Status {
    // Stop reading once stdout failed; main() says whether that was an error.
    if (!writeStdout(std::string_view(bytes.data(), bytes.size())))
      return Status(StatusCode::Cancelled, "standard output closed");
    return Status::ok();
  });
  if (s.code() == StatusCode::NotFound) return reportFatal("no archived message has SHA-256 " + digestHex(parsed));
  if (!s.isOk() && stdoutWritable()) return reportFatal(s.message());
  return 0;  // main() flushes stdout (src/cli/output.h)
}

}  // namespace mailark::cli
