#include "src/engine/folder_plan.h"

#include <algorithm>

namespace mailark::engine {

std::vector<ServerMessage> messagesToFetch(std::vector<ServerMessage> listed, uint32_t min_uid,
                                           const std::vector<uint32_t>& archived) {
  std::sort(listed.begin(), listed.end(), [](const ServerMessage& a, const ServerMessage& b) { return a.uid < b.uid; });
  std::vector<ServerMessage> out;
  uint32_t last = 0;
  for (const ServerMessage& m : listed) {
    if (m.uid < min_uid || m.uid == last) continue;  // below range, or listed twice
    last = m.uid;
    if (std::binary_search(archived.begin(), archived.end(), m.uid)) continue;
    out.push_back(m);
  }
  return out;
}

std::vector<std::vector<uint32_t>> fetchBatches(const std::vector<ServerMessage>& todo, uint64_t max_bytes,
                                                size_t max_count) {
  std::vector<std::vector<uint32_t>> batches;
  uint64_t bytes = 0;
  for (const ServerMessage& m : todo) {
    if (batches.empty() || batches.back().size() >= max_count || (bytes > 0 && bytes + m.size > max_bytes)) {
      batches.emplace_back();
      bytes = 0;
    }
    batches.back().push_back(m.uid);
    bytes += m.size;
  }
  return batches;
}

uint32_t completeUpTo(uint32_t previous, const std::vector<uint32_t>& listed,
                      const std::vector<uint32_t>& archived_now) {
  uint32_t high = previous;
  for (uint32_t uid : listed) {
    if (uid <= previous) continue;
    if (!std::binary_search(archived_now.begin(), archived_now.end(), uid)) break;
    high = uid;
  }
  return high;
}

FolderCheck checkFolder(uint64_t messages, uint32_t uidnext, uint64_t highest_modseq, const FolderState& row) {
  if (messages == 0) return FolderCheck::Empty;
  if (uidnext == 0 || row.uidnext != uidnext) return FolderCheck::Examine;
  return flagsChangedSince(row, highest_modseq) ? FolderCheck::Examine : FolderCheck::Unchanged;
}

bool flagsChangedSince(const FolderState& row, uint64_t highest_modseq) {
  return highest_modseq != 0 && row.highest_modseq != 0 && row.highest_uid != 0 &&
         highest_modseq != row.highest_modseq;
}

}  // namespace mailark::engine
