// Durable ingest: messages/s and MB/s from "bytes arrive" to "row recorded
// and everything fsynced", for the two stores side by side in one run:
//
//   BM_IngestFilePerObject: the first store (one file and two fsyncs per
//                           message) + one SQLite row per message.
//   BM_IngestPacked:        the pack store + group commit through the
//                           MessageRecorder (one pack fsync and one SQLite
//                           transaction per batch), zstd on or off. Second
//                           argument: store workers (0 = all work inline on
//                           the loop thread, as before issue 6; -1 = the
//                           default, one per core, objects of one chunk
//                           finished inline; -2 = one per core, objects
//                           of one chunk handed over in groups of 16 per
//                           strand; -3 = one per core, every object handed
//                           over alone).
//   BM_IngestPackedCopies:  default store, zstd, each message arriving 1, 2
//                           or 4 times (held by that many mailboxes): what
//                           a duplicate costs.
//   BM_IngestPackedLevel:   20 KB messages, default workers, by zstd level
//                           (negative = zstd's "fast" levels).
//   BM_CorpusZstd:          compression ratio and single-core speed of each
//                           message of a real mail corpus ($MAILARK_CORPUS,
//                           default /work/shared/corpus), one frame each,
//                           by zstd level.
//   BM_IngestScale:         N messages (MAILARK_SCALE_MESSAGES, default
//                           1 000 000) of ~2 KB into one pack archive;
//                           reports store and index size, ingest rate, the
//                           time to look an object up at the start and at the
//                           end (flat lookups), and a full verify pass.
//
// Message bodies are generated before timing starts, distinct (a counter
// is written into each) and compressible like mail. Stores live under $MAILARK_BENCH_DIR (default
// /var/tmp: disk-backed, so fsync costs what it costs).
#include <benchmark/benchmark.h>
#include <zstd.h>

#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mailark/content_store.h"
#include "mailark/state_store.h"
#include "src/base/sha256.h"
#include "src/engine/message_recorder.h"

namespace mailark {
namespace {

namespace fs = std::filesystem;

std::string tempDir() {
  const char* base = std::getenv("MAILARK_BENCH_DIR");
  std::string pattern = std::string(base != nullptr ? base : "/var/tmp") + "/mailark-ingest-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  return ::mkdtemp(buf.data()) == nullptr ? "" : buf.data();
}

// Mail-like text: headers, then lines of words; `n` makes it unique.
std::string message(uint64_t n, size_t size) {
  static const char* kWords[] = {"archive", "mailbox", "meeting", "quarterly", "report", "the", "and", "please",
                                 "review", "attached", "budget", "thanks", "regards", "project", "update"};
  std::string m = "Message-ID: <" + std::to_string(n) + "@bench.mailark>\r\nSubject: bench " + std::to_string(n) +
                  "\r\nFrom: a@example.com\r\nTo: b@example.com\r\n\r\n";
  std::minstd_rand rng(static_cast<uint32_t>(n));
  while (m.size() < size) {
    for (int w = 0; w < 12; ++w) {
      m += kWords[rng() % 15];
      m += ' ';
    }
    m += "\r\n";
  }
  m.resize(size);
  return m;
}

struct Archive {
  std::string dir;
  StateStorePtr state;
  ContentStorePtr store;
  int64_t folder_id = 0;
  Status error;

  Archive(bool packed, Compression compression, int workers = -1, int zstd_level = 1) {
    dir = tempDir();
    Result<StateStorePtr> st = openSqliteStateStore(dir + "/state.db");
    if (!st) {
      error = st.status();
      return;
    }
    state = std::move(*st);
    PackStoreOptions options;
    options.compression = compression;
    options.workers = workers < -1 ? -1 : workers;
    if (workers == -2) options.small_object_group = 16;
    if (workers == -3) options.inline_small_objects = false;
    options.zstd_level = zstd_level;
    Result<ContentStorePtr> cs = packed ? openPackContentStore(dir, state.get(), options) : openFileContentStore(dir);
    if (!cs) {
      error = cs.status();
      return;
    }
    store = std::move(*cs);
    Result<int64_t> mb = state->mailboxId("bench@example.com");
    Result<FolderState> f = state->folder(mb.isOk() ? *mb : 0, "INBOX", 1);
    if (f) folder_id = f->folder_id;
  }
  ~Archive() {
    store.reset();
    state.reset();
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
  uint64_t diskBytes(const std::string& sub) const {
    uint64_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(dir + "/" + sub, ec))
      if (e.is_regular_file()) n += e.file_size();
    return n;
  }
};

double cpuSeconds(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Minor page faults and voluntary context switches (futex sleeps) of the
// whole process so far.
struct Rusage {
  double faults = 0, sleeps = 0;
};
Rusage rusageNow() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return {static_cast<double>(ru.ru_minflt), static_cast<double>(ru.ru_nvcsw)};
}

// Streams one message into the recorder in 16 KiB chunks, like the network.
Status ingest(engine::MessageRecorder& recorder, int64_t folder_id, uint32_t uid, const std::string& body) {
  Result<ObjectWriterPtr> w = recorder.beginMessage();
  if (!w) return w.status();
  for (size_t pos = 0; pos < body.size(); pos += 16384)
    MAILARK_RETURN_IF_ERROR((*w)->append(std::span<const char>(body).subspan(pos, std::min<size_t>(16384, body.size() - pos))));
  MessageRecord rec;
  rec.uid = uid;
  return recorder.finishMessage(folder_id, std::move(*w), rec);
}

// `copies`: each distinct message arrives that many times (as when several
// mailboxes hold it), the copies `count / copies` messages apart.
void runIngest(benchmark::State& state, bool packed, Compression compression, int workers = -1, int level = 1,
               size_t copies = 1) {
  const size_t size = static_cast<size_t>(state.range(0));
  // Enough messages per iteration that batching shows, bounded in bytes.
  const size_t count = std::max<size_t>(40, std::min<size_t>(20000, (128u << 20) / size));
  std::vector<std::string> bodies;
  for (size_t i = 0; i < count; ++i) bodies.push_back(message(i % (count / copies), size));
  uint64_t salt = 0;
  std::unique_ptr<Archive> a;
  // CPU seconds in the timed part: the whole process (loop + workers) and
  // the loop thread alone, so the figures mean something on a loaded host.
  double cpu_all = 0, cpu_loop = 0, faults = 0, sleeps = 0;
  for (auto _ : state) {
    state.PauseTiming();
    a = std::make_unique<Archive>(packed, compression, workers, level);  // the previous one is removed untimed
    if (!a->error.isOk()) return state.SkipWithError(a->error.message().c_str());
    engine::MessageRecorder recorder(a->store.get(), a->state.get());
    ++salt;
    for (std::string& b : bodies) b.replace(b.size() - 8, 8, std::to_string(10000000 + salt).substr(0, 8));
    state.ResumeTiming();
    const double all0 = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID), loop0 = cpuSeconds(CLOCK_THREAD_CPUTIME_ID);
    const Rusage ru0 = rusageNow();
    uint32_t uid = 1;
    for (const std::string& b : bodies) {
      Status s = ingest(recorder, a->folder_id, uid++, b);
      if (!s.isOk()) return state.SkipWithError(s.message().c_str());
    }
    Status s = recorder.flush();
    if (!s.isOk()) return state.SkipWithError(s.message().c_str());
    cpu_all += cpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - all0;
    cpu_loop += cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - loop0;
    const Rusage ru1 = rusageNow();
    faults += ru1.faults - ru0.faults;
    sleeps += ru1.sleeps - ru0.sleeps;
  }
  a.reset();
  const double n = static_cast<double>(count * state.iterations());
  state.counters["cpu_us/msg"] = cpu_all * 1e6 / n;
  state.counters["loop_us/msg"] = cpu_loop * 1e6 / n;
  state.counters["faults/msg"] = faults / n;
  state.counters["sleeps/msg"] = sleeps / n;
  state.counters["msgs/s"] = benchmark::Counter(static_cast<double>(count * state.iterations()), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(count * size * state.iterations()));
}

void BM_IngestFilePerObject(benchmark::State& s) { runIngest(s, false, Compression::None); }
void BM_IngestPacked(benchmark::State& s) {
  runIngest(s, true, Compression::Zstd, static_cast<int>(s.range(1)));
}
void BM_IngestPackedNoCompression(benchmark::State& s) {
  runIngest(s, true, Compression::None, static_cast<int>(s.range(1)));
}
void BM_IngestPackedLevel(benchmark::State& s) {
  runIngest(s, true, Compression::Zstd, -1, static_cast<int>(s.range(1)));
}

void BM_IngestPackedCopies(benchmark::State& s) {
  runIngest(s, true, Compression::Zstd, -1, 1, static_cast<size_t>(s.range(1)));
}

void packedArgs(benchmark::internal::Benchmark* b) {
  for (int workers : {0, -1, -2, -3})
    for (int64_t size : {2 << 10, 20 << 10, 2 << 20}) b->Args({size, workers});
  b->ArgNames({"size", "workers"});
}

BENCHMARK(BM_IngestFilePerObject)->Arg(2 << 10)->Arg(20 << 10)->Arg(2 << 20)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_IngestPacked)->Apply(packedArgs)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_IngestPackedNoCompression)->Apply(packedArgs)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_IngestPackedCopies)
    ->ArgNames({"size", "copies"})
    ->Args({2 << 10, 1})
    ->Args({2 << 10, 4})
    ->Args({20 << 10, 1})
    ->Args({20 << 10, 2})
    ->Args({20 << 10, 4})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_IngestPackedLevel)
    ->ArgNames({"size", "level"})
    ->Args({20 << 10, 3})
    ->Args({20 << 10, 1})
    ->Args({20 << 10, -1})
    ->Args({20 << 10, -3})
    ->Args({20 << 10, -7})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// Every file under the corpus, read once.
std::vector<std::string> corpus() {
  const char* env = std::getenv("MAILARK_CORPUS");
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(env != nullptr ? env : "/work/shared/corpus", ec)) {
    if (!e.is_regular_file() || e.file_size() == 0) continue;
    std::ifstream f(e.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return out;
}

void BM_CorpusZstd(benchmark::State& state) {
  static const std::vector<std::string> mails = corpus();
  if (mails.empty()) return state.SkipWithError("no corpus (set MAILARK_CORPUS)");
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, static_cast<int>(state.range(0)));
  std::vector<char> out;
  uint64_t in_bytes = 0, out_bytes = 0;
  for (auto _ : state) {
    for (const std::string& m : mails) {
      out.resize(ZSTD_compressBound(m.size()));
      size_t n = ZSTD_compress2(cctx, out.data(), out.size(), m.data(), m.size());
      if (ZSTD_isError(n)) return state.SkipWithError(ZSTD_getErrorName(n));
      in_bytes += m.size();
      out_bytes += n;
    }
  }
  ZSTD_freeCCtx(cctx);
  state.SetBytesProcessed(static_cast<int64_t>(in_bytes));
  state.counters["messages"] = static_cast<double>(mails.size());
  state.counters["ratio"] = static_cast<double>(in_bytes) / static_cast<double>(out_bytes);
}
BENCHMARK(BM_CorpusZstd)->ArgName("level")->Arg(3)->Arg(1)->Arg(-1)->Arg(-3)->Arg(-7)->Unit(benchmark::kMillisecond);

void BM_IngestScale(benchmark::State& state) {
  const char* env = std::getenv("MAILARK_SCALE_MESSAGES");
  const uint64_t n = env != nullptr ? std::strtoull(env, nullptr, 10) : 1000000;
  for (auto _ : state) {
    Archive a(true, Compression::Zstd);
    if (!a.error.isOk()) return state.SkipWithError(a.error.message().c_str());
    engine::MessageRecorder recorder(a.store.get(), a.state.get());
    std::vector<ObjectId> probes;
    auto lookup = [&](const ObjectId& id) {
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < 1000; ++i) benchmark::DoNotOptimize(a.store->contains(id));
      return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 1000;
    };
    auto t0 = std::chrono::steady_clock::now();
    double first_lookup_us = 0;
    for (uint64_t i = 0; i < n; ++i) {
      std::string body = message(i, 1500 + (i * 7919) % 1200);
      Status s = ingest(recorder, a.folder_id, static_cast<uint32_t>(i + 1), body);
      if (!s.isOk()) return state.SkipWithError(s.message().c_str());
      if (i == 0) probes.push_back(digestHex(Sha256::of(body)));
      if (i == 10000) {
        if (Status f = recorder.flush(); !f.isOk()) return state.SkipWithError(f.message().c_str());
        first_lookup_us = lookup(probes[0]);
      }
    }
    if (Status f = recorder.flush(); !f.isOk()) return state.SkipWithError(f.message().c_str());
    double ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double last_lookup_us = lookup(probes[0]);
    // A full read of every object, re-hashed: what `mailark verify` does.
    auto v0 = std::chrono::steady_clock::now();
    uint64_t verified = 0;
    Status vs = a.state->listObjects("", [&](const StoredObject& o) {
      Sha256 h;
      Status rs = a.store->read(o.id, [&](std::span<const char> b) {
        h.update(b);
        return Status::ok();
      });
      if (rs.isOk() && digestHex(h.finish()) == o.id) ++verified;
      return Status::ok();
    });
    double verify_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - v0).count();
    if (!vs.isOk()) return state.SkipWithError(vs.message().c_str());
    state.counters["messages"] = static_cast<double>(n);
    state.counters["ingest_msgs/s"] = static_cast<double>(n) / ingest_s;
    state.counters["store_MiB"] = static_cast<double>(a.diskBytes("packs")) / (1 << 20);
    state.counters["index_MiB"] = static_cast<double>(fs::file_size(a.dir + "/state.db")) / (1 << 20);
    state.counters["lookup_us_at_10k"] = first_lookup_us;
    state.counters["lookup_us_at_end"] = last_lookup_us;
    state.counters["verify_s"] = verify_s;
    state.counters["verified"] = static_cast<double>(verified);
  }
}
BENCHMARK(BM_IngestScale)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace
}  // namespace mailark
