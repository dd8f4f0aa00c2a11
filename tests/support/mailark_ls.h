// Reads `mailark ls --json` and `mailark run` output for integration tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailark::test {

struct Row {
  std::string mailbox, folder, sha256, internaldate, flags;
  std::string uidl;  // POP3 rows only
  uint32_t uidvalidity = 0, uid = 0;
  uint64_t size = 0;
};

// Every archived message (of `mailbox`, or all when empty). Each line must
// carry the documented fields; a missing one fails the calling test.
std::vector<Row> lsJson(const std::string& config, const std::string& mailbox = "");

// "fetched:   12 messages, ..." in `mailark run` output -> 12; -1 if absent.
long fetchedCount(const std::string& run_output);

}  // namespace mailark::test
