// `mailark verify`: is every byte intact, and is every message there?
//
// Reads every indexed object (or a deterministic sample chosen by id) in
// pack order, checks its frame and the SHA-256 of its decoded bytes, and
// checks that every message row has an object. Each damaged or missing
// message is named by mailbox, folder, UIDVALIDITY and UID.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "src/base/sha256.h"
#include "src/cli/archive_paths.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"
#include "src/store/pack_content_store.h"

namespace mailark::cli {

namespace {

struct Damage {
  ObjectId id;
  std::string why;
};

// "10%", "10" or "2.5%" -> fraction in (0, 1]; nullopt when malformed.
std::optional<double> parseSample(std::string text) {
  if (!text.empty() && text.back() == '%') text.pop_back();
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !(v > 0) || v > 100) return std::nullopt;
  return v / 100.0;
}

// The same objects are picked every time for one sample size.
bool sampled(const ObjectId& id, double fraction) {
  if (fraction >= 1.0) return true;
  uint64_t prefix = std::strtoull(id.substr(0, 8).c_str(), nullptr, 16);
  return static_cast<double>(prefix) < fraction * 4294967296.0;
}

void printMessage(const char* what, const ArchivedMessage& m, const std::string& why) {
  std::printf("%s %s folder \"%s\" uidvalidity %u uid %u sha256 %s: %s\n", what, m.mailbox.c_str(),
              m.folder.c_str(), m.uidvalidity, m.message.uid, m.message.sha256.c_str(), why.c_str());
}

}  // namespace

int verifyCommand(const VerifyOptions& options) {
  double fraction = 1.0;
  if (!options.sample.empty()) {
    std::optional<double> f = parseSample(options.sample);
    if (!f) return reportFatal("--sample must be a percentage in (0, 100], e.g. 10%");
    fraction = *f;
  }
  Result<std::unique_ptr<Archive>> archive = openForReading(options.config);
  if (!archive) return reportFatal(archive.status().message());
  auto* packs = dynamic_cast<store::PackContentStore*>((*archive)->store.get());
  if (packs == nullptr) return reportFatal("internal: the archive's store is not a pack store");
  StateStore& state = *(*archive)->state;
  Result<ArchiveTotals> totals = state.archiveTotals();
  if (!totals) return reportFatal(totals.status().message());

  const bool progress = ::isatty(STDERR_FILENO) == 1;
  std::vector<Damage> damaged;
  int64_t seen = 0, checked = 0;
  uint64_t checked_bytes = 0;
  Status s = state.listObjects(options.mailbox, [&](const StoredObject& o) -> Status {
    ++seen;
    if (progress && seen % 512 == 0) {
      std::fprintf(stderr, "\rverify: %lld / %lld objects (%.0f%%)", static_cast<long long>(seen),
                   static_cast<long long>(totals->objects), 100.0 * seen / std::max<int64_t>(1, totals->objects));
    }
    if (!sampled(o.id, fraction)) return Status::ok();
    ++checked;
    checked_bytes += o.where.size;
    Status r = packs->readAt(o.id, o.where, nullptr);
    if (r.code() == StatusCode::Io) {
      damaged.push_back({o.id, r.message()});
      return Status::ok();
    }
    return r;
  });
  if (progress) std::fprintf(stderr, "\r%60s\r", "");
  if (!s.isOk()) return reportFatal(s.message());

  int64_t bad_messages = 0;
  for (const Damage& d : damaged) {
    s = state.messagesWithObject(d.id, [&](const ArchivedMessage& m) {
      ++bad_messages;
      printMessage("DAMAGED", m, d.why);
    });
    if (!s.isOk()) return reportFatal(s.message());
  }
  // Message rows with no index row: legacy file-per-object copies count if
  // they are intact; anything else is missing.
  s = state.messagesWithoutIndex(options.mailbox, [&](const ArchivedMessage& m) {
    Sha256 hash;
    Status r = (*archive)->store->read(m.message.sha256, [&](std::span<const char> bytes) {
      hash.update(bytes);
      return Status::ok();
    });
    if (r.isOk() && digestHex(hash.finish()) == m.message.sha256) return;
    ++bad_messages;
    printMessage(r.isOk() ? "DAMAGED" : "MISSING", m,
                 r.isOk() ? "legacy object file fails its SHA-256" : "no index entry and no object file");
  });
  if (!s.isOk()) return reportFatal(s.message());

  std::printf("verify: checked %lld of %lld objects (%s)%s; %zu damaged object(s), %lld damaged or missing "
              "message(s)\n",
              static_cast<long long>(checked), static_cast<long long>(seen), humanBytes(checked_bytes).c_str(),
              fraction < 1.0 ? " [sample]" : "", damaged.size(), static_cast<long long>(bad_messages));
  std::fflush(stdout);
  return damaged.empty() && bad_messages == 0 ? 0 : 1;
}

}  // namespace mailark::cli
