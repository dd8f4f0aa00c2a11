#include "src/base/sha256.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cerrno>
#include <string>

#include "mailark/status.h"

namespace mailark {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(digestHex(Sha256::of(std::string_view(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digestHex(Sha256::of(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  Sha256 h;
  for (size_t pos = 0; pos < data.size(); pos += 997)
    h.update(std::span<const char>(data).subspan(pos, std::min<size_t>(997, data.size() - pos)));
  EXPECT_EQ(h.finish(), Sha256::of(data));
}

TEST(Sha256, HexRoundTripAndRejects) {
  Digest d = Sha256::of(std::string_view("mailark"));
  Digest back{};
  ASSERT_TRUE(parseDigestHex(digestHex(d), &back));
  EXPECT_EQ(back, d);
  EXPECT_FALSE(parseDigestHex("abc", &back));
  EXPECT_FALSE(parseDigestHex(std::string(64, 'g'), &back));
  std::string upper = digestHex(d);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_TRUE(parseDigestHex(upper, &back));
  EXPECT_EQ(back, d);
  for (char bad : {'g', ' ', '\0', '\xff', '/', ':', '@', '`'}) {
    std::string hex = digestHex(d);
    hex[63] = bad;
    EXPECT_FALSE(parseDigestHex(hex, &back)) << static_cast<int>(bad);
    hex = digestHex(d);
    hex[0] = bad;
    EXPECT_FALSE(parseDigestHex(hex, &back)) << static_cast<int>(bad);
  }
}

TEST(Status, CarriesCodeAndContext) {
  Status s = protocolError("bad literal").withContext("mailbox a@b");
  EXPECT_EQ(s.code(), StatusCode::ProtocolError);
  EXPECT_EQ(s.message(), "mailbox a@b: bad literal");
  EXPECT_EQ(errnoStatus(ENOSPC, "write x").code(), StatusCode::StorageFull);
  Result<int> r(notFound("x"));
  EXPECT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::NotFound);
}

}  // namespace
}  // namespace mailark
