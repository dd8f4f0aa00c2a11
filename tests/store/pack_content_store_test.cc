#include "src/store/pack_content_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "src/base/sha256.h"
#include "src/store/pack_format.h"
#include "tests/store/memory_index.h"
#include "tests/store/test_dirs.h"

namespace mailark::store {
namespace {

using mailark::testing::MapIndex;
using mailark::testing::SmallTmpfs;
using mailark::testing::TempDir;
namespace fs = std::filesystem;

std::string randomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string textBytes(size_t n) {
  std::string s;
  while (s.size() < n) s += "Subject: quarterly report\r\nFrom: someone@example.com\r\n\r\nHello there.\r\n";
  s.resize(n);
  return s;
}

class PackStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<PackContentStore> open(PackStoreOptions options = {}) {
    Result<std::unique_ptr<PackContentStore>> s = PackContentStore::open(dir_.path(), &index_, options);
    EXPECT_TRUE(s.isOk()) << s.status().toString();
    return s.isOk() ? std::move(*s) : nullptr;
  }
  Result<ObjectId> put(ContentStore& store, const std::string& bytes, size_t chunk = 7000) {
    Result<ObjectWriterPtr> w = store.newObject();
    if (!w) return w.status();
    for (size_t i = 0; i < bytes.size(); i += chunk) {
      MAILARK_RETURN_IF_ERROR((*w)->append(std::span<const char>(bytes.data() + i, std::min(chunk, bytes.size() - i))));
    }
    return (*w)->commit();
  }
  // sync + record in the index, as MessageRecorder::flush does.
  std::vector<StoredObject> syncAndIndex(ContentStore& store) {
    Result<std::vector<StoredObject>> objects = store.sync();
    EXPECT_TRUE(objects.isOk()) << objects.status().toString();
    if (!objects) return {};
    for (const StoredObject& o : *objects) index_.rows[o.id] = o.where;
    store.indexed(*objects);
    return *objects;
  }
  std::string get(ContentStore& store, const ObjectId& id, Status* status = nullptr) {
    std::string out;
    Status s = store.read(id, [&](std::span<const char> b) {
      out.append(b.data(), b.size());
      return Status::ok();
    });
    if (status) *status = s;
    else EXPECT_TRUE(s.isOk()) << s.toString();
    return out;
  }
  std::string pack1() const { return packPath(dir_.path(), 1); }

  TempDir dir_;
  MapIndex index_;
};

TEST_F(PackStoreTest, RoundTripsExactBytesWithAndWithoutCompression) {
  for (Compression c : {Compression::Zstd, Compression::None}) {
    PackStoreOptions options;
    options.compression = c;
    auto store = open(options);
    ASSERT_TRUE(store);
    for (const std::string& bytes : {std::string(), textBytes(20000), randomBytes(700000, 1), textBytes(3 << 20)}) {
      Result<ObjectId> id = put(*store, bytes);
      ASSERT_TRUE(id.isOk()) << id.status().toString();
      EXPECT_EQ(*id, digestHex(Sha256::of(bytes)));
      EXPECT_EQ(get(*store, *id), bytes);  // readable before sync
      syncAndIndex(*store);
      EXPECT_EQ(get(*store, *id), bytes);  // and after, through the index
    }
  }
  // Compression really happened for the text: the packs are much smaller
  // than two copies of 3 MiB of text.
  EXPECT_LT(fs::file_size(pack1()), 6u << 20);
}

TEST_F(PackStoreTest, SameBytesAreStoredOnce) {
  auto store = open();
  std::string bytes = textBytes(50000);
  ASSERT_TRUE(put(*store, bytes).isOk());
  uint64_t size = fs::file_size(pack1());
  ASSERT_TRUE(put(*store, bytes).isOk());  // pending duplicate
  EXPECT_EQ(syncAndIndex(*store).size(), 1u);
  ASSERT_TRUE(put(*store, bytes).isOk());  // indexed duplicate
  EXPECT_TRUE(syncAndIndex(*store).empty());
  EXPECT_EQ(fs::file_size(pack1()), size);
}

TEST_F(PackStoreTest, ConcurrentWritersGetTheirOwnPacksAndRollOver) {
  PackStoreOptions options;
  options.pack_size = 100000;
  options.compression = Compression::None;
  auto store = open(options);
  Result<ObjectWriterPtr> a = store->newObject();
  Result<ObjectWriterPtr> b = store->newObject();
  ASSERT_TRUE(a.isOk() && b.isOk());
  std::string x = randomBytes(60000, 2), y = randomBytes(60000, 3);
  ASSERT_TRUE((*a)->append(x).isOk());
  ASSERT_TRUE((*b)->append(y).isOk());
  Result<ObjectId> ida = (*a)->commit(), idb = (*b)->commit();
  ASSERT_TRUE(ida.isOk() && idb.isOk());
  for (uint32_t seed = 10; seed < 14; ++seed) ASSERT_TRUE(put(*store, randomBytes(60000, seed)).isOk());
  std::vector<StoredObject> objects = syncAndIndex(*store);
  ASSERT_EQ(objects.size(), 6u);
  std::set<uint32_t> packs;
  for (const StoredObject& o : objects) packs.insert(o.where.pack);
  EXPECT_GE(packs.size(), 3u);  // two at once, then rolled over at 100 KB
  EXPECT_EQ(get(*store, *ida), x);
  EXPECT_EQ(get(*store, *idb), y);
}

TEST_F(PackStoreTest, ObjectsWrittenWhileASyncRunsBelongToTheNextSync) {
  PackStoreOptions options;
  options.pack_size = 100000;
  options.compression = Compression::None;
  auto store = open(options);
  std::vector<ObjectId> first, second;
  for (uint32_t seed = 1; seed <= 2; ++seed) first.push_back(*put(*store, randomBytes(60000, seed)));
  Result<PendingSyncPtr> pending = store->beginSync();
  ASSERT_TRUE(pending.isOk());
  // The fsyncs run on another thread while the owner writes on, rolling
  // the synced packs over: their fds must stay open until finishSync.
  std::thread fsyncs([&] { EXPECT_TRUE((*pending)->run().isOk()); });
  for (uint32_t seed = 3; seed <= 6; ++seed) second.push_back(*put(*store, randomBytes(60000, seed)));
  fsyncs.join();
  Result<std::vector<StoredObject>> synced = store->finishSync(std::move(*pending), Status::ok());
  ASSERT_TRUE(synced.isOk()) << synced.status().toString();
  std::set<ObjectId> got;
  for (const StoredObject& o : *synced) got.insert(o.id);
  EXPECT_EQ(got, std::set<ObjectId>(first.begin(), first.end()));
  for (const StoredObject& o : *synced) index_.rows[o.id] = o.where;
  store->indexed(*synced);
  std::vector<StoredObject> next = syncAndIndex(*store);
  got.clear();
  for (const StoredObject& o : next) got.insert(o.id);
  EXPECT_EQ(got, std::set<ObjectId>(second.begin(), second.end()));
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    const ObjectId& id = seed <= 2 ? first[seed - 1] : second[seed - 3];
    EXPECT_EQ(get(*store, id), randomBytes(60000, seed)) << seed;
  }
}

TEST_F(PackStoreTest, FailedSyncLeavesItsObjectsForTheNextOne) {
  auto store = open();
  Result<ObjectId> id = put(*store, textBytes(5000));
  ASSERT_TRUE(id.isOk());
  Result<PendingSyncPtr> pending = store->beginSync();
  ASSERT_TRUE(pending.isOk());
  Result<std::vector<StoredObject>> failed =
      store->finishSync(std::move(*pending), Status(StatusCode::Io, "fsync: Input/output error"));
  EXPECT_FALSE(failed.isOk());
  std::vector<StoredObject> next = syncAndIndex(*store);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, *id);
  EXPECT_EQ(get(*store, *id), textBytes(5000));
}

TEST_F(PackStoreTest, TornTailIsCutBackOnOpenAndNothingIndexedIsLost) {
  std::string kept = textBytes(30000);
  ObjectId id;
  uint64_t end = 0;
  {
    auto store = open();
    Result<ObjectId> r = put(*store, kept);
    ASSERT_TRUE(r.isOk());
    id = *r;
    syncAndIndex(*store);
    end = fs::file_size(pack1());
  }
  // A crash mid-object: half a frame header and some payload.
  {
    std::ofstream f(pack1(), std::ios::app | std::ios::binary);
    f << std::string("MAOB\x01\x01", 6) << randomBytes(5000, 9);
  }
  ASSERT_GT(fs::file_size(pack1()), end);
  auto store = open();
  EXPECT_EQ(fs::file_size(pack1()), end);
  EXPECT_EQ(get(*store, id), kept);
  Result<ObjectId> next = put(*store, textBytes(1000) + "x");
  ASSERT_TRUE(next.isOk());
  syncAndIndex(*store);
  EXPECT_EQ(get(*store, *next), textBytes(1000) + "x");
}

TEST_F(PackStoreTest, WholeFramesPastTheIndexAreIndexedAgainAfterACrash) {
  std::string bytes = textBytes(12345);
  {
    auto store = open();
    ASSERT_TRUE(put(*store, bytes).isOk());
    ASSERT_TRUE(store->sync().isOk());  // fsynced, then "killed" before indexing
  }
  auto store = open();
  std::vector<StoredObject> recovered = syncAndIndex(*store);
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_EQ(recovered[0].id, digestHex(Sha256::of(bytes)));
  EXPECT_EQ(get(*store, recovered[0].id), bytes);
}

TEST_F(PackStoreTest, FlippedByteAndTruncatedPackAreReportedAsDamage) {
  auto store = open();
  Result<ObjectId> a = put(*store, textBytes(40000));
  Result<ObjectId> b = put(*store, textBytes(40001));
  ASSERT_TRUE(a.isOk() && b.isOk());
  syncAndIndex(*store);
  ObjectLocation wa = index_.rows[*a], wb = index_.rows[*b];
  {
    std::fstream f(pack1(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(wa.offset + kFrameHeaderSize + wa.stored_size / 2));
    char c = 0;
    f.seekg(f.tellp());
    f.get(c);
    f.seekp(static_cast<std::streamoff>(wa.offset + kFrameHeaderSize + wa.stored_size / 2));
    f.put(static_cast<char>(c ^ 0x20));
  }
  Status s = store->readAt(*a, wa, nullptr);
  EXPECT_EQ(s.code(), StatusCode::Io) << s.toString();
  EXPECT_NE(s.message().find("damaged"), std::string::npos);
  s = store->readAt(*b, wb, nullptr);
  EXPECT_TRUE(s.isOk()) << s.toString();
  fs::resize_file(pack1(), wb.offset + 100);
  s = store->readAt(*b, wb, nullptr);
  EXPECT_EQ(s.code(), StatusCode::Io);
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.toString();
}

TEST_F(PackStoreTest, DiskFullOnAppendIsStorageFullAndLeavesNothingBehind) {
  SmallTmpfs fs_small("1m");
  if (!fs_small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here";
  MapIndex index;
  Result<std::unique_ptr<PackContentStore>> store = PackContentStore::open(fs_small.path(), &index, {});
  ASSERT_TRUE(store.isOk());
  Result<ObjectId> small = put(**store, textBytes(1000));
  ASSERT_TRUE(small.isOk());
  uint64_t before = fs::file_size(packPath(fs_small.path(), 1));
  Result<ObjectId> big = put(**store, randomBytes(3 << 20, 5), 64 * 1024);
  ASSERT_FALSE(big.isOk());
  EXPECT_EQ(big.status().code(), StatusCode::StorageFull) << big.status().toString();
  EXPECT_EQ(fs::file_size(packPath(fs_small.path(), 1)), before);  // cut back
  Result<std::vector<StoredObject>> synced = (*store)->sync();
  ASSERT_TRUE(synced.isOk());
  ASSERT_EQ(synced->size(), 1u);  // only the small one
  EXPECT_EQ(synced->at(0).id, *small);
}

TEST_F(PackStoreTest, ReadOnlyNeitherWritesNorCutsTails) {
  { auto store = open(); ASSERT_TRUE(put(*store, "hello").isOk()); ASSERT_TRUE(store->sync().isOk()); }
  { std::ofstream f(pack1(), std::ios::app | std::ios::binary); f << "junk"; }
  uint64_t size = fs::file_size(pack1());
  PackStoreOptions ro;
  ro.read_only = true;
  auto store = open(ro);
  EXPECT_FALSE(store->newObject().isOk());
  EXPECT_EQ(fs::file_size(pack1()), size);
}

TEST_F(PackStoreTest, LegacyFileObjectsStayReadable) {
  Result<ContentStorePtr> legacy = openFileContentStore(dir_.path());
  ASSERT_TRUE(legacy.isOk());
  Result<ObjectId> id = put(**legacy, "old message\r\n");
  ASSERT_TRUE(id.isOk());
  auto store = open();
  Result<bool> has = store->contains(*id);
  ASSERT_TRUE(has.isOk());
  EXPECT_TRUE(*has);
  EXPECT_EQ(get(*store, *id), "old message\r\n");
}

}  // namespace
}  // namespace mailark::store
