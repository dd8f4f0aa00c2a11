// ResponseParser throughput.
//
// BM_FetchStream: a synthetic "UID FETCH 1:* (UID INTERNALDATE FLAGS BODY[])"
// answer, fed in 16 KiB chunks (a typical TLS read), with each BODY[] literal
// streamed to a sink. The sink either SHA-256 hashes (what archiving does
// before the store) or only counts, so the difference is the hashing cost.
// Every FETCH response also goes through parseFetch(), as the engine does.
//
// BM_SmallLines: pure syntax, no literals: the LIST / EXAMINE / FETCH FLAGS
// chatter of a mailbox with many folders and messages.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <type_traits>

#include "src/base/sha256.h"
#include "src/imap/response_parser.h"
#include "src/imap/untagged_data.h"

namespace mailark::imap {
namespace {

constexpr size_t kChunk = 16 * 1024;
// Each FetchStream case parses about this many bytes per iteration, so a
// 2 KB case is thousands of messages and a 4 MB case a handful.
constexpr size_t kTargetStreamBytes = 16 * 1024 * 1024;

// Mail-like body: header block then CRLF text lines, exactly `size` bytes.
std::string makeBody(size_t size, uint64_t seed) {
  std::string body = "From: Sender " + std::to_string(seed) +
                     " <sender@contoso.test>\r\nTo: user01@contoso.test\r\n"
                     "Subject: benchmark message\r\nMessage-ID: <" +
                     std::to_string(seed) + "@bench>\r\n\r\n";
  static constexpr std::string_view kLine =
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit (*) {42} \"q\" 0123456789\r\n";
  while (body.size() < size) body.append(kLine);
  body.resize(size);
  return body;
}

std::string makeFetchStream(size_t message_size, size_t* messages) {
  *messages = std::max<size_t>(1, kTargetStreamBytes / message_size);
  std::string stream;
  stream.reserve(*messages * (message_size + 128));
  for (size_t i = 1; i <= *messages; ++i) {
    char head[160];
    std::snprintf(head, sizeof head,
                  "* %zu FETCH (UID %zu INTERNALDATE \"17-Jul-2024 09:%02zu:00 +0200\" "
                  "FLAGS (\\Seen) BODY[] {%zu}\r\n",
                  i, i + 1000, i % 60, message_size);
    stream.append(head);
    stream.append(makeBody(message_size, i));
    stream.append(")\r\n");
  }
  stream.append("A7 OK UID FETCH completed\r\n");
  return stream;
}

class HashSink final : public LiteralSink {
 public:
  Status write(std::span<const char> bytes) override {
    hash_.update(bytes);
    return Status::ok();
  }
  Digest finish() { return hash_.finish(); }

 private:
  Sha256 hash_;
};

class CountSink final : public LiteralSink {
 public:
  Status write(std::span<const char> bytes) override {
    bytes_ += bytes.size();
    return Status::ok();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t bytes_ = 0;
};

// Collects what a caller would: responses, FETCH data, digests.
template <typename Sink>
class BenchCallbacks final : public ParserCallbacks {
 public:
  LiteralSink* onLiteralStart(const LiteralContext& context) override {
    benchmark::DoNotOptimize(context.size);
    return &sink_;
  }
  void onResponse(Response&& response) override {
    ++responses_;
    if (std::optional<FetchData> fetch = parseFetch(response)) {
      ++fetches_;
      benchmark::DoNotOptimize(fetch->uid);
      if constexpr (std::is_same_v<Sink, HashSink>) {
        Digest d = sink_.finish();
        benchmark::DoNotOptimize(d);
      }
    }
  }
  uint64_t responses() const { return responses_; }
  uint64_t fetches() const { return fetches_; }

 private:
  Sink sink_;
  uint64_t responses_ = 0;
  uint64_t fetches_ = 0;
};

// Feeds `stream` in kChunk pieces; returns false (and reports) on error.
template <typename Callbacks>
bool feedAll(benchmark::State& state, const std::string& stream, Callbacks* callbacks) {
  ResponseParser parser(callbacks);
  for (size_t off = 0; off < stream.size(); off += kChunk) {
    size_t n = std::min(kChunk, stream.size() - off);
    Status s = parser.feed(std::span<const char>(stream.data() + off, n));
    if (!s.isOk()) {
      state.SkipWithError(s.message().c_str());
      return false;
    }
  }
  return true;
}

template <typename Sink>
void BM_FetchStream(benchmark::State& state) {
  const size_t message_size = static_cast<size_t>(state.range(0));
  size_t messages = 0;
  const std::string stream = makeFetchStream(message_size, &messages);
  for (auto _ : state) {
    BenchCallbacks<Sink> callbacks;
    if (!feedAll(state, stream, &callbacks)) break;
    if (callbacks.fetches() != messages) {
      state.SkipWithError("parser delivered the wrong number of FETCH responses");
      break;
    }
    benchmark::DoNotOptimize(callbacks.responses());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.counters["messages/s"] = benchmark::Counter(
      static_cast<double>(messages * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["messages"] = static_cast<double>(messages);
}

BENCHMARK(BM_FetchStream<HashSink>)
    ->Name("BM_FetchStream/sha256")
    ->Arg(2 << 10)
    ->Arg(64 << 10)
    ->Arg(4 << 20)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FetchStream<CountSink>)
    ->Name("BM_FetchStream/count")
    ->Arg(2 << 10)
    ->Arg(64 << 10)
    ->Arg(4 << 20)
    ->Unit(benchmark::kMillisecond);

std::string makeSmallLines(size_t* lines) {
  std::string s;
  *lines = 0;
  static constexpr const char* kFolders[] = {"INBOX", "Archive", "Archive/2024", "Project Plans",
                                             "Entw&APw-rfe &ANw-n&AO8-c&APg-d&AOk-", "Sent Items"};
  for (int round = 0; round < 200; ++round) {
    for (const char* f : kFolders) {
      s += "* LIST (\\HasNoChildren) \"/\" \"";
      s += f;
      s += "\"\r\n";
      ++*lines;
    }
    s += "* 25 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
         "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n* OK [UIDNEXT 26] Predicted next UID\r\n";
    *lines += 5;
    for (int i = 1; i <= 25; ++i) {
      s += "* " + std::to_string(i) + " FETCH (UID " + std::to_string(i * 3) +
           " FLAGS (\\Seen \\Answered))\r\n";
      ++*lines;
    }
    s += "A" + std::to_string(round) + " OK [READ-ONLY] EXAMINE completed (0.001 + 0.000 secs).\r\n";
    ++*lines;
  }
  return s;
}

void BM_SmallLines(benchmark::State& state) {
  size_t lines = 0;
  const std::string stream = makeSmallLines(&lines);
  for (auto _ : state) {
    BenchCallbacks<CountSink> callbacks;
    if (!feedAll(state, stream, &callbacks)) break;
    if (callbacks.responses() != lines) {
      state.SkipWithError("parser delivered the wrong number of responses");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.counters["responses/s"] = benchmark::Counter(
      static_cast<double>(lines * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SmallLines)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mailark::imap
