// Group commit: rows appear only after flush(), which syncs the store first.
#include "src/engine/message_recorder.h"

#include <gtest/gtest.h>

#include "tests/store/test_dirs.h"

namespace mailark::engine {
namespace {

using mailark::testing::TempDir;

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<StateStorePtr> s = openSqliteStateStore(dir_.path() + "/state.db");
    ASSERT_TRUE(s.isOk());
    state_ = std::move(*s);
    Result<ContentStorePtr> c = openPackContentStore(dir_.path(), state_.get(), {});
    ASSERT_TRUE(c.isOk());
    store_ = std::move(*c);
    Result<int64_t> mb = state_->mailboxId("a@x.test");
    ASSERT_TRUE(mb.isOk());
    Result<FolderState> f = state_->folder(*mb, "INBOX", 1);
    ASSERT_TRUE(f.isOk());
    folder_ = f->folder_id;
  }
  Status store(MessageRecorder& r, uint32_t uid, const std::string& body) {
    Result<ObjectWriterPtr> w = r.beginMessage();
    if (!w) return w.status();
    MAILARK_RETURN_IF_ERROR((*w)->append(body));
    MessageRecord m;
    m.uid = uid;
    return r.finishMessage(folder_, std::move(*w), m).status();
  }
  size_t rows() {
    Result<std::vector<uint32_t>> uids = state_->archivedUids(folder_, 0);
    EXPECT_TRUE(uids.isOk());
    return uids.isOk() ? uids->size() : 0;
  }

  TempDir dir_;
  StateStorePtr state_;
  ContentStorePtr store_;
  int64_t folder_ = 0;
};

TEST_F(RecorderTest, RowsAreRecordedOnlyByFlushInOneBatch) {
  MessageRecorder recorder(store_.get(), state_.get());
  ASSERT_TRUE(store(recorder, 1, "one").isOk());
  ASSERT_TRUE(store(recorder, 2, "two").isOk());
  ASSERT_TRUE(store(recorder, 3, "one").isOk());  // same bytes, own row
  EXPECT_EQ(rows(), 0u);
  ASSERT_TRUE(recorder.flush().isOk());
  EXPECT_EQ(rows(), 3u);
  EXPECT_EQ(recorder.queued(), 0u);
  Result<ArchiveTotals> t = state_->archiveTotals();
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ(t->objects, 2);
}

TEST_F(RecorderTest, FlushesByItselfPastTheQueueLimit) {
  RecorderLimits limits;
  limits.max_messages = 3;
  MessageRecorder recorder(store_.get(), state_.get(), limits);
  for (uint32_t uid = 1; uid <= 4; ++uid) ASSERT_TRUE(store(recorder, uid, "m" + std::to_string(uid)).isOk());
  EXPECT_EQ(rows(), 3u);
  EXPECT_EQ(recorder.queued(), 1u);
}

}  // namespace
}  // namespace mailark::engine
