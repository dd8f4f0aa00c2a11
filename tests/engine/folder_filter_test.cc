#include "src/engine/folder_filter.h"

#include <gtest/gtest.h>

namespace mailark::engine {
namespace {

TEST(FolderFilter, SkipsExchangeNonMailFoldersAndTheirChildren) {
  EXPECT_TRUE(isNonMailFolder("Calendar", "/"));
  EXPECT_TRUE(isNonMailFolder("calendar/United States holidays", "/"));
  EXPECT_TRUE(isNonMailFolder("Contacts/Recipient Cache", "/"));
  EXPECT_TRUE(isNonMailFolder("RSS Feeds", "/"));
  EXPECT_TRUE(isNonMailFolder("Tasks", ""));
}

TEST(FolderFilter, KeepsMailFolders) {
  EXPECT_FALSE(isNonMailFolder("INBOX", "/"));
  EXPECT_FALSE(isNonMailFolder("Sent Items", "/"));
  EXPECT_FALSE(isNonMailFolder("Outbox", "/"));
  EXPECT_FALSE(isNonMailFolder("Calendars of 2024", "/"));
  EXPECT_FALSE(isNonMailFolder("Projects/Calendar", "/"));
  EXPECT_FALSE(isNonMailFolder("Notes.old", "/"));
}

}  // namespace
}  // namespace mailark::engine
