#include "src/engine/folder_plan.h"

#include <gtest/gtest.h>

namespace mailark::engine {
namespace {

std::vector<uint32_t> uids(const std::vector<ServerMessage>& ms) {
  std::vector<uint32_t> out;
  for (const auto& m : ms) out.push_back(m.uid);
  return out;
}

TEST(FolderPlan, SkipsArchivedAndBelowRange) {
  // Exchange answers "UID 10:*" with UID 7 when nothing is newer.
  EXPECT_EQ(uids(messagesToFetch({{7, 100}}, 10, {})), std::vector<uint32_t>{});
  EXPECT_EQ(uids(messagesToFetch({{12, 1}, {10, 1}, {11, 1}, {11, 1}, {3, 1}}, 10, {11})),
            (std::vector<uint32_t>{10, 12}));
}

TEST(FolderPlan, BatchesByCountAndBytes) {
  std::vector<ServerMessage> todo = {{1, 10}, {2, 10}, {3, 10}, {4, 1000}, {5, 10}};
  auto b = fetchBatches(todo, 25, 10);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0], (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(b[1], (std::vector<uint32_t>{3}));
  EXPECT_EQ(b[2], (std::vector<uint32_t>{4}));
  EXPECT_EQ(b[3], (std::vector<uint32_t>{5}));
  EXPECT_EQ(fetchBatches(todo, 1u << 30, 2).size(), 3u);
  EXPECT_TRUE(fetchBatches({}, 10, 10).empty());
}

TEST(FolderPlan, CompleteStopsAtFirstGap) {
  EXPECT_EQ(completeUpTo(5, {6, 7, 9, 10}, {6, 7, 10}), 7u);
  EXPECT_EQ(completeUpTo(5, {6, 7, 9}, {6, 7, 9}), 9u);
  EXPECT_EQ(completeUpTo(5, {}, {}), 5u);
  EXPECT_EQ(completeUpTo(5, {6}, {}), 5u);
}

TEST(FolderPlan, StatusPassesOverOnlyEmptyAndUnchangedFolders) {
  FolderState row;
  row.uidnext = 42;
  row.highest_uid = 41;
  row.highest_modseq = 900;
  EXPECT_EQ(checkFolder(0, 42, 0, row), FolderCheck::Empty);
  EXPECT_EQ(checkFolder(0, 50, 0, row), FolderCheck::Empty);  // everything expunged
  EXPECT_EQ(checkFolder(7, 42, 0, row), FolderCheck::Unchanged);    // no CONDSTORE
  EXPECT_EQ(checkFolder(7, 42, 900, row), FolderCheck::Unchanged);  // no flag changed
  EXPECT_EQ(checkFolder(7, 43, 900, row), FolderCheck::Examine);    // new mail
  EXPECT_EQ(checkFolder(7, 42, 901, row), FolderCheck::Examine);    // a flag changed
  EXPECT_EQ(checkFolder(7, 0, 0, row), FolderCheck::Examine);       // no UIDNEXT given
  FolderState never_completed;  // uidnext 0: no complete pass yet
  EXPECT_EQ(checkFolder(7, 42, 0, never_completed), FolderCheck::Examine);
  FolderState no_modseq_yet = row;
  no_modseq_yet.highest_modseq = 0;
  EXPECT_EQ(checkFolder(7, 42, 901, no_modseq_yet), FolderCheck::Unchanged);
}

}  // namespace
}  // namespace mailark::engine
