#include "src/cli/run_observers.h"

#include <cerrno>
#include <chrono>
#include <ctime>
#include <fstream>

#include "src/base/json_escape.h"
#include "src/base/log.h"
#include "src/cli/format.h"

namespace mailark::cli {

void ObserverList::onRunStarted(uint64_t n) {
  for (auto& o : list_) o->onRunStarted(n);
}
void ObserverList::onMailboxStarted(const std::string& m) {
  for (auto& o : list_) o->onMailboxStarted(m);
}
void ObserverList::onMailboxThrottled(const std::string& m, std::chrono::milliseconds b) {
  for (auto& o : list_) o->onMailboxThrottled(m, b);
}
void ObserverList::onMailboxFinished(const std::string& m, const engine::JobResult& r) {
  for (auto& o : list_) o->onMailboxFinished(m, r);
}
void ObserverList::onProgress(const engine::RunProgress& p) {
  for (auto& o : list_) o->onProgress(p);
}
void ObserverList::onRunFinished(const engine::RunProgress& p, const Status& fatal, bool interrupted) {
  for (auto& o : list_) o->onRunFinished(p, fatal, interrupted);
}

namespace {

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string progressText(const engine::RunProgress& p) {
  double s = seconds(p.elapsed);
  double rate = s > 0 ? static_cast<double>(p.messages) / s : 0;
  double mbps = s > 0 ? static_cast<double>(p.bytes) / s / 1e6 : 0;
  std::string eta = "-";
  if (p.mailboxes_done > 0 && p.mailboxes_done < p.mailboxes_total) {
    double left = s / static_cast<double>(p.mailboxes_done) * static_cast<double>(p.mailboxes_total - p.mailboxes_done);
    eta = std::to_string(static_cast<long>(left)) + "s";
  }
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "mailboxes %llu/%llu (%llu active, %llu failed, %llu throttled)  %llu messages  %s  %.1f msg/s  %.1f MB/s  ETA %s",
                static_cast<unsigned long long>(p.mailboxes_done), static_cast<unsigned long long>(p.mailboxes_total),
                static_cast<unsigned long long>(p.mailboxes_active), static_cast<unsigned long long>(p.mailboxes_failed),
                static_cast<unsigned long long>(p.mailboxes_throttled), static_cast<unsigned long long>(p.messages),
                humanBytes(p.bytes).c_str(), rate, mbps, eta.c_str());
  return buf;
}

class ProgressDisplay : public engine::RunObserver {
 public:
  ProgressDisplay(bool terminal, int interval) : terminal_(terminal), interval_(interval) {}
  void onRunStarted(uint64_t) override {}
  void onMailboxStarted(const std::string&) override {}
  void onMailboxThrottled(const std::string&, std::chrono::milliseconds) override {}
  void onMailboxFinished(const std::string&, const engine::JobResult&) override {}
  void onProgress(const engine::RunProgress& p) override {
    if (terminal_) {
      std::fprintf(stderr, "\r\033[K%s", progressText(p).c_str());
      std::fflush(stderr);
      drawn_ = true;
      return;
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(interval_)) return;
    last_ = now;
    log::info("progress: " + progressText(p));
  }
  void onRunFinished(const engine::RunProgress&, const Status&, bool) override {
    if (terminal_ && drawn_) std::fprintf(stderr, "\n");
  }

 private:
  bool terminal_;
  int interval_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

class JsonEventLog : public engine::RunObserver {
 public:
  explicit JsonEventLog(std::FILE* f) : f_(f) {}
  ~JsonEventLog() override { std::fclose(f_); }
  void onRunStarted(uint64_t n) override { emit("run_started", ",\"mailboxes\":" + std::to_string(n)); }
  void onMailboxStarted(const std::string& m) override { emit("mailbox_started", mailboxField(m)); }
  void onMailboxThrottled(const std::string& m, std::chrono::milliseconds b) override {
    emit("mailbox_throttled", mailboxField(m) + ",\"backoff_ms\":" + std::to_string(b.count()));
  }
  void onMailboxFinished(const std::string& m, const engine::JobResult& r) override {
    std::string f = mailboxField(m) + ",\"ok\":" + (r.status.isOk() ? "true" : "false") +
                    ",\"messages\":" + std::to_string(r.messages) + ",\"bytes\":" + std::to_string(r.bytes) +
                    ",\"folders\":" + std::to_string(r.folders) + ",\"connections\":" + std::to_string(r.connections) +
                    ",\"warnings\":" + std::to_string(r.warnings.size());
    if (!r.status.isOk()) {
      f += ",\"error\":";
      appendJsonString(f, r.status.message());
      f += ",\"code\":\"" + std::string(statusCodeName(r.status.code())) + "\"";
    }
    emit(r.status.isOk() ? "mailbox_finished" : "mailbox_failed", f);
  }
  void onProgress(const engine::RunProgress&) override {}
  void onRunFinished(const engine::RunProgress& p, const Status& fatal, bool interrupted) override {
    std::string f = ",\"mailboxes\":" + std::to_string(p.mailboxes_total) + ",\"ok\":" +
                    std::to_string(p.mailboxes_done - p.mailboxes_failed) + ",\"failed\":" +
                    std::to_string(p.mailboxes_failed) + ",\"messages\":" + std::to_string(p.messages) +
                    ",\"bytes\":" + std::to_string(p.bytes) + ",\"seconds\":" + std::to_string(seconds(p.elapsed)) +
                    ",\"interrupted\":" + (interrupted ? "true" : "false") +
                    ",\"peak_connections\":" + std::to_string(p.peak_connections);
    if (!fatal.isOk()) {
      f += ",\"error\":";
      appendJsonString(f, fatal.message());
    }
    emit("run_finished", f);
  }

 private:
  static std::string mailboxField(const std::string& m) {
    std::string f = ",\"mailbox\":";
    appendJsonString(f, m);
    return f;
  }
  void emit(const char* event, const std::string& fields) {
    std::string line = "{\"time\":\"" + log::utcTimestamp() + "\",\"event\":\"" + event + "\"" + fields + "}\n";
    std::fwrite(line.data(), 1, line.size(), f_);
    std::fflush(f_);  // a tailing monitor sees events as they happen
  }
  std::FILE* f_;
};

class MetricsFile : public engine::RunObserver {
 public:
  explicit MetricsFile(std::string path) : path_(std::move(path)) {}
  void onRunStarted(uint64_t) override { start_time_ = std::time(nullptr); }
  void onMailboxStarted(const std::string&) override {}
  void onMailboxThrottled(const std::string&, std::chrono::milliseconds) override { ++throttle_events_; }
  void onMailboxFinished(const std::string&, const engine::JobResult&) override {}
  void onProgress(const engine::RunProgress& p) override { write(p, false, false, Status::ok()); }
  void onRunFinished(const engine::RunProgress& p, const Status& fatal, bool interrupted) override {
    write(p, true, interrupted, fatal);
  }

 private:
  void write(const engine::RunProgress& p, bool finished, bool interrupted, const Status& fatal) {
    std::string m;
    auto metric = [&](const char* name, const char* type, const char* help, const std::string& value,
                      const std::string& labels = "") {
      m += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + labels +
           " " + value + "\n";
    };
    metric("mailark_run_start_time_seconds", "gauge", "Start of the current or last run (Unix time).",
           std::to_string(start_time_));
    metric("mailark_run_finished", "gauge", "1 once the run has ended.", finished ? "1" : "0");
    metric("mailark_run_success", "gauge", "1 when the run ended with every mailbox archived.",
           finished && !interrupted && fatal.isOk() && p.mailboxes_failed == 0 ? "1" : "0");
    metric("mailark_run_duration_seconds", "gauge", "Seconds the run has taken.", std::to_string(seconds(p.elapsed)));
    metric("mailark_mailboxes", "gauge", "Mailboxes of this run by state.", std::to_string(p.mailboxes_total),
           "{state=\"total\"}");
    m += "mailark_mailboxes{state=\"done\"} " + std::to_string(p.mailboxes_done) + "\n";
    m += "mailark_mailboxes{state=\"failed\"} " + std::to_string(p.mailboxes_failed) + "\n";
    m += "mailark_mailboxes{state=\"active\"} " + std::to_string(p.mailboxes_active) + "\n";
    m += "mailark_mailboxes{state=\"throttled\"} " + std::to_string(p.mailboxes_throttled) + "\n";
    metric("mailark_messages_fetched_total", "counter", "Messages fetched this run.", std::to_string(p.messages));
    metric("mailark_bytes_fetched_total", "counter", "Message bytes fetched this run.", std::to_string(p.bytes));
    metric("mailark_throttle_events_total", "counter", "Times a server asked for a backoff this run.",
           std::to_string(throttle_events_));
    metric("mailark_connections", "gauge", "IMAP/POP3 connections open.", std::to_string(p.connections));
    metric("mailark_connections_peak", "gauge", "Most connections open at once this run.",
           std::to_string(p.peak_connections));
    std::string tmp = path_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << m;
      if (!out) {
        if (!warned_) log::warn("cannot write metrics file " + tmp);
        warned_ = true;
        return;
      }
    }
    std::rename(tmp.c_str(), path_.c_str());
  }

  std::string path_;
  std::time_t start_time_ = 0;
  uint64_t throttle_events_ = 0;
  bool warned_ = false;
};

}  // namespace

std::unique_ptr<engine::RunObserver> makeProgressDisplay(bool terminal, int plain_interval_s) {
  return std::make_unique<ProgressDisplay>(terminal, plain_interval_s);
}

Result<std::unique_ptr<engine::RunObserver>> makeJsonEventLog(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) return errnoStatus(errno, "cannot open --json-events file " + path);
  return std::unique_ptr<engine::RunObserver>(std::make_unique<JsonEventLog>(f));
}

std::unique_ptr<engine::RunObserver> makeMetricsFile(const std::string& path) {
  return std::make_unique<MetricsFile>(path);
}

}  // namespace mailark::cli
