#include "src/engine/split_message.h"

#include <gtest/gtest.h>

#include <string>

namespace mailark::engine {
namespace {

// Collects what the message hands the store, in order.
class StringWriter final : public ObjectWriter {
 public:
  explicit StringWriter(std::string* out) : out_(out) {}
  Status append(std::span<const char> bytes) override {
    out_->append(bytes.data(), bytes.size());
    return Status::ok();
  }
  uint64_t size() const override { return out_->size(); }
  Status commitAsync() override { return Status::ok(); }
  Result<ObjectId> wait() override { return internalError("not a store"); }
  void abort() override { out_->clear(); }

 private:
  std::string* out_;
};

std::string text(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + i % 26));
  return s;
}

std::string slice(const std::string& s, const Piece& p) {
  return p.offset >= s.size() ? std::string() : s.substr(p.offset, p.length);
}

TEST(SplitMessage, PiecesAnsweredOutOfOrderArePutTogetherInOrder) {
  const std::string message = text(35);
  std::string stored;
  SplitMessage m(7, message.size(), 10, 8, std::make_unique<StringWriter>(&stored));
  ASSERT_EQ(m.sendable(), 4u);  // 0, 10, 20, 30
  Piece a = m.take(), b = m.take(), c = m.take(), d = m.take();
  EXPECT_EQ(m.sendable(), 0u);
  // The last (short) piece first, then the second, buffered; then the first
  // streams straight in and the held ones follow it.
  ASSERT_TRUE(m.answered(d, slice(message, d)).isOk());
  ASSERT_TRUE(m.answered(b, slice(message, b)).isOk());
  EXPECT_TRUE(stored.empty());
  ASSERT_TRUE(m.beginDirect(a, 10));
  ASSERT_TRUE(m.writer().append(slice(message, a)).isOk());
  ASSERT_TRUE(m.endDirect().isOk());
  ASSERT_TRUE(m.answered(a, std::nullopt).isOk());
  EXPECT_EQ(stored, message.substr(0, 20));
  EXPECT_FALSE(m.finished());
  ASSERT_TRUE(m.answered(c, slice(message, c)).isOk());
  EXPECT_TRUE(m.finished());
  EXPECT_FALSE(m.failed());
  EXPECT_EQ(stored, message);
}

TEST(SplitMessage, AMessageLongerThanItsEstimateIsAskedForFurther) {
  // Exchange's RFC822.SIZE is an estimate: here 20 for 25 real bytes.
  const std::string message = text(25);
  std::string stored;
  SplitMessage m(1, 20, 10, 8, std::make_unique<StringWriter>(&stored));
  Piece a = m.take(), b = m.take();
  ASSERT_TRUE(m.answered(b, slice(message, b)).isOk());
  ASSERT_TRUE(m.answered(a, slice(message, a)).isOk());
  EXPECT_FALSE(m.finished());  // both full: the end is not known yet
  ASSERT_EQ(m.sendable(), 1u);
  Piece c = m.take();
  EXPECT_EQ(c.offset, 20u);
  ASSERT_TRUE(m.answered(c, slice(message, c)).isOk());
  EXPECT_TRUE(m.finished());
  EXPECT_EQ(stored, message);
}

TEST(SplitMessage, AMessageShorterThanItsEstimateEndsAtTheShortPiece) {
  const std::string message = text(12);
  std::string stored;
  SplitMessage m(1, 40, 10, 8, std::make_unique<StringWriter>(&stored));
  Piece a = m.take(), b = m.take(), c = m.take(), d = m.take();
  // Pieces past the end come back empty, before and after the short one.
  ASSERT_TRUE(m.answered(d, slice(message, d)).isOk());
  ASSERT_TRUE(m.answered(b, slice(message, b)).isOk());  // 2 bytes: the end is 12
  ASSERT_TRUE(m.answered(c, slice(message, c)).isOk());
  ASSERT_TRUE(m.answered(a, slice(message, a)).isOk());
  EXPECT_TRUE(m.finished());
  EXPECT_FALSE(m.failed()) << m.failure();
  EXPECT_EQ(stored, message);
}

TEST(SplitMessage, AnExactMultipleOfThePieceSizeEndsWithAnEmptyPiece) {
  const std::string message = text(20);
  std::string stored;
  SplitMessage m(1, 20, 10, 8, std::make_unique<StringWriter>(&stored));
  Piece a = m.take(), b = m.take();
  ASSERT_TRUE(m.answered(a, slice(message, a)).isOk());
  ASSERT_TRUE(m.answered(b, slice(message, b)).isOk());
  ASSERT_EQ(m.sendable(), 1u);
  Piece c = m.take();
  ASSERT_TRUE(m.beginDirect(c, 0));
  ASSERT_TRUE(m.endDirect().isOk());
  ASSERT_TRUE(m.answered(c, std::nullopt).isOk());
  EXPECT_TRUE(m.finished());
  EXPECT_EQ(stored, message);
}

TEST(SplitMessage, APieceCutOffMidwayIsAskedForAgainFromWhatArrived) {
  const std::string message = text(30);
  std::string stored;
  SplitMessage m(1, 30, 10, 8, std::make_unique<StringWriter>(&stored));
  Piece a = m.take(), b = m.take(), c = m.take();
  ASSERT_TRUE(m.beginDirect(a, 10));
  ASSERT_TRUE(m.writer().append(message.substr(0, 4)).isOk());
  ASSERT_TRUE(m.giveBack(a, /*was_direct=*/true).isOk());  // connection lost after 4 bytes
  ASSERT_TRUE(m.giveBack(c, /*was_direct=*/false).isOk());
  ASSERT_EQ(m.sendable(), 2u);
  Piece rest = m.take();
  EXPECT_EQ(rest.offset, 4u);
  EXPECT_EQ(rest.length, 6u);
  Piece c2 = m.take();
  EXPECT_EQ(c2.offset, 20u);
  ASSERT_TRUE(m.answered(b, slice(message, b)).isOk());
  ASSERT_TRUE(m.answered(rest, slice(message, rest)).isOk());
  ASSERT_TRUE(m.answered(c2, slice(message, c2)).isOk());
  EXPECT_FALSE(m.finished());  // 30 bytes in three full pieces: is there more?
  Piece d = m.take();
  ASSERT_TRUE(m.answered(d, std::string()).isOk());
  EXPECT_TRUE(m.finished());
  EXPECT_EQ(stored, message);
}

TEST(SplitMessage, PiecesThatDoNotFitTogetherFailTheMessage) {
  std::string stored;
  SplitMessage longer(1, 20, 10, 8, std::make_unique<StringWriter>(&stored));
  Piece a = longer.take();
  ASSERT_TRUE(longer.answered(a, text(11)).isOk());
  EXPECT_TRUE(longer.failed());
  EXPECT_EQ(longer.sendable(), 0u);
  EXPECT_TRUE(longer.finished());

  // Two short pieces: the message cannot end in both places.
  std::string stored2;
  SplitMessage two_ends(1, 30, 10, 8, std::make_unique<StringWriter>(&stored2));
  Piece x = two_ends.take(), y = two_ends.take();
  ASSERT_TRUE(two_ends.answered(x, text(5)).isOk());
  ASSERT_TRUE(two_ends.answered(y, text(5)).isOk());
  EXPECT_TRUE(two_ends.failed());
}

TEST(SplitMessage, APieceLostAfterItAllArrivedLetsTheHeldOnesFollow) {
  const std::string message = text(25);
  std::string stored;
  SplitMessage m(1, 25, 10, 8, std::make_unique<StringWriter>(&stored));
  Piece a = m.take(), b = m.take(), c = m.take();
  ASSERT_TRUE(m.answered(b, slice(message, b)).isOk());
  ASSERT_TRUE(m.answered(c, slice(message, c)).isOk());
  // The first piece streamed in whole, then its connection died before the
  // server's OK: nothing is asked for again, and the held pieces follow it.
  ASSERT_TRUE(m.beginDirect(a, 10));
  ASSERT_TRUE(m.writer().append(slice(message, a)).isOk());
  ASSERT_TRUE(m.endDirect().isOk());
  ASSERT_TRUE(m.giveBack(a, /*was_direct=*/true).isOk());
  EXPECT_EQ(m.sendable(), 0u);
  EXPECT_TRUE(m.finished());
  EXPECT_EQ(stored, message);
}

TEST(SplitMessage, APieceWithoutTheMessageFailsItQuietly) {
  std::string stored;
  SplitMessage m(1, 30, 10, 8, std::make_unique<StringWriter>(&stored));
  Piece a = m.take();
  m.fail("");  // expunged: the caller reports the UID as missing
  ASSERT_TRUE(m.answered(a, std::nullopt).isOk());
  EXPECT_TRUE(m.failed());
  EXPECT_TRUE(m.failure().empty());
  EXPECT_TRUE(m.finished());
}

TEST(SplitMessage, OnlyAWindowOfPiecesPastTheWriterIsHandedOut) {
  std::string stored;
  const uint64_t window = 3;
  SplitMessage m(1, (window + 4) * 10, 10, window, std::make_unique<StringWriter>(&stored));
  EXPECT_EQ(m.sendable(), window);
  std::vector<Piece> out;
  while (m.sendable() > 0) out.push_back(m.take());
  ASSERT_EQ(out.size(), window);
  ASSERT_TRUE(m.answered(out[0], text(10)).isOk());
  EXPECT_EQ(m.sendable(), 1u);  // the window moved by one piece
}

}  // namespace
}  // namespace mailark::engine
