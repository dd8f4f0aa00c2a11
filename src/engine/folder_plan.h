// Pure planning for one folder's sync: what to fetch, in which batches, and
// how far the folder may be marked complete. No I/O, so it is table-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mailark/state_store.h"

namespace mailark::engine {

struct ServerMessage {
  uint32_t uid = 0;
  uint64_t size = 0;  // RFC822.SIZE: an estimate on Exchange, used only for batching
};

// Server UIDs not yet archived. `listed` may arrive unordered and contain
// UIDs below `min_uid` (Exchange answers "UID n:*" with the last message even
// when n is past it): those are dropped. `archived` is ascending.
std::vector<ServerMessage> messagesToFetch(std::vector<ServerMessage> listed, uint32_t min_uid,
                                           const std::vector<uint32_t>& archived);

// Splits the fetch list into batches of at most `max_count` messages and
// about `max_bytes` (a single larger message forms its own batch).
std::vector<std::vector<uint32_t>> fetchBatches(const std::vector<ServerMessage>& todo, uint64_t max_bytes,
                                                size_t max_count);

// The highest UID h such that every listed UID <= h is archived, starting
// from `previous` (all UIDs <= previous were archived before). `listed` and
// `archived_now` are ascending.
uint32_t completeUpTo(uint32_t previous, const std::vector<uint32_t>& listed,
                      const std::vector<uint32_t>& archived_now);

// What a folder's STATUS (same UIDVALIDITY as `row`, the folder's archive
// row) says about the work it needs. Empty and Unchanged folders are passed
// over without EXAMINE: the same verdicts an EXAMINE would reach (no
// messages; UIDNEXT as at the last complete pass and, with CONDSTORE, no
// flag changed since). `highest_modseq` is 0 without CONDSTORE.
enum class FolderCheck { Examine, Empty, Unchanged };
// CONDSTORE: a flag changed since the pass that recorded `row` (the server
// reports `highest_modseq`, 0 without CONDSTORE); a flag sync comes first.
bool flagsChangedSince(const FolderState& row, uint64_t highest_modseq);
FolderCheck checkFolder(uint64_t messages, uint32_t uidnext, uint64_t highest_modseq, const FolderState& row);

}  // namespace mailark::engine
