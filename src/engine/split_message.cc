#include "src/engine/split_message.h"

#include <algorithm>

namespace mailark::engine {

SplitMessage::SplitMessage(uint32_t uid, uint64_t estimated_size, uint64_t piece_bytes, uint64_t window_pieces,
                           ObjectWriterPtr writer)
    : uid_(uid),
      piece_bytes_(std::max<uint64_t>(1, piece_bytes)),
      window_pieces_(std::max<uint64_t>(1, window_pieces)),
      writer_(std::move(writer)) {
  uint64_t offset = 0;
  do {
    unsent_.push_back({offset, piece_bytes_});
    offset += piece_bytes_;
  } while (offset < estimated_size);
}

size_t SplitMessage::sendable() const {
  if (failed() || !writer_) return 0;
  uint64_t limit = writer_->size() + window_pieces_ * piece_bytes_;
  size_t n = 0;
  for (const Piece& p : unsent_) {
    if (p.offset >= limit) break;
    ++n;
  }
  // Every piece planned came back full: the message goes on past the estimate.
  if (unsent_.empty() && !end_ && out_ == 0 && early_.empty() && !direct_) return 1;
  return n;
}

Piece SplitMessage::take() {
  if (unsent_.empty()) unsent_.push_back({writer_->size(), piece_bytes_});  // past the estimate
  Piece p = unsent_.front();
  unsent_.pop_front();
  ++out_;
  return p;
}

bool SplitMessage::beginDirect(const Piece& piece, uint64_t literal_size) {
  if (failed() || direct_ || writer_->size() != piece.offset || literal_size > piece.length) return false;
  direct_ = true;
  // Everything before this piece is in, so a short one marks the end.
  if (literal_size < piece.length) setEnd(piece.offset + literal_size);
  return !failed();
}

Status SplitMessage::endDirect() {
  direct_ = false;
  return drain();
}

Status SplitMessage::answered(const Piece& piece, std::optional<std::string> buffered) {
  --out_;
  if (failed() || !buffered) return failed() ? Status::ok() : drain();
  uint64_t got = buffered->size();
  if (got > piece.length) {
    fail("a piece came back longer than asked");
  } else if (piece.offset < writer_->size() || early_.count(piece.offset)) {
    fail("a piece came back twice");
  } else if (end_ && piece.offset >= *end_) {
    if (got != 0) fail("pieces disagree on where the message ends");
  } else if (end_ && got == 0) {
    fail("an empty piece before the end of the message");
  } else {
    // A piece shorter than asked ends the message there; an empty one only
    // says the end is at or before it, which the pieces before it settle.
    if (got > 0 && got < piece.length) setEnd(piece.offset + got);
    if (!failed()) early_[piece.offset] = {std::move(*buffered), piece.length};
  }
  return failed() ? Status::ok() : drain();
}

Status SplitMessage::giveBack(const Piece& piece, bool was_direct) {
  --out_;
  if (failed()) return Status::ok();
  Piece again = piece;
  if (was_direct) {
    direct_ = false;
    uint64_t stop = piece.offset + piece.length;
    if (end_) stop = std::min(stop, *end_);
    uint64_t have = writer_->size();
    if (have >= stop) return drain();  // all of it had arrived
    again = {have, stop - have};
  }
  auto at = std::lower_bound(unsent_.begin(), unsent_.end(), again.offset,
                             [](const Piece& p, uint64_t offset) { return p.offset < offset; });
  unsent_.insert(at, again);
  return drain();
}

void SplitMessage::fail(std::string why) {
  if (!failed_) failure_ = std::move(why);
  failed_ = true;
  unsent_.clear();
  early_.clear();
}

void SplitMessage::setEnd(uint64_t end) {
  if ((end_ && *end_ != end) || writer_->size() > end) return fail("pieces disagree on where the message ends");
  end_ = end;
  while (!unsent_.empty() && unsent_.back().offset >= end) unsent_.pop_back();
  for (auto it = early_.lower_bound(end); it != early_.end();) {
    if (!it->second.bytes.empty()) return fail("pieces disagree on where the message ends");
    it = early_.erase(it);
  }
  auto before = early_.lower_bound(end);
  if (before != early_.begin() && std::prev(before)->first + std::prev(before)->second.bytes.size() > end)
    fail("pieces disagree on where the message ends");
}

Status SplitMessage::drain() {
  while (!failed() && !direct_ && !early_.empty() && early_.begin()->first == writer_->size()) {
    Held held = std::move(early_.begin()->second);
    early_.erase(early_.begin());
    if (Status s = writer_->append(std::span<const char>(held.bytes.data(), held.bytes.size())); !s.isOk()) return s;
    if (held.bytes.size() < held.asked) setEnd(writer_->size());
  }
  return Status::ok();
}

}  // namespace mailark::engine
