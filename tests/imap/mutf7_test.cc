// Modified UTF-7 against go-imap's decoder and encoder tables
// (shared/vectors/imap/go-imap/mutf7-vectors.json), plus round trips.
#include "src/imap/mutf7.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

namespace mailark::imap {
namespace {

struct Vector {
  std::string group;
  std::string input;
  std::string output;
  bool ok = false;
};

std::string fromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// Reads one table; the hex fields are the exact bytes.
std::vector<Vector> loadTable(std::string_view table) {
  std::vector<Vector> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const std::string path = MAILARK_SHARED_DIR "/vectors/imap/go-imap/mutf7-vectors.json";
  if (parser.load(path).get(doc) != simdjson::SUCCESS) {
    ADD_FAILURE() << "cannot load " << path;
    return out;
  }
  simdjson::dom::array rows;
  if (doc["tables"][table].get(rows) != simdjson::SUCCESS) {
    ADD_FAILURE() << "no table " << table;
    return out;
  }
  for (simdjson::dom::element row : rows) {
    Vector v;
    std::string_view group, in_hex, out_hex;
    bool ok = false;
    if (row["group"].get(group) || row["input_hex"].get(in_hex) ||
        row["output_hex"].get(out_hex) || row["ok"].get(ok)) {
      ADD_FAILURE() << "malformed row in " << table;
      continue;
    }
    v.group.assign(group);
    v.input = fromHex(in_hex);
    v.output = fromHex(out_hex);
    v.ok = ok;
    out.push_back(std::move(v));
  }
  return out;
}

TEST(Mutf7, DecodeVectors) {
  const std::vector<Vector> table = loadTable("internal/utf7/decoder_test.go:decode");
  ASSERT_EQ(table.size(), 45u);
  int rejected = 0;
  for (const Vector& v : table) {
    Result<std::string> r = decodeMutf7(v.input);
    if (v.ok) {
      ASSERT_TRUE(r.isOk()) << v.group << ": '" << v.input << "': " << r.status().toString();
      EXPECT_EQ(*r, v.output) << v.group << ": '" << v.input << "'";
    } else {
      ASSERT_FALSE(r.isOk()) << v.group << ": '" << v.input << "' decoded to '" << *r << "'";
      EXPECT_EQ(r.status().code(), StatusCode::ProtocolError);
      ++rejected;
    }
  }
  EXPECT_EQ(rejected, 34);
}

TEST(Mutf7, EncodeVectors) {
  const std::vector<Vector> table = loadTable("internal/utf7/encoder_test.go:encode");
  ASSERT_EQ(table.size(), 71u);
  for (const Vector& v : table) {
    // Lossy encoding matches go-imap for every row, including invalid UTF-8.
    EXPECT_EQ(encodeMutf7Lossy(v.input), v.output) << v.group;
    Result<std::string> strict = encodeMutf7(v.input);
    if (v.ok) {
      ASSERT_TRUE(strict.isOk()) << v.group << ": " << strict.status().toString();
      EXPECT_EQ(*strict, v.output) << v.group;
      // And back: every valid encoding decodes to the original.
      Result<std::string> back = decodeMutf7(*strict);
      ASSERT_TRUE(back.isOk()) << v.group << ": " << back.status().toString();
      EXPECT_EQ(*back, v.input) << v.group;
    } else {
      ASSERT_FALSE(strict.isOk()) << v.group;
      EXPECT_EQ(strict.status().code(), StatusCode::Config);
    }
  }
}

TEST(Mutf7, RejectsWhatRfc3501Forbids) {
  // Printable ASCII must represent itself; "&AGE-" spells "a".
  EXPECT_FALSE(decodeMutf7("&AGE-").isOk());
  // Lone surrogates.
  EXPECT_FALSE(decodeMutf7("&2AA-").isOk());
  EXPECT_FALSE(decodeMutf7("&3AA-").isOk());
  // Non-zero padding bits: "&AP9-" carries a stray 1 bit after U+00FF.
  EXPECT_FALSE(decodeMutf7("&AP9-").isOk());
  EXPECT_TRUE(decodeMutf7("&AP8-").isOk());
}

TEST(Mutf7, ExchangeFolderNamesRoundTrip) {
  const std::vector<std::string> names = {"Gelöschte Elemente", "Éléments envoyés",
                                          "受信トレイ", "Входящие/Подпапка & Co",
                                          "emoji \xF0\x9F\x93\xA7 box"};
  for (const std::string& name : names) {
    Result<std::string> wire = encodeMutf7(name);
    ASSERT_TRUE(wire.isOk());
    for (char c : *wire) {
      ASSERT_TRUE(c >= 0x20 && c <= 0x7e) << name;
    }
    Result<std::string> back = decodeMutf7(*wire);
    ASSERT_TRUE(back.isOk()) << *wire;
    EXPECT_EQ(*back, name);
  }
  EXPECT_EQ(*encodeMutf7("Gelöschte Elemente"), "Gel&APY-schte Elemente");
}

}  // namespace
}  // namespace mailark::imap
