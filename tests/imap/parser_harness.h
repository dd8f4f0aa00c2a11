// Test harness for ResponseParser: feeds bytes in a chosen chunking and
// renders everything the parser reported as one transcript string, so runs
// with different chunkings can be compared for equality.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailark/status.h"
#include "src/base/sha256.h"
#include "src/imap/response_parser.h"

namespace mailark::imap::testing {

inline std::string renderValue(const Value& v) {
  switch (v.type) {
    case Value::Type::Atom:
      return v.text;
    case Value::Type::Number:
      return std::to_string(v.number);
    case Value::Type::Nil:
      return "NIL";
    case Value::Type::StreamedLiteral:
      return "<stream " + std::to_string(v.literal_size) + ">";
    case Value::Type::String: {
      std::string s = "\"";
      for (char c : v.text) {
        if (c == '"' || c == '\\') s.push_back('\\');
        s.push_back(c);
      }
      return s + "\"";
    }
    case Value::Type::List: {
      std::string s = "(";
      for (size_t i = 0; i < v.list.size(); ++i) {
        if (i > 0) s.push_back(' ');
        s += renderValue(v.list[i]);
      }
      return s + ")";
    }
  }
  return "?";
}

// "* 5 FETCH (UID 9)", "A1 OK [UIDNEXT 5] \"done\"", "+ [ALERT] \"idling\"".
inline std::string renderResponse(const Response& r) {
  std::string s;
  switch (r.kind) {
    case Response::Kind::Tagged: s = r.tag; break;
    case Response::Kind::Untagged: s = "*"; break;
    case Response::Kind::Continuation: s = "+"; break;
  }
  if (r.kind == Response::Kind::Continuation || !r.status.empty()) {
    if (!r.status.empty()) s += " " + r.status;
    if (!r.code.empty()) s += " [" + r.code + "]";
    return s + " \"" + r.text + "\"";
  }
  for (const Value& v : r.values) s += " " + renderValue(v);
  return s;
}

// Hashes a streamed literal; can fail on purpose after `fail_after` bytes.
class HashSink : public LiteralSink {
 public:
  Status write(std::span<const char> bytes) override {
    if (bytes.empty()) return internalError("sink got an empty write");
    bytes_ += bytes.size();
    if (bytes_ > fail_after) return Status(StatusCode::StorageFull, "sink full");
    sha_.update(bytes);
    return Status::ok();
  }
  uint64_t bytes_ = 0;
  uint64_t fail_after = UINT64_MAX;
  Sha256 sha_;
};

// Streams literals right after a "BODY[]..." / "BINARY[]..." atom and
// buffers the rest; logs every callback into `transcript`.
class Recorder : public ParserCallbacks {
 public:
  LiteralSink* onLiteralStart(const LiteralContext& c) override {
    const std::string_view atom = c.preceding_atom;
    const bool stream = atom.starts_with("BODY[]") || atom.starts_with("BINARY[]");
    transcript.push_back("literal " + std::to_string(c.size) + " after '" + std::string(atom) +
                         "' seq " + std::to_string(c.fetch_sequence) +
                         (stream ? " -> stream" : " -> buffer"));
    if (!stream) return nullptr;
    sinks.push_back(std::make_unique<HashSink>());
    sinks.back()->fail_after = sink_fail_after;
    return sinks.back().get();
  }
  void onResponse(Response&& r) override {
    // Sinks finished for this response: report their digests in order.
    for (; reported_sinks < sinks.size(); ++reported_sinks) {
      HashSink& sink = *sinks[reported_sinks];
      transcript.push_back("sink " + std::to_string(sink.bytes_) + " " +
                           digestHex(sink.sha_.finish()));
    }
    transcript.push_back(renderResponse(r));
    responses.push_back(std::move(r));
  }

  std::vector<std::string> transcript;
  std::vector<Response> responses;
  std::vector<std::unique_ptr<HashSink>> sinks;
  size_t reported_sinks = 0;
  uint64_t sink_fail_after = UINT64_MAX;
};

struct RunResult {
  std::vector<std::string> transcript;
  std::vector<Response> responses;
  Status status;
  bool idle = true;

  std::string summary() const {
    std::string s;
    for (const std::string& line : transcript) s += line + "\n";
    return s + "status: " + status.toString() + (idle ? " (idle)" : " (mid-response)") + "\n";
  }
};

// Feeds `input` cut at `cuts` (increasing offsets). After an error the
// remaining chunks are still fed, to check the parser stays failed.
inline RunResult runParser(std::string_view input, const std::vector<size_t>& cuts,
                           Limits limits = {}, uint64_t sink_fail_after = UINT64_MAX) {
  Recorder recorder;
  recorder.sink_fail_after = sink_fail_after;
  ResponseParser parser(&recorder, limits);
  RunResult result;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    if (end < start) continue;
    // Copy each chunk so ASan catches any read outside the fed span.
    std::vector<char> chunk(input.begin() + start, input.begin() + end);
    Status s = parser.feed(std::span<const char>(chunk.data(), chunk.size()));
    if (result.status.isOk()) {
      result.status = s;
    } else if (s.code() != result.status.code() || s.message() != result.status.message()) {
      result.status = internalError("parser changed its error after failing: " + s.toString());
    }
    start = end;
  }
  result.idle = parser.idle();
  result.transcript = std::move(recorder.transcript);
  result.responses = std::move(recorder.responses);
  return result;
}

inline std::vector<size_t> everyByte(size_t n) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < n; ++i) cuts.push_back(i);
  return cuts;
}

}  // namespace mailark::imap::testing
