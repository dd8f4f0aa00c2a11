#include "src/store/file_content_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mailark/content_store.h"
#include "src/base/sha256.h"
#include "src/store/file_object_writer.h"
#include "src/store/object_layout.h"
#include "tests/store/test_dirs.h"

namespace mailark {
namespace {

using namespace std::string_literals;
using testing::countFiles;
using testing::SmallTmpfs;
using testing::TempDir;

// Deterministic bytes covering every octet value, NUL and CR/LF included.
std::string eightBitBytes(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 0x12345678;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

// Appends `bytes` in chunks whose sizes cycle through `chunk_sizes`.
Result<ObjectId> writeChunked(ContentStore& store, const std::string& bytes,
                              const std::vector<size_t>& chunk_sizes) {
  Result<ObjectWriterPtr> w = store.newObject();
  if (!w.isOk()) return w.status();
  size_t pos = 0;
  for (size_t i = 0; pos < bytes.size(); ++i) {
    size_t n = std::min(chunk_sizes[i % chunk_sizes.size()], bytes.size() - pos);
    MAILARK_RETURN_IF_ERROR((*w)->append(std::span<const char>(bytes.data() + pos, n)));
    pos += n;
  }
  if ((*w)->size() != bytes.size()) return internalError("size() disagrees with bytes appended");
  return (*w)->commit();
}

Result<ObjectId> writeWhole(ContentStore& store, const std::string& bytes) {
  return writeChunked(store, bytes, {bytes.empty() ? 1 : bytes.size()});
}

struct ReadBack {
  Status status;
  std::string bytes;
  int chunks = 0;
  size_t largest_chunk = 0;
};

ReadBack readAll(ContentStore& store, const ObjectId& id) {
  ReadBack out;
  out.status = store.read(id, [&](std::span<const char> chunk) {
    out.bytes.append(chunk.data(), chunk.size());
    ++out.chunks;
    out.largest_chunk = std::max(out.largest_chunk, chunk.size());
    return Status::ok();
  });
  return out;
}

std::string hexOf(const std::string& bytes) { return digestHex(Sha256::of(bytes)); }

class FileContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    root_ = dir_.path() + "/archive";  // not yet existing: open must create it
    Result<ContentStorePtr> s = openFileContentStore(root_);
    ASSERT_TRUE(s.isOk()) << s.status().toString();
    store_ = std::move(s).value();
  }

  TempDir dir_;
  std::string root_;
  ContentStorePtr store_;
};

TEST_F(FileContentStoreTest, EightBitRoundTripIsNamedBySha256) {
  const std::string bytes = eightBitBytes(70000) + "\r\n\0tail\xff"s;
  Result<ObjectId> id = writeChunked(*store_, bytes, {1, 7, 4096});
  ASSERT_TRUE(id.isOk()) << id.status().toString();
  EXPECT_EQ(*id, hexOf(bytes));

  const std::string path = store::objectPath(root_, *id);
  EXPECT_EQ(path, root_ + "/objects/" + id->substr(0, 2) + "/" + *id);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), bytes.size());
  EXPECT_EQ(st.st_mode & 0027, 0u) << "objects must not be group-writable or world-readable";

  Result<bool> has = store_->contains(*id);
  ASSERT_TRUE(has.isOk());
  EXPECT_TRUE(*has);
  ReadBack back = readAll(*store_, *id);
  ASSERT_TRUE(back.status.isOk()) << back.status.toString();
  EXPECT_EQ(back.bytes, bytes);
  EXPECT_EQ(countFiles(root_ + "/tmp"), 0);
}

TEST_F(FileContentStoreTest, FiveMegabytesInOddChunksStreamsBack) {
  const std::string bytes = eightBitBytes(5 * 1024 * 1024 + 13);
  Result<ObjectId> id = writeChunked(*store_, bytes, {4093, 1, 300007, 65536, 262144, 262145});
  ASSERT_TRUE(id.isOk()) << id.status().toString();
  EXPECT_EQ(*id, hexOf(bytes));
  ReadBack back = readAll(*store_, *id);
  ASSERT_TRUE(back.status.isOk()) << back.status.toString();
  EXPECT_TRUE(back.bytes == bytes) << "read-back differs from the 5 MB written";
  // Streamed in bounded chunks, never handed over whole.
  EXPECT_GT(back.chunks, 1);
  EXPECT_LE(back.largest_chunk, 256u * 1024);
}

TEST_F(FileContentStoreTest, EmptyObjectRoundTrips) {
  Result<ObjectId> id = writeWhole(*store_, "");
  ASSERT_TRUE(id.isOk()) << id.status().toString();
  EXPECT_EQ(*id, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ReadBack back = readAll(*store_, *id);
  EXPECT_TRUE(back.status.isOk());
  EXPECT_EQ(back.bytes, "");
}

TEST_F(FileContentStoreTest, IdenticalBytesAreStoredOnce) {
  const std::string bytes = "Subject: hi\r\n\r\nsame body\r\n";
  Result<ObjectId> first = writeWhole(*store_, bytes);
  Result<ObjectId> second = writeChunked(*store_, bytes, {3});
  ASSERT_TRUE(first.isOk());
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(countFiles(root_ + "/objects"), 1);
  EXPECT_EQ(countFiles(root_ + "/tmp"), 0);
  Result<ObjectId> other = writeWhole(*store_, bytes + "x");
  ASSERT_TRUE(other.isOk());
  EXPECT_NE(*other, *first);
  EXPECT_EQ(countFiles(root_ + "/objects"), 2);
}

TEST_F(FileContentStoreTest, AbortAndDestructorLeaveNothing) {
  {
    Result<ObjectWriterPtr> w = store_->newObject();
    ASSERT_TRUE(w.isOk());
    ASSERT_TRUE((*w)->append(std::string_view("partial message")).isOk());
    EXPECT_EQ(countFiles(root_ + "/tmp"), 1);
    (*w)->abort();
    EXPECT_EQ(countFiles(root_ + "/tmp"), 0);
    Result<ObjectId> late = (*w)->commit();
    ASSERT_FALSE(late.isOk());
    EXPECT_EQ(late.status().code(), StatusCode::Internal);
    EXPECT_FALSE((*w)->append(std::string_view("more")).isOk());
  }
  {
    Result<ObjectWriterPtr> w = store_->newObject();
    ASSERT_TRUE(w.isOk());
    ASSERT_TRUE((*w)->append(std::string_view(eightBitBytes(300000))).isOk());
  }  // destroyed uncommitted
  EXPECT_EQ(countFiles(root_ + "/tmp"), 0);
  EXPECT_EQ(countFiles(root_ + "/objects"), 0);
  Result<bool> has = store_->contains(hexOf("partial message"));
  ASSERT_TRUE(has.isOk());
  EXPECT_FALSE(*has);
}

TEST_F(FileContentStoreTest, CommitTwiceIsRefused) {
  Result<ObjectWriterPtr> w = store_->newObject();
  ASSERT_TRUE(w.isOk());
  ASSERT_TRUE((*w)->append(std::string_view("once")).isOk());
  ASSERT_TRUE((*w)->commit().isOk());
  Result<ObjectId> again = (*w)->commit();
  ASSERT_FALSE(again.isOk());
  EXPECT_EQ(again.status().code(), StatusCode::Internal);
  // The committed object survives the writer.
  w = Result<ObjectWriterPtr>(internalError("drop writer"));
  EXPECT_EQ(readAll(*store_, hexOf("once")).bytes, "once");
}

TEST_F(FileContentStoreTest, OpenRemovesStaleTempFilesAndKeepsObjects) {
  Result<ObjectId> id = writeWhole(*store_, "keep me");
  ASSERT_TRUE(id.isOk());
  std::ofstream(root_ + "/tmp/obj.99999.0") << "crashed writer";
  std::ofstream(root_ + "/tmp/leftover") << "x";
  ASSERT_EQ(countFiles(root_ + "/tmp"), 2);

  Result<ContentStorePtr> reopened = openFileContentStore(root_);
  ASSERT_TRUE(reopened.isOk()) << reopened.status().toString();
  EXPECT_EQ(countFiles(root_ + "/tmp"), 0);
  EXPECT_EQ(readAll(**reopened, *id).bytes, "keep me");
}

TEST_F(FileContentStoreTest, MissingAndMalformedIdsAreNotFound) {
  const ObjectId absent = hexOf("never written");
  ReadBack back = readAll(*store_, absent);
  EXPECT_EQ(back.status.code(), StatusCode::NotFound);
  EXPECT_EQ(back.chunks, 0);
  Result<bool> has = store_->contains(absent);
  ASSERT_TRUE(has.isOk());
  EXPECT_FALSE(*has);

  for (const ObjectId& bad : {ObjectId("../../../etc/passwd"), ObjectId(64, 'A'), ObjectId("")}) {
    EXPECT_EQ(readAll(*store_, bad).status.code(), StatusCode::NotFound) << bad;
    Result<bool> h = store_->contains(bad);
    ASSERT_TRUE(h.isOk());
    EXPECT_FALSE(*h) << bad;
  }
}

TEST_F(FileContentStoreTest, SinkErrorStopsTheRead) {
  Result<ObjectId> id = writeWhole(*store_, eightBitBytes(1024 * 1024));
  ASSERT_TRUE(id.isOk());
  int calls = 0;
  Status s = store_->read(*id, [&](std::span<const char>) {
    ++calls;
    return Status(StatusCode::Cancelled, "stop");
  });
  EXPECT_EQ(s.code(), StatusCode::Cancelled);
  EXPECT_EQ(calls, 1);
}

TEST_F(FileContentStoreTest, OpenOnAFileIsAnError) {
  std::ofstream(dir_.path() + "/plainfile") << "x";
  Result<ContentStorePtr> s = openFileContentStore(dir_.path() + "/plainfile");
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().code(), StatusCode::Io);
}

// ENOSPC without a full disk: the writer adopts a descriptor on /dev/full,
// reached through a symlink in tmp/ so that the writer's cleanup unlinks
// the symlink, never the device.
TEST_F(FileContentStoreTest, DevFullWriteIsStorageFullAndSticky) {
  const std::string link = root_ + "/tmp/full";
  ASSERT_EQ(::symlink("/dev/full", link.c_str()), 0) << std::strerror(errno);
  int fd = ::open(link.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  store::FileObjectWriter w(root_, link, store::UniqueFd(fd));

  const std::string chunk = eightBitBytes(64 * 1024);
  Status first_error;
  for (int i = 0; i < 16 && first_error.isOk(); ++i) first_error = w.append(chunk);
  ASSERT_EQ(first_error.code(), StatusCode::StorageFull) << first_error.toString();
  EXPECT_NE(first_error.message().find("disk is full"), std::string::npos);

  Status again = w.append(std::string_view("x"));
  EXPECT_EQ(again.code(), StatusCode::StorageFull);
  EXPECT_EQ(again.message(), first_error.message());
  Result<ObjectId> c = w.commit();
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), StatusCode::StorageFull);

  EXPECT_FALSE(std::filesystem::is_symlink(link)) << "failed writer must remove its temp file";
  EXPECT_TRUE(std::filesystem::exists("/dev/full"));
  w.abort();  // still safe after the failure
}

// A real full file system: a 1 MiB tmpfs (needs CAP_SYS_ADMIN, else skipped).
TEST(FileContentStoreDiskFull, FullTmpfsIsStorageFullAndSpaceIsReturned) {
  SmallTmpfs fs("1m");
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount tmpfs here (needs root/CAP_SYS_ADMIN)";
  Result<ContentStorePtr> s = openFileContentStore(fs.path() + "/archive");
  ASSERT_TRUE(s.isOk()) << s.status().toString();

  Result<ObjectId> big = writeChunked(**s, eightBitBytes(3 * 1024 * 1024), {100000});
  ASSERT_FALSE(big.isOk());
  EXPECT_EQ(big.status().code(), StatusCode::StorageFull) << big.status().toString();
  EXPECT_EQ(countFiles(fs.path() + "/archive/tmp"), 0);

  // The failed writer gave its space back, so a small message still fits.
  Result<ObjectId> small = writeWhole(**s, "small message");
  ASSERT_TRUE(small.isOk()) << small.status().toString();
  EXPECT_EQ(readAll(**s, *small).bytes, "small message");
}

TEST(ObjectLayout, AcceptsOnlyLowerCaseSha256Hex) {
  EXPECT_TRUE(store::isObjectId(std::string(64, 'a')));
  EXPECT_TRUE(store::isObjectId(hexOf("x")));
  EXPECT_FALSE(store::isObjectId(std::string(63, 'a')));
  EXPECT_FALSE(store::isObjectId(std::string(65, 'a')));
  EXPECT_FALSE(store::isObjectId(std::string(64, 'F')));
  EXPECT_FALSE(store::isObjectId(std::string(62, 'a') + "/."));
}

TEST(ErrnoStatus, DiskFullCodesAreStorageFull) {
  EXPECT_EQ(errnoStatus(ENOSPC, "write x").code(), StatusCode::StorageFull);
  EXPECT_EQ(errnoStatus(EDQUOT, "write x").code(), StatusCode::StorageFull);
  EXPECT_EQ(errnoStatus(EIO, "write x").code(), StatusCode::Io);
}

}  // namespace
}  // namespace mailark
