// SplitMessage: one large message fetched in pieces
// (UID FETCH u BODY.PEEK[]<offset.length>) by every connection of its
// mailbox at once, and put back together in order.
//
// Exchange Online caps the bandwidth of each connection, so a 30 MB
// attachment on one connection takes as long as the rest of a mailbox on
// all of them. Pieces spread it. The store hashes bytes in order, so a
// piece goes straight into the object writer when it is the next one due,
// and is held in memory otherwise; only pieces within a window past what
// the writer holds are handed out, which bounds that memory (window x
// piece size per message).
//
// RFC822.SIZE is an estimate on Exchange: the true end is where a piece
// comes back shorter than asked. Pieces are planned up to the estimate;
// if all of them come back full, one more is asked for.
//
// Threading: the loop thread. Owned by its FolderWork.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "mailark/content_store.h"
#include "mailark/status.h"

namespace mailark::engine {

struct Piece {
  uint64_t offset = 0;
  uint64_t length = 0;
};

class SplitMessage {
 public:
  // Only pieces that start less than `window_pieces` pieces past what the
  // writer holds are handed out.
  SplitMessage(uint32_t uid, uint64_t estimated_size, uint64_t piece_bytes, uint64_t window_pieces,
               ObjectWriterPtr writer);

  uint32_t uid() const { return uid_; }
  // Pieces that may be asked for now.
  size_t sendable() const;
  // The next piece to ask for; counts it as out. REQUIRES: sendable() > 0.
  Piece take();

  // A piece's literal of `literal_size` bytes starts. True: it is the next
  // one due, and its bytes go straight into writer(); false: buffer them.
  bool beginDirect(const Piece& piece, uint64_t literal_size);
  ObjectWriter& writer() { return *writer_; }
  // The straight-in literal has ended.
  Status endDirect();
  // The server answered `piece`: with the buffered bytes, or (nullopt) with
  // a literal that went straight in.
  Status answered(const Piece& piece, std::optional<std::string> buffered);
  // The connection asking for `piece` was lost: it is asked for again from
  // what the writer holds. Pieces held aside may now be due.
  Status giveBack(const Piece& piece, bool was_direct);
  // The answers do not fit together (`why`), or a piece came back without
  // the message (no reason): the message is to be fetched again whole.
  void fail(std::string why);

  // No piece out, and either every byte is in or the message failed.
  bool finished() const { return out_ == 0 && (failed() || complete()); }
  bool failed() const { return failed_; }
  const std::string& failure() const { return failure_; }
  ObjectWriterPtr takeWriter() { return std::move(writer_); }

  std::string internaldate;
  std::string flags;

 private:
  bool complete() const { return end_ && writer_ && !direct_ && writer_->size() == *end_ && early_.empty(); }
  void setEnd(uint64_t end);
  Status drain();  // appends held pieces that are now due

  struct Held {
    std::string bytes;
    uint64_t asked = 0;
  };

  uint32_t uid_;
  uint64_t piece_bytes_;
  uint64_t window_pieces_;
  ObjectWriterPtr writer_;
  std::deque<Piece> unsent_;  // by offset
  size_t out_ = 0;
  bool direct_ = false;
  std::map<uint64_t, Held> early_;  // answered ahead of the writer, by offset
  std::optional<uint64_t> end_;     // the message's true size, once a piece came back short
  bool failed_ = false;
  std::string failure_;
};

}  // namespace mailark::engine
