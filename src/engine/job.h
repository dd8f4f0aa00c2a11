// Job: archives one mailbox over one protocol (IMAP, POP3, ...). The run
// scheduler only sees this interface, which keeps it protocol-neutral.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mailark/content_store.h"
#include "mailark/state_store.h"
#include "mailark/status.h"
#include "mailark/token_provider.h"
#include "src/engine/message_recorder.h"
#include "src/imap/response_parser.h"
#include "src/tls/tls_context.h"

struct uv_loop_s;

namespace mailark::engine {

enum class Protocol { Imap, Pop3 };

class Job;

struct JobResult {
  Status status;
  uint64_t folders = 0;
  uint64_t messages = 0;  // fetched this run
  uint64_t bytes = 0;
  uint64_t flag_updates = 0;  // archived messages whose flags changed (CONDSTORE)
  uint32_t connections = 0;   // most connections this mailbox had open at once
  std::vector<std::string> warnings;  // e.g. folders that vanished, UIDs the server did not return
};

struct JobSettings {
  std::string host;
  uint16_t port = 993;
  uint64_t idle_timeout_ms = 120'000;
  uint64_t batch_bytes = 16ull << 20;  // per UID FETCH, by RFC822.SIZE estimate
  size_t batch_count = 250;
  size_t pipeline_depth = 2;             // UID FETCH commands in flight per connection
  uint64_t split_bytes = 2ull << 20;     // messages this large go in pieces over the connections (0: never)
  uint64_t piece_bytes = 1ull << 20;
  size_t connections_per_mailbox = 2;    // IMAP: the first, plus extras while the run has room
  bool include_non_mail_folders = false; // Calendar, Contacts, ... (see folder_filter.h)
  imap::Limits limits;
};

// The run's connection limit as a job sees it: every job holds one
// connection by right; a job that has work to spread may open more while
// the run has room (no mailbox waiting to start, the app's concurrency limit
// not reached).
class ConnectionBudget {
 public:
  virtual ~ConnectionBudget() = default;
  // True when `job` may open one more connection now; it counts until released.
  virtual bool tryAcquireExtra(const Job& job) = 0;
  virtual void releaseExtra(const Job& job) = 0;
};

// Everything a job borrows; all must outlive the job.
struct JobServices {
  uv_loop_s* loop = nullptr;
  std::shared_ptr<tls::TlsContext> tls;
  TokenProvider* tokens = nullptr;
  ContentStore* store = nullptr;
  StateStore* state = nullptr;
  MessageRecorder* recorder = nullptr;  // stores message bytes, then rows
  ConnectionBudget* budget = nullptr;   // null: one connection per job
  std::function<void(const std::string& mailbox, std::chrono::milliseconds backoff)> on_throttled;  // may be empty
};

// One mailbox to archive, with the app (token, TLS trust, server) it belongs to.
struct RunItem {
  std::string mailbox;
  Protocol protocol = Protocol::Imap;
  TokenProvider* tokens = nullptr;
  std::shared_ptr<tls::TlsContext> tls;
  JobSettings settings;
};

class Job {
 public:
  virtual ~Job() = default;
  // Begins the work; the job reports its end through the callback given to
  // its factory, exactly once. The owner must not destroy the job inside
  // that callback.
  virtual void start() = 0;
  virtual const std::string& mailbox() const = 0;
  // Live while the job runs; final once it has reported its end.
  virtual const JobResult& result() const = 0;

  // Asks the job to end soon: stop taking new work, keep every message
  // already received (durable and recorded), drop a half-received one, and
  // report the end with a Cancelled status. The default lets the job run to
  // its end.
  virtual void stop() {}
  // True while the job waits out a server's "throttled" backoff.
  virtual bool throttled() const { return false; }
  // The run has connections to spare (no mailbox waits to start): a job
  // that can use another connection asks its ConnectionBudget for one.
  virtual void offerConnection() {}
};
using JobPtr = std::unique_ptr<Job>;

using JobFinished = std::function<void(Job&)>;
// Builds the job for one item (e.g. by protocol).
using JobFactory = std::function<JobPtr(const RunItem& item, JobServices services, int64_t run_id, JobFinished done)>;

// The common end of every job: makes what it stored durable and recorded
// (also when it failed), then records the mailbox's result for this run.
// Returns `status`, or the first error of those steps when `status` is ok.
Status settleJob(const JobServices& services, int64_t mailbox_id, int64_t run_id, Status status);

// A folder with nothing new (empty, or UIDNEXT as at its last complete
// pass): its row takes the server's UIDNEXT and, with CONDSTORE, its
// mod-sequence; nothing is written when they are current already.
Status recordFolderUnchanged(StateStore& state, const FolderState& row, uint32_t uidnext, uint64_t modseq);

// The factory for the protocols this build supports.
JobPtr makeJob(const RunItem& item, JobServices services, int64_t run_id, JobFinished done);

}  // namespace mailark::engine
