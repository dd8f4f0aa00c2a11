// Test harness for pop3::ReplyParser: feeds bytes in a chosen chunking and
// renders every event as one transcript string, so runs with different
// chunkings can be compared for equality.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "src/pop3/reply_parser.h"

namespace mailark::pop3::testing {

class Transcript : public ReplyCallbacks, public BodySink {
 public:
  Status onStatus(Indicator indicator, std::string_view text) override {
    const char* name = indicator == Indicator::Ok ? "+OK" : indicator == Indicator::Err ? "-ERR" : "+";
    out += std::string(name) + "[" + std::string(text) + "]\n";
    return Status::ok();
  }
  Status onLine(std::string_view line) override {
    out += "L[" + std::string(line) + "]\n";
    return Status::ok();
  }
  Status onEnd() override {
    if (!body.empty()) out += "BODY " + std::to_string(body.size()) + "[" + body + "]\n";
    bodies.push_back(body);
    body.clear();
    out += "END\n";
    ++ends;
    return Status::ok();
  }
  Status write(std::span<const char> bytes) override {
    body.append(bytes.data(), bytes.size());
    return Status::ok();
  }

  std::string out;
  std::string body;
  std::vector<std::string> bodies;
  int ends = 0;
};

struct RunResult {
  std::string transcript;
  std::vector<std::string> bodies;
  Status status;
  bool idle = false;
  bool in_multi_line = false;
  std::string summary() const {
    return transcript + "status=" + status.toString() + (idle ? " idle" : " busy") +
           (in_multi_line ? " multi" : "");
  }
};

// Feeds `bytes` cut at the ascending offsets `cuts`, expecting `shapes`.
inline RunResult runParser(const std::string& bytes, const std::vector<Shape>& shapes, const std::vector<size_t>& cuts,
                           Limits limits = {}) {
  Transcript t;
  ReplyParser parser(&t, limits);
  for (Shape s : shapes) parser.expect(s, &t);
  RunResult r;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(bytes.size());
  for (size_t end : ends) {
    if (end < start) continue;
    r.status = parser.feed(std::span<const char>(bytes.data() + start, end - start));
    start = end;
    if (!r.status.isOk()) break;
  }
  r.transcript = t.out;
  r.bodies = t.bodies;
  r.idle = parser.idle();
  r.in_multi_line = parser.inMultiLine();
  return r;
}

inline std::vector<size_t> everyByte(size_t n) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < n; ++i) cuts.push_back(i);
  return cuts;
}

}  // namespace mailark::pop3::testing
