// Tests for appendJsonString(): exact escapes for a table of inputs, and
// that whatever bytes go in, simdjson accepts what comes out (and decodes
// valid UTF-8 back to the same bytes).
#include "src/base/json_escape.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mailark {
namespace {

std::string escaped(std::string_view in) {
  std::string out;
  appendJsonString(out, in);
  return out;
}

// Parses `json` (one JSON string) with simdjson; fails the test when it is
// not valid JSON. Returns the decoded string.
std::string decode(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  simdjson::error_code err = parser.parse(padded).get(doc);
  EXPECT_EQ(err, simdjson::SUCCESS) << simdjson::error_message(err) << " for " << ::testing::PrintToString(json);
  if (err != simdjson::SUCCESS) return {};
  std::string_view s;
  err = doc.get_string().get(s);
  EXPECT_EQ(err, simdjson::SUCCESS) << "not a JSON string: " << json;
  return std::string(s);
}

struct Case {
  std::string name;
  std::string input;
  std::string expect;  // exact output, quotes included
};

TEST(JsonEscape, Table) {
  const std::vector<Case> cases = {
      {"empty", "", "\"\""},
      {"plain", "INBOX/Sent Items", "\"INBOX/Sent Items\""},
      {"quote_and_backslash", "a\"b\\c", "\"a\\\"b\\\\c\""},
      {"named_controls", "1\n2\r3\t4", "\"1\\n2\\r3\\t4\""},
      {"other_controls", std::string("\x00\x01\x1f\x7f", 4), "\"\\u0000\\u0001\\u001f\\u007f\""},
      {"backspace_formfeed", "\b\f", "\"\\u0008\\u000c\""},
      {"slash_unescaped", "a/b", "\"a/b\""},
      {"two_byte", "caf\xc3\xa9", "\"caf\xc3\xa9\""},
      {"three_byte", "\xe2\x82\xac 5", "\"\xe2\x82\xac 5\""},
      {"four_byte", "\xf0\x9f\x98\x80!", "\"\xf0\x9f\x98\x80!\""},
      {"largest_code_point", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""},
      {"lone_continuation", "a\x80z", "\"a\\u0080z\""},
      {"latin1_byte", "caf\xe9", "\"caf\\u00e9\""},
      {"ff_fe", "\xff\xfe", "\"\\u00ff\\u00fe\""},
      {"truncated_at_end", "x\xe2\x82", "\"x\\u00e2\\u0082\""},
      {"lead_then_ascii", "\xc3" "A", "\"\\u00c3A\""},
      {"four_byte_cut_by_quote", "\xf0\x9f\"", "\"\\u00f0\\u009f\\\"\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(escaped(c.input), c.expect);
  }
}

TEST(JsonEscape, AppendsWithoutTouchingExistingText) {
  std::string out = "{\"name\":";
  appendJsonString(out, "x\"y");
  out += '}';
  EXPECT_EQ(out, "{\"name\":\"x\\\"y\"}");
}

TEST(JsonEscape, ValidUtf8RoundTripsThroughSimdjson) {
  const std::vector<std::string> inputs = {
      "",
      "plain ascii",
      "\"quoted\" \\ back\\slash",
      std::string("nul\x00inside", 10),
      "tabs\tand\nnewlines\r\n",
      "\x01\x02\x03\x1e\x1f\x7f",
      "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln",
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
      "emoji \xf0\x9f\x93\xa7 mail",
      "\xef\xbf\xbd replacement char",
      "\xf4\x8f\xbf\xbf",
  };
  for (const std::string& in : inputs) {
    SCOPED_TRACE(in);
    EXPECT_EQ(decode(escaped(in)), in);
  }
}

// Bytes that are not UTF-8 are read as Latin-1 code points: byte 0xE9
// becomes U+00E9, so the decoded text is the byte's UTF-8 encoding.
TEST(JsonEscape, InvalidBytesDecodeAsLatin1CodePoints) {
  EXPECT_EQ(decode(escaped("caf\xe9")), "caf\xc3\xa9");
  EXPECT_EQ(decode(escaped("\xff")), "\xc3\xbf");
  EXPECT_EQ(decode(escaped("a\x80")), "a\xc2\x80");
  EXPECT_EQ(decode(escaped("\xe2\x82")), "\xc3\xa2\xc2\x82");
}

// Regression: overlong forms, surrogates, code points above U+10FFFF and
// lead bytes F5..F7 are not UTF-8 and must be escaped byte by byte
// (RFC 3629), so the output is always valid JSON.
TEST(JsonEscape, ArbitraryBytesAlwaysGiveValidJson) {
  const std::vector<std::string> malformed = {
      "\xc0\x80",          // overlong NUL
      "\xc1\xbf",          // overlong '\x7f'
      "\xe0\x80\xaf",      // overlong '/'
      "\xf0\x80\x80\xaf",  // overlong '/'
      "\xed\xa0\x80",      // high surrogate U+D800
      "\xed\xbf\xbf",      // low surrogate U+DFFF
      "\xf4\x90\x80\x80",  // U+110000
      "\xf5\x80\x80\x80",  // lead byte never used
      "\xf7\xbf\xbf\xbf",
  };
  for (const std::string& in : malformed) {
    SCOPED_TRACE(::testing::PrintToString(in));
    const std::string out = escaped(in);
    decode(out);
    // Every byte of a malformed sequence is escaped on its own.
    EXPECT_EQ(out.find_first_of("\x80\xc0\xc1\xe0\xed\xf0\xf4\xf5\xf7"), std::string::npos) << out;
  }

  // Random bytes, biased towards the high half where UTF-8 goes wrong.
  std::mt19937 rng(20240517);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 24);
  for (int i = 0; i < 5000; ++i) {
    std::string in;
    for (int n = length(rng); n > 0; --n) {
      int b = byte(rng);
      in.push_back(static_cast<char>(b < 64 ? b + 128 : b));
    }
    SCOPED_TRACE(::testing::PrintToString(in));
    const std::string decoded = decode(escaped(in));
    if (simdjson::validate_utf8(in.data(), in.size())) {
      EXPECT_EQ(decoded, in);
    }
    if (::testing::Test::HasFailure()) break;  // one example is enough
  }
}

}  // namespace
}  // namespace mailark
