// The pack store with its worker pool (issue 5/6): objects interleaved over
// many writers come back byte-exact, identical objects committed at the same
// time are stored once, sync() waits for everything committed, background
// errors reach the writer, and the index is only asked on the owner thread.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "src/base/sha256.h"
#include "src/store/pack_content_store.h"
#include "src/store/pack_format.h"
#include "tests/store/memory_index.h"
#include "tests/store/test_dirs.h"

namespace mailark::store {
namespace {

using mailark::testing::MapIndex;
using mailark::testing::SmallTmpfs;
using mailark::testing::TempDir;
namespace fs = std::filesystem;

// The state database's role, in memory; counts questions asked off the
// thread that opened the store (the index is not thread-safe).
class OwnerOnlyIndex : public MapIndex {
 public:
  Result<std::optional<ObjectLocation>> findObject(const ObjectId& id) override {
    if (std::this_thread::get_id() != owner) ++foreign_calls;
    return MapIndex::findObject(id);
  }
  std::thread::id owner = std::this_thread::get_id();
  int foreign_calls = 0;
};

std::string randomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string mailText(size_t n, uint32_t seed) {
  static const char* kWords[] = {"meeting", "report", "budget", "the", "and", "please", "review", "thanks"};
  std::mt19937 rng(seed);
  std::string s = "Message-ID: <" + std::to_string(seed) + "@test>\r\n\r\n";
  while (s.size() < n) {
    s += kWords[rng() % 8];
    s += (rng() % 10 == 0) ? "\r\n" : " ";
  }
  s.resize(n);
  return s;
}

class PackWorkersTest : public ::testing::TestWithParam<int> {
 protected:
  std::unique_ptr<PackContentStore> open(const std::string& dir, Compression c = Compression::Zstd) {
    PackStoreOptions options;
    // 0..99: that many workers, one-chunk objects finished inline (the
    // default). Negative: every object handed over alone. 100 + n:
    // one-chunk objects handed over in groups of two (groups roll often).
    options.workers = std::abs(GetParam()) % 100;
    options.inline_small_objects = GetParam() >= 0;
    if (GetParam() >= 100) options.small_object_group = 2;
    options.compression = c;
    Result<std::unique_ptr<PackContentStore>> s = PackContentStore::open(dir, &index_, options);
    EXPECT_TRUE(s.isOk()) << s.status().toString();
    return s.isOk() ? std::move(*s) : nullptr;
  }
  std::vector<StoredObject> syncAndIndex(ContentStore& store) {
    Result<std::vector<StoredObject>> objects = store.sync();
    EXPECT_TRUE(objects.isOk()) << objects.status().toString();
    if (!objects) return {};
    for (const StoredObject& o : *objects) index_.rows[o.id] = o.where;
    store.indexed(*objects);
    return *objects;
  }
  std::string get(ContentStore& store, const ObjectId& id) {
    std::string out;
    Status s = store.read(id, [&](std::span<const char> b) {
      out.append(b.data(), b.size());
      return Status::ok();
    });
    EXPECT_TRUE(s.isOk()) << s.toString();
    return out;
  }
  // Frames actually in the packs, by walking them.
  size_t framesOnDisk(PackContentStore& store) {
    size_t n = 0;
    Result<std::vector<uint32_t>> ids = store.packIds();
    EXPECT_TRUE(ids.isOk());
    for (uint32_t id : *ids) {
      Result<PackScan> scan = store.scanPack(id, 0);
      EXPECT_TRUE(scan.isOk());
      EXPECT_EQ(scan->problem, "") << "pack " << id;
      n += scan->frames.size();
    }
    return n;
  }

  TempDir dir_;
  OwnerOnlyIndex index_;
};

TEST_P(PackWorkersTest, InterleavedWritersReadBackByteExact) {
  for (Compression c : {Compression::Zstd, Compression::None}) {
    TempDir dir;
    index_.rows.clear();
    auto store = open(dir.path(), c);
    ASSERT_TRUE(store);
    // Small, one-chunk, multi-chunk and spilled (> 256 KiB stored) objects,
    // text and incompressible, all open at once and fed round-robin in
    // uneven pieces.
    std::vector<std::string> bodies;
    for (uint32_t i = 0; i < 24; ++i) {
      size_t size = std::vector<size_t>{0, 1, 900, 20000, 70000, 300000, 1 << 20}[i % 7] + i;
      bodies.push_back(i % 3 == 0 ? randomBytes(size, i) : mailText(size, i));
    }
    std::vector<ObjectWriterPtr> writers;
    for (size_t i = 0; i < bodies.size(); ++i) {
      Result<ObjectWriterPtr> w = store->newObject();
      ASSERT_TRUE(w.isOk());
      writers.push_back(std::move(*w));
    }
    std::vector<size_t> pos(bodies.size(), 0);
    std::mt19937 rng(7);
    for (bool more = true; more;) {
      more = false;
      for (size_t i = 0; i < bodies.size(); ++i) {
        size_t n = std::min<size_t>(bodies[i].size() - pos[i], 1 + rng() % 40000);
        if (n == 0) continue;
        ASSERT_TRUE(writers[i]->append(std::span<const char>(bodies[i]).subspan(pos[i], n)).isOk());
        pos[i] += n;
        more = true;
      }
    }
    for (auto& w : writers) ASSERT_TRUE(w->commitAsync().isOk());
    std::vector<StoredObject> synced = syncAndIndex(*store);
    EXPECT_EQ(synced.size(), bodies.size());  // sync() waited for every one
    for (size_t i = 0; i < bodies.size(); ++i) {
      Result<ObjectId> id = writers[i]->wait();
      ASSERT_TRUE(id.isOk()) << id.status().toString();
      EXPECT_EQ(*id, digestHex(Sha256::of(bodies[i])));
      EXPECT_EQ(get(*store, *id), bodies[i]) << "object " << i;
    }
    writers.clear();
    EXPECT_EQ(framesOnDisk(*store), bodies.size());
  }
  EXPECT_EQ(index_.foreign_calls, 0);
}

TEST_P(PackWorkersTest, IdenticalObjectsCommittedTogetherAreStoredOnce) {
  auto store = open(dir_.path());
  ASSERT_TRUE(store);
  const std::string small = mailText(20000, 1);
  const std::string big = randomBytes(700000, 2);  // spills: cut back when dropped
  std::vector<ObjectWriterPtr> writers;
  for (int i = 0; i < 16; ++i) {
    Result<ObjectWriterPtr> w = store->newObject();
    ASSERT_TRUE(w.isOk());
    ASSERT_TRUE((*w)->append(i % 2 == 0 ? small : big).isOk());
    writers.push_back(std::move(*w));
  }
  for (auto& w : writers) ASSERT_TRUE(w->commitAsync().isOk());
  std::vector<StoredObject> synced = syncAndIndex(*store);
  ASSERT_EQ(synced.size(), 2u);
  for (int i = 0; i < 16; ++i) {
    Result<ObjectId> id = writers[static_cast<size_t>(i)]->wait();
    ASSERT_TRUE(id.isOk()) << id.status().toString();
    EXPECT_EQ(*id, digestHex(Sha256::of(i % 2 == 0 ? small : big)));
  }
  EXPECT_EQ(framesOnDisk(*store), 2u);
  EXPECT_EQ(get(*store, digestHex(Sha256::of(big))), big);

  // Indexed now: further copies, again several at once, add nothing.
  uintmax_t bytes = 0;
  for (const auto& e : fs::directory_iterator(dir_.path() + "/packs")) bytes += e.file_size();
  writers.clear();
  for (int i = 0; i < 6; ++i) {
    Result<ObjectWriterPtr> w = store->newObject();
    ASSERT_TRUE(w.isOk());
    ASSERT_TRUE((*w)->append(i % 2 == 0 ? small : big).isOk());
    ASSERT_TRUE((*w)->commitAsync().isOk());
    writers.push_back(std::move(*w));
  }
  EXPECT_TRUE(syncAndIndex(*store).empty());
  for (auto& w : writers) EXPECT_TRUE(w->wait().isOk());
  uintmax_t after = 0;
  for (const auto& e : fs::directory_iterator(dir_.path() + "/packs")) after += e.file_size();
  EXPECT_EQ(after, bytes);
  EXPECT_EQ(index_.foreign_calls, 0);
}

TEST_P(PackWorkersTest, WritersDroppedEarlyLeaveNothingAndLaterObjectsAreWhole) {
  auto store = open(dir_.path());
  ASSERT_TRUE(store);
  std::vector<std::string> kept;
  std::vector<ObjectWriterPtr> writers;
  for (uint32_t i = 0; i < 10; ++i) {
    Result<ObjectWriterPtr> w = store->newObject();
    ASSERT_TRUE(w.isOk());
    std::string body = randomBytes(i % 2 == 0 ? 5000 : 600000, 100 + i);
    ASSERT_TRUE((*w)->append(body).isOk());
    if (i % 3 == 0) continue;  // destroyed uncommitted: aborted in the background
    ASSERT_TRUE((*w)->commitAsync().isOk());
    kept.push_back(body);
    writers.push_back(std::move(*w));  // committed writers may also go before the object is done
  }
  writers.clear();
  std::vector<StoredObject> synced = syncAndIndex(*store);
  ASSERT_EQ(synced.size(), kept.size());
  for (const std::string& body : kept) EXPECT_EQ(get(*store, digestHex(Sha256::of(body))), body);
  EXPECT_EQ(framesOnDisk(*store), kept.size());
}

TEST_P(PackWorkersTest, DiskFullInTheBackgroundReachesTheWriterAndSpaceIsReturned) {
  SmallTmpfs small_fs("1m");
  if (!small_fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here";
  auto store = open(small_fs.path(), Compression::None);
  ASSERT_TRUE(store);
  Result<ObjectWriterPtr> ok_writer = store->newObject();
  Result<ObjectWriterPtr> big_writer = store->newObject();
  ASSERT_TRUE(ok_writer.isOk() && big_writer.isOk());
  const std::string small = mailText(3000, 5);
  ASSERT_TRUE((*ok_writer)->append(small).isOk());
  ASSERT_TRUE((*ok_writer)->commitAsync().isOk());
  ASSERT_TRUE(store->sync().isOk());  // the small one is in and synced first
  // Far more than fits: the error is found by a worker; append() reports it
  // once known, wait() always does.
  const std::string chunk = randomBytes(64 * 1024, 6);
  Status append_error;
  for (int i = 0; i < 48 && append_error.isOk(); ++i) append_error = (*big_writer)->append(chunk);
  Status commit = append_error.isOk() ? (*big_writer)->commitAsync() : append_error;
  Result<ObjectId> outcome = commit.isOk() ? (*big_writer)->wait() : Result<ObjectId>(commit);
  ASSERT_FALSE(outcome.isOk());
  EXPECT_EQ(outcome.status().code(), StatusCode::StorageFull) << outcome.status().toString();
  Result<std::vector<StoredObject>> synced = store->sync();
  ASSERT_TRUE(synced.isOk()) << synced.status().toString();
  EXPECT_TRUE(synced->empty());
  // Cut back: the pack holds exactly the small object's frame.
  EXPECT_EQ(fs::file_size(packPath(small_fs.path(), 1)), kPackHeaderSize + kFrameHeaderSize + small.size());
  EXPECT_EQ(get(*store, digestHex(Sha256::of(small))), small);
}

INSTANTIATE_TEST_SUITE_P(Workers, PackWorkersTest, ::testing::Values(0, 1, 3, -3, 103),
                         [](const ::testing::TestParamInfo<int>& p) {
                           if (p.param < 0) return "w" + std::to_string(-p.param) + "_all_handed_off";
                           if (p.param >= 100) return "w" + std::to_string(p.param % 100) + "_small_grouped";
                           return "w" + std::to_string(p.param);
                         });

}  // namespace
}  // namespace mailark::store
