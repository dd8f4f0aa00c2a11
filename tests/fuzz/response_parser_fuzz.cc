// libFuzzer target for the IMAP response parser (scripts/fuzz.sh builds and
// runs it). Beyond "no crash, no sanitizer report" it checks the parser's
// central promise: the same bytes give the same responses and the same final
// status however they are chunked.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "src/imap/response_parser.h"

namespace {

using mailark::Status;
using namespace mailark::imap;

void describe(const Value& v, std::string& out) {
  switch (v.type) {
    case Value::Type::Atom: out += "A:" + v.text; break;
    case Value::Type::Number: out += "N:" + std::to_string(v.number); break;
    case Value::Type::String: out += "S" + std::to_string(v.text.size()) + ":" + v.text; break;
    case Value::Type::Nil: out += "NIL"; break;
    case Value::Type::StreamedLiteral: out += "L:" + std::to_string(v.literal_size); break;
    case Value::Type::List:
      out += "(";
      for (const Value& c : v.list) {
        describe(c, out);
        out += ' ';
      }
      out += ")";
      break;
  }
}

// Records everything the parser reports, including streamed literal bytes.
class Recorder : public ParserCallbacks, public LiteralSink {
 public:
  std::string log;
  LiteralSink* onLiteralStart(const LiteralContext& c) override {
    log += "<lit " + std::to_string(c.size) + " " + std::string(c.preceding_atom) + " " +
           std::to_string(c.fetch_sequence) + ">";
    // Stream BODY[] like the archiver does; buffer everything else.
    return c.preceding_atom == "BODY[]" ? this : nullptr;
  }
  Status write(std::span<const char> bytes) override {
    log.append(bytes.data(), bytes.size());
    return Status::ok();
  }
  void onResponse(Response&& r) override {
    log += "<resp " + std::to_string(static_cast<int>(r.kind)) + " " + r.tag + " " + r.status + " [" + r.code +
           "] " + r.text + " ";
    for (const Value& v : r.values) describe(v, log);
    log += ">";
  }
};

Limits smallLimits() {
  Limits l;
  l.max_line = 4096;
  l.max_depth = 16;
  l.max_literal = 1 << 20;
  l.max_buffered_literal = 64 * 1024;
  return l;
}

std::string run(const uint8_t* data, size_t size, size_t chunk) {
  Recorder rec;
  ResponseParser parser(&rec, smallLimits());
  Status last;
  for (size_t pos = 0; pos < size && last.isOk(); pos += chunk) {
    size_t n = std::min(chunk, size - pos);
    last = parser.feed(std::span<const char>(reinterpret_cast<const char*>(data) + pos, n));
  }
  return rec.log + "|" + std::to_string(static_cast<int>(last.code())) + "|" + (parser.idle() ? "idle" : "busy");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string whole = run(data, size, size == 0 ? 1 : size);
  size_t chunk = size == 0 ? 1 : 1 + data[0] % 13;
  std::string split = run(data, size, chunk);
  if (whole != split) std::abort();  // chunking changed the outcome
  return 0;
}
