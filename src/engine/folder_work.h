// FolderWork: one folder of a mailbox as the connections of its MailboxJob
// share it. The listing connection asks every folder's STATUS; one
// connection then plans each folder that may hold new mail (EXAMINE, flag
// sync, list new UIDs); the UID FETCH batches it makes (UID ranges) are then
// taken by every connection that has the folder selected, so a large folder
// is split across the mailbox's connections, and so are the pieces of a
// large message (SplitMessage).
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mailark/content_store.h"
#include "mailark/state_store.h"
#include "src/engine/folder_plan.h"
#include "src/engine/split_message.h"
#include "src/imap/untagged_data.h"

namespace mailark::engine {

// A message whose BODY[] was cut off by a lost connection after enough bytes
// to be worth keeping: a connection continues it with a partial fetch
// (BODY.PEEK[]<offset.length>) instead of starting over. The store hashes
// the bytes as they come, so the SHA-256 covers the whole message.
struct PartialMessage {
  uint32_t uid = 0;
  ObjectWriterPtr writer;  // the bytes received so far
  uint64_t total = 0;      // the literal size the server announced
  std::string internaldate;
  std::string flags;
};

struct FolderWork {
  // Checking: its STATUS is asked for (one round trip for every folder);
  // folders it shows empty or unchanged go straight to Done.
  enum class Stage { Checking, Waiting, Planning, Fetching, Done };

  std::string raw_name;  // as LIST sent it (modified UTF-7), for commands
  std::string name;      // decoded, as recorded
  Stage stage = Stage::Waiting;
  bool no_helpers = false;  // a second connection could not select it
  std::optional<imap::StatusData> status;  // its STATUS answer, if any

  // For taking the largest folders first: bytes (STATUS=SIZE) or messages.
  uint64_t sizeHint() const { return status ? status->size.value_or(status->messages.value_or(0)) : 0; }

  // From the planning EXAMINE.
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 0;
  uint64_t modseq = 0;
  FolderState state;
  std::vector<ServerMessage> listed;  // UIDs above the progress when planned

  std::deque<std::vector<uint32_t>> batches;  // not yet sent
  std::deque<PartialMessage> partials;        // cut off, waiting to be continued
  // Large messages, fetched in pieces by every connection on the folder: a
  // few at a time (each holds a store writer and up to a window of pieces).
  static constexpr size_t kMaxSplits = 2;
  std::deque<ServerMessage> large;  // not started
  std::list<SplitMessage> splits;   // started
  size_t in_flight = 0;  // batches, continuations and pieces out, over all connections
  std::set<uint32_t> requested;
  std::set<uint32_t> received;
  std::vector<uint32_t> missing;  // asked for, answered without them
  bool retried_missing = false;
  bool gaps = false;  // some UIDs never came: progress must not pass them

  // Pieces that may be asked for, plus split messages that are finished
  // and only wait for a connection on the folder to record them.
  size_t sendablePieces() const {
    size_t n = 0;
    for (const SplitMessage& m : splits) n += m.finished() ? 1 : m.sendable();
    return n;
  }
  bool canStartSplit() const { return !large.empty() && splits.size() < kMaxSplits; }
  // Units a connection could send now.
  size_t queued() const {
    return batches.size() + partials.size() + sendablePieces() + (canStartSplit() ? large.size() : 0);
  }
  bool hasWork() const { return queued() > 0; }
  bool drained() const {
    return stage == Stage::Fetching && !hasWork() && in_flight == 0 && splits.empty() && large.empty();
  }
};

}  // namespace mailark::engine
