// FileContentStore commit cost, fsync included.
//
// Every commit writes a temp file, fsyncs it, renames it into objects/ab/
// and fsyncs that directory: two syncs per message. That per-message cost is
// what a pack store (fsync per batch) is meant to cut, so these figures are
// the baseline. Times are wall clock (UseRealTime): a thread waiting in
// fsync uses no CPU, and CPU time would hide exactly the cost measured here.
//
// The store lives in a fresh directory under $MAILARK_BENCH_DIR, default
// /var/tmp (disk-backed on most systems; /tmp may be tmpfs, where fsync
// costs nothing). It is removed afterwards.
//
// BM_CommitNew:   distinct objects, appended in 16 KiB chunks as the
//                 network delivers them.
// BM_CommitDedup: the same bytes again: hashed, written, fsynced to tmp/,
//                 then dropped because the id exists (plus a directory sync).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "mailark/content_store.h"

namespace mailark {
namespace {

constexpr size_t kChunk = 16 * 1024;

// A fresh store directory, removed when the benchmark run ends.
class TempStore {
 public:
  TempStore() {
    const char* base = std::getenv("MAILARK_BENCH_DIR");
    std::string pattern = std::string(base != nullptr ? base : "/var/tmp") + "/mailark-store-bench-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) return;
    dir_ = buf.data();
    Result<ContentStorePtr> store = openFileContentStore(dir_);
    if (store) store_ = std::move(store).value();
    else error_ = store.status().message();
  }
  ~TempStore() {
    store_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  ContentStore* store() { return store_.get(); }
  std::string error() const { return dir_.empty() ? "mkdtemp failed under MAILARK_BENCH_DIR" : error_; }

 private:
  std::string dir_;
  std::string error_;
  ContentStorePtr store_;
};

std::vector<char> makeBytes(size_t size) {
  std::vector<char> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + (i * 7) % 26);
  return bytes;
}

// Streams `bytes` into a new object and commits it.
Result<ObjectId> writeObject(ContentStore* store, std::span<const char> bytes) {
  Result<ObjectWriterPtr> writer = store->newObject();
  if (!writer) return writer.status();
  for (size_t off = 0; off < bytes.size(); off += kChunk) {
    MAILARK_RETURN_IF_ERROR((*writer)->append(bytes.subspan(off, std::min(kChunk, bytes.size() - off))));
  }
  return (*writer)->commit();
}

void setRates(benchmark::State& state, size_t size) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
  state.counters["objects/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_CommitNew(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  TempStore temp;
  if (temp.store() == nullptr) {
    state.SkipWithError(temp.error().c_str());
    return;
  }
  std::vector<char> bytes = makeBytes(size);
  uint64_t serial = 0;
  for (auto _ : state) {
    // Distinct bytes per object so nothing deduplicates.
    ++serial;
    std::memcpy(bytes.data(), &serial, sizeof serial);
    Result<ObjectId> id = writeObject(temp.store(), bytes);
    if (!id) {
      state.SkipWithError(id.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(*id);
  }
  setRates(state, size);
}
BENCHMARK(BM_CommitNew)->Arg(4 << 10)->Arg(20 << 10)->Arg(1 << 20)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_CommitDedup(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  TempStore temp;
  if (temp.store() == nullptr) {
    state.SkipWithError(temp.error().c_str());
    return;
  }
  const std::vector<char> bytes = makeBytes(size);
  Result<ObjectId> first = writeObject(temp.store(), bytes);
  if (!first) {
    state.SkipWithError(first.status().message().c_str());
    return;
  }
  for (auto _ : state) {
    Result<ObjectId> id = writeObject(temp.store(), bytes);
    if (!id || *id != *first) {
      state.SkipWithError(id ? "dedup commit returned a different id" : id.status().message().c_str());
      break;
    }
  }
  setRates(state, size);
}
BENCHMARK(BM_CommitDedup)->Arg(4 << 10)->Arg(20 << 10)->Arg(1 << 20)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mailark
