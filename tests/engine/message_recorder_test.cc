// Group commit: rows appear only once a sync covered their bytes: by
// flush(), or by a batch whose fsyncs ran in the background.
#include "src/engine/message_recorder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "src/base/sha256.h"
#include "tests/store/test_dirs.h"

namespace mailark::engine {
namespace {

using mailark::testing::SmallTmpfs;
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
    return r.finishMessage(folder_, std::move(*w), m);
  }
  // uid -> object id of every recorded row.
  std::map<uint32_t, ObjectId> rowIds() {
    std::map<uint32_t, ObjectId> out;
    Status s = state_->listMessages("a@x.test", [&](const ArchivedMessage& m) { out[m.message.uid] = m.message.sha256; });
    EXPECT_TRUE(s.isOk()) << s.toString();
    return out;
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

// Limits under which every `n` messages start a batch.
RecorderLimits batchOf(size_t n) {
  RecorderLimits limits;
  limits.max_messages = n;
  return limits;
}

// Counts the sync thread's notifications, so a test can wait for one.
class SyncDone {
 public:
  std::function<void()> notifier() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu_);
      ++count_;
      cv_.notify_all();
    };
  }
  bool waitFor(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return count_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

TEST_F(RecorderTest, PastTheQueueLimitABatchSyncsInTheBackgroundAndIsRecordedWhenDone) {
  MessageRecorder recorder(store_.get(), state_.get(), batchOf(3));
  SyncDone done;
  recorder.setSyncNotifier(done.notifier());
  for (uint32_t uid = 1; uid <= 3; ++uid) ASSERT_TRUE(store(recorder, uid, "m" + std::to_string(uid)).isOk());
  ASSERT_TRUE(done.waitFor(1)) << "the third message should have started a background sync";
  EXPECT_EQ(rows(), 0u) << "rows are recorded on the owner's thread only";
  EXPECT_EQ(recorder.queued(), 3u);
  recorder.onSyncDone();
  EXPECT_EQ(rows(), 3u);
  ASSERT_TRUE(store(recorder, 4, "m4").isOk());
  EXPECT_EQ(recorder.queued(), 1u);
  ASSERT_TRUE(recorder.flush().isOk());
  EXPECT_EQ(rows(), 4u);
}

TEST_F(RecorderTest, WithoutANotifierLaterMessagesRecordTheBatch) {
  MessageRecorder recorder(store_.get(), state_.get(), batchOf(2));
  ASSERT_TRUE(store(recorder, 1, "one").isOk());
  ASSERT_TRUE(store(recorder, 2, "two").isOk());  // starts the batch
  // Four more are a whole batch behind it: by then it has been recorded
  // (found done, or waited for) and the next one started.
  for (uint32_t uid = 3; uid <= 6; ++uid) ASSERT_TRUE(store(recorder, uid, "m" + std::to_string(uid)).isOk());
  EXPECT_EQ(rows(), 2u);
  EXPECT_EQ(recorder.queued(), 4u);
  ASSERT_TRUE(recorder.flush().isOk());
  EXPECT_EQ(rows(), 6u);
  EXPECT_EQ(recorder.queued(), 0u);
}

TEST_F(RecorderTest, StepAddedDuringABackgroundSyncRunsAfterThatBatchIsRecorded) {
  MessageRecorder recorder(store_.get(), state_.get(), batchOf(2));
  SyncDone done;
  recorder.setSyncNotifier(done.notifier());
  ASSERT_TRUE(store(recorder, 1, "one").isOk());
  ASSERT_TRUE(store(recorder, 2, "two").isOk());
  size_t rows_seen = 99;
  ASSERT_TRUE(recorder.afterRecorded("progress", [&] {
    rows_seen = rows();
    return Status::ok();
  }).isOk());
  EXPECT_EQ(rows_seen, 99u) << "ran before the rows it follows were recorded";
  ASSERT_TRUE(done.waitFor(1));
  recorder.onSyncDone();
  EXPECT_EQ(rows_seen, 2u);
}

// Fault injection around a real store: each sync's fsyncs go through
// `run` (the number of the sync, from 0, and the real fsyncs), so a test
// can fail them or hold them back.
class SyncHook final : public ContentStore {
 public:
  using Run = std::function<Status(int n, PendingSync& real)>;
  SyncHook(ContentStore* inner, Run run) : inner_(inner), run_(std::move(run)) {}
  Result<ObjectWriterPtr> newObject() override { return inner_->newObject(); }
  Result<bool> contains(const ObjectId& id) override { return inner_->contains(id); }
  Status read(const ObjectId& id, const std::function<Status(std::span<const char>)>& sink) override {
    return inner_->read(id, sink);
  }
  Result<PendingSyncPtr> beginSync() override {
    Result<PendingSyncPtr> real = inner_->beginSync();
    if (!real) return real.status();
    return PendingSyncPtr(new Hooked(std::move(*real), syncs_++, &run_));
  }
  Result<std::vector<StoredObject>> finishSync(PendingSyncPtr pending, const Status& ran) override {
    return inner_->finishSync(std::move(static_cast<Hooked*>(pending.get())->real), ran);
  }
  void indexed(const std::vector<StoredObject>& objects) override { inner_->indexed(objects); }

 private:
  struct Hooked final : PendingSync {
    Hooked(PendingSyncPtr r, int n, Run* hook) : real(std::move(r)), n(n), hook(hook) {}
    Status run() override { return (*hook)(n, *real); }
    PendingSyncPtr real;
    int n;
    Run* hook;
  };
  ContentStore* inner_;
  Run run_;
  int syncs_ = 0;
};

// Holds every sync's fsyncs until the test lets that many through.
class SyncGate {
 public:
  SyncHook::Run hook() {
    return [this](int n, PendingSync& real) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return n < open_; });
      return real.run();
    };
  }
  void letThrough(int syncs) {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = syncs;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int open_ = 0;
};

TEST_F(RecorderTest, AQueueAWholeBatchBehindWaitsForTheBatchUnderWay) {
  SyncGate gate;
  SyncHook gated(store_.get(), gate.hook());
  std::atomic<bool> opened{false};
  std::jthread opener;  // joined on any return
  {
    MessageRecorder recorder(&gated, state_.get(), batchOf(2));
    // However the test ends, the gate opens before the recorder is gone.
    struct OpenAtEnd {
      SyncGate& gate;
      ~OpenAtEnd() { gate.letThrough(1 << 20); }
    } open_at_end{gate};
    ASSERT_TRUE(store(recorder, 1, "one").isOk());
    ASSERT_TRUE(store(recorder, 2, "two").isOk());  // batch 0 starts, held at the gate
    for (uint32_t uid = 3; uid <= 5; ++uid) ASSERT_TRUE(store(recorder, uid, "m" + std::to_string(uid)).isOk());
    EXPECT_EQ(rows(), 0u);
    // The sixth puts the queue a whole batch behind: finishMessage() must
    // wait for batch 0, which only the opener's thread lets through.
    opener = std::jthread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      opened = true;
      gate.letThrough(1 << 20);
    });
    ASSERT_TRUE(store(recorder, 6, "six").isOk());
    EXPECT_TRUE(opened) << "returned without waiting for the batch under way";
    EXPECT_EQ(rows(), 2u);
    ASSERT_TRUE(recorder.flush().isOk());
    EXPECT_EQ(rows(), 6u);
  }
}

TEST_F(RecorderTest, FailedBackgroundFsyncIsReportedNextAndItsBatchRecordedLater) {
  SyncHook failing(store_.get(), [](int n, PendingSync& real) {
    return n == 0 ? Status(StatusCode::Io, "fsync packs/pack-000001: Input/output error") : real.run();
  });
  MessageRecorder recorder(&failing, state_.get(), batchOf(2));
  SyncDone done;
  recorder.setSyncNotifier(done.notifier());
  ASSERT_TRUE(store(recorder, 1, "one").isOk());
  ASSERT_TRUE(store(recorder, 2, "two").isOk());
  ASSERT_TRUE(done.waitFor(1));
  recorder.onSyncDone();
  EXPECT_EQ(rows(), 0u) << "rows recorded although their fsync failed";
  EXPECT_EQ(recorder.queued(), 2u);
  Status next = store(recorder, 3, "three");
  EXPECT_EQ(next.code(), StatusCode::Io) << next.toString();
  EXPECT_NE(next.message().find("Input/output error"), std::string::npos) << next.toString();
  ASSERT_TRUE(recorder.flush().isOk());
  std::map<uint32_t, ObjectId> ids = rowIds();
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[1], digestHex(Sha256::of(std::string("one"))));
  EXPECT_EQ(ids[3], digestHex(Sha256::of(std::string("three"))));
  Result<ArchiveTotals> t = state_->archiveTotals();
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ(t->objects, 3) << "the objects of the failed sync are indexed by the next";
}

TEST_F(RecorderTest, StepsAfterRecordedWaitForTheRowsQueuedBeforeThem) {
  MessageRecorder recorder(store_.get(), state_.get());
  int ran = 0;
  // Nothing waiting: the step runs at once.
  ASSERT_TRUE(recorder.afterRecorded("first", [&] { ++ran; return Status::ok(); }).isOk());
  EXPECT_EQ(ran, 1);
  ASSERT_TRUE(store(recorder, 1, "one").isOk());
  size_t rows_seen = 0;
  ASSERT_TRUE(recorder.afterRecorded("second", [&] {
    rows_seen = rows();
    ++ran;
    return Status::ok();
  }).isOk());
  EXPECT_EQ(ran, 1) << "ran before the row it follows was recorded";
  ASSERT_TRUE(store(recorder, 2, "two").isOk());
  ASSERT_TRUE(recorder.flush().isOk());
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(rows_seen, 2u);
  ASSERT_TRUE(recorder.flush().isOk());
  EXPECT_EQ(ran, 2) << "a step runs once";
}

TEST_F(RecorderTest, FlushReturnsAFailedStepsErrorNamingIt) {
  MessageRecorder recorder(store_.get(), state_.get());
  ASSERT_TRUE(store(recorder, 1, "one").isOk());
  bool later_ran = false;
  ASSERT_TRUE(recorder.afterRecorded("progress of INBOX", [] { return Status(StatusCode::Io, "disk I/O error"); }).isOk());
  ASSERT_TRUE(recorder.afterRecorded("progress of Sent", [&] { later_ran = true; return Status::ok(); }).isOk());
  Status s = recorder.flush();
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("progress of INBOX"), std::string::npos) << s.toString();
  EXPECT_NE(s.message().find("disk I/O error"), std::string::npos) << s.toString();
  EXPECT_TRUE(later_ran) << "one failed step must not hold back the others";
  EXPECT_EQ(rows(), 1u);
}

std::string body(uint32_t n, size_t size) {
  std::string s = "Message-ID: <" + std::to_string(n) + "@x.test>\r\n\r\n";
  std::minstd_rand rng(n);
  while (s.size() < size) s += (rng() % 7 == 0) ? "\r\n" : "word ";
  s.resize(size);
  return s;
}

TEST_F(RecorderTest, FlushWaitsForEveryObjectTheWorkersAreFinishing) {
  for (int workers : {0, 2}) {
    TempDir dir;
    Result<StateStorePtr> st = openSqliteStateStore(dir.path() + "/state.db");
    ASSERT_TRUE(st.isOk());
    PackStoreOptions options;
    options.workers = workers;
    Result<ContentStorePtr> cs = openPackContentStore(dir.path(), st->get(), options);
    ASSERT_TRUE(cs.isOk());
    Result<int64_t> mb = (*st)->mailboxId("a@x.test");
    Result<FolderState> f = (*st)->folder(*mb, "INBOX", 1);
    ASSERT_TRUE(f.isOk());
    store_.reset();
    state_ = std::move(*st);
    store_ = std::move(*cs);
    folder_ = f->folder_id;
    MessageRecorder recorder(store_.get(), state_.get());
    std::map<uint32_t, std::string> sent;
    for (uint32_t uid = 1; uid <= 300; ++uid) {
      // Every fifth message repeats an earlier one: its own row, one object.
      uint32_t n = uid % 5 == 0 ? uid - 3 : uid;
      sent[uid] = body(n, std::vector<size_t>{300, 20000, 90000, 400000}[n % 4]);
      ASSERT_TRUE(store(recorder, uid, sent[uid]).isOk());
    }
    ASSERT_TRUE(recorder.flush().isOk());
    std::map<uint32_t, ObjectId> ids = rowIds();
    ASSERT_EQ(ids.size(), sent.size()) << "workers=" << workers;
    for (const auto& [uid, bytes] : sent) EXPECT_EQ(ids[uid], digestHex(Sha256::of(bytes))) << uid;
    Result<ArchiveTotals> t = state_->archiveTotals();
    ASSERT_TRUE(t.isOk());
    EXPECT_EQ(t->objects, 240);
    size_t unindexed = 0;
    ASSERT_TRUE(state_->messagesWithoutIndex("", [&](const ArchivedMessage&) { ++unindexed; }).isOk());
    EXPECT_EQ(unindexed, 0u);
    store_.reset();  // before `dir` goes
    state_.reset();
  }
}

TEST_F(RecorderTest, ObjectThatFailsInTheBackgroundIsNotRecordedAndFlushSaysWhy) {
  SmallTmpfs small_fs("1m");
  if (!small_fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here";
  PackStoreOptions options;
  options.workers = 2;
  options.compression = Compression::None;
  Result<ContentStorePtr> cs = openPackContentStore(small_fs.path(), state_.get(), options);
  ASSERT_TRUE(cs.isOk());
  ContentStorePtr packs = std::move(*cs);
  MessageRecorder recorder(packs.get(), state_.get());
  std::mt19937 rng(1);
  std::string big(3 << 20, '\0');
  for (char& c : big) c = static_cast<char>(rng());

  ASSERT_TRUE(store(recorder, 1, "first").isOk());
  // The big one fails in a worker; depending on timing append() or
  // finishMessage() already says so, else the flush does. Nothing else is
  // stored meanwhile: while its bytes fill the file system, any other
  // object could fail too.
  Status early = store(recorder, 2, big);
  Status flushed = recorder.flush();
  Status error = early.isOk() ? flushed : early;
  EXPECT_EQ(error.code(), StatusCode::StorageFull) << error.toString();
  std::map<uint32_t, ObjectId> ids = rowIds();
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids.count(2), 0u);
  EXPECT_EQ(ids[1], digestHex(Sha256::of(std::string("first"))));
  EXPECT_EQ(recorder.queued(), 0u);
  // The store is usable again once the failed object's space is back.
  ASSERT_TRUE(store(recorder, 3, "third").isOk());
  EXPECT_TRUE(recorder.flush().isOk());
  ids = rowIds();
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[3], digestHex(Sha256::of(std::string("third"))));
}

}  // namespace
}  // namespace mailark::engine
