#include <gtest/gtest.h>

#include "src/cli/archive_paths.h"

namespace mailark::cli {
namespace {

config::ArchiveConfig archiveConfig(const std::string& compression, int32_t store_threads) {
  config::ArchiveConfig a;
  a.path = "/var/lib/mailark";
  a.compression = compression;
  a.pack_size_mb = 64;
  a.store_threads = store_threads;
  return a;
}

TEST(ArchiveOptions, WorkersOnlyWhereThereIsCompressionToSpread) {
  PackStoreOptions zstd = packStoreOptions(archiveConfig("zstd", -1));
  EXPECT_EQ(zstd.compression, Compression::Zstd);
  EXPECT_EQ(zstd.workers, -1);  // one per core
  EXPECT_EQ(zstd.pack_size, uint64_t{64} << 20);

  PackStoreOptions none = packStoreOptions(archiveConfig("none", -1));
  EXPECT_EQ(none.compression, Compression::None);
  EXPECT_EQ(none.workers, 0);
}

TEST(ArchiveOptions, SmallMessageGroupsGoToWorkersEvenWithoutCompression) {
  config::ArchiveConfig grouped = archiveConfig("none", -1);
  grouped.small_message_group = 16;
  PackStoreOptions options = packStoreOptions(grouped);
  EXPECT_EQ(options.small_object_group, 16);
  EXPECT_EQ(options.workers, -1);
  EXPECT_EQ(packStoreOptions(archiveConfig("zstd", -1)).small_object_group, 0);
}

TEST(ArchiveOptions, StoreThreadsSetInTheConfigAreKept) {
  EXPECT_EQ(packStoreOptions(archiveConfig("none", 3)).workers, 3);
  EXPECT_EQ(packStoreOptions(archiveConfig("zstd", 0)).workers, 0);
  EXPECT_EQ(packStoreOptions(archiveConfig("zstd", 2)).workers, 2);
}

}  // namespace
}  // namespace mailark::cli
