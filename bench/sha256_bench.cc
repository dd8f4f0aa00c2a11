// Sha256 (OpenSSL EVP) throughput.
//
// BM_Sha256Update: 4 MiB hashed per iteration, in update() calls of the given
// chunk size, so small chunks show the per-call overhead (a parser handing
// over a literal in small network reads).
// BM_Sha256Message: one whole message per iteration, update() + finish(),
// i.e. the per-object cost including finalisation.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "src/base/sha256.h"

namespace mailark {
namespace {

constexpr size_t kUpdateTotal = 4 * 1024 * 1024;

std::vector<char> makeBytes(size_t size) {
  std::vector<char> bytes(size);
  uint32_t x = 2463534242u;  // xorshift: cheap, deterministic, not all zero
  for (char& c : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return bytes;
}

void BM_Sha256Update(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  const std::vector<char> bytes = makeBytes(kUpdateTotal);
  Sha256 hash;
  for (auto _ : state) {
    for (size_t off = 0; off < bytes.size(); off += chunk) {
      hash.update(std::span<const char>(bytes.data() + off, std::min(chunk, bytes.size() - off)));
    }
    Digest d = hash.finish();
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
  state.counters["updates/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>((bytes.size() + chunk - 1) / chunk),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Sha256Update)->RangeMultiplier(4)->Range(64, 1 << 20)->Unit(benchmark::kMicrosecond);

void BM_Sha256Message(benchmark::State& state) {
  const std::vector<char> bytes = makeBytes(static_cast<size_t>(state.range(0)));
  Sha256 hash;
  for (auto _ : state) {
    hash.update(bytes);
    Digest d = hash.finish();
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
  state.counters["messages/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Sha256Message)->Arg(2 << 10)->Arg(64 << 10)->Arg(4 << 20);

}  // namespace
}  // namespace mailark
