#include "src/state/sqlite_state_store.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "mailark/state_store.h"
#include "src/base/sha256.h"
#include "src/state/migrator.h"
#include "src/state/schema_files.h"
#include "src/state/sqlite_db.h"
#include "tests/store/test_dirs.h"

namespace mailark::state {
namespace {

using mailark::testing::SmallTmpfs;
using mailark::testing::TempDir;

ObjectId shaOf(const std::string& s) { return digestHex(Sha256::of(s)); }

MessageRecord message(uint32_t uid, const std::string& body, std::string flags = "\\Seen") {
  MessageRecord m;
  m.uid = uid;
  m.sha256 = shaOf(body);
  m.size = body.size();
  m.internaldate = "17-Jul-1996 02:44:25 -0700";
  m.flags = std::move(flags);
  return m;
}

// "2024-05-01T12:00:00Z": digits where the pattern has 'd'.
bool isIsoUtc(const std::string& s) {
  const std::string_view pattern = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != pattern.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool ok = pattern[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == pattern[i];
    if (!ok) return false;
  }
  return true;
}

// One value from a side connection, to check what actually reached disk.
std::string queryText(const std::string& path, const std::string& sql) {
  Result<std::unique_ptr<SqliteDb>> db = SqliteDb::open(path);
  if (!db.isOk()) return "<open failed>";
  Result<Statement*> stmt = (*db)->prepare(sql);
  if (!stmt.isOk()) return "<prepare failed: " + stmt.status().message() + ">";
  StatementUse use(*stmt);
  Result<bool> row = use->step();
  if (!row.isOk()) return "<step failed>";
  return *row ? use->columnText(0) : "<no row>";
}

class SqliteStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    path_ = dir_.path() + "/state.db";
    reopen();
  }

  void reopen() {
    store_.reset();
    Result<StateStorePtr> s = openSqliteStateStore(path_);
    ASSERT_TRUE(s.isOk()) << s.status().toString();
    store_ = std::move(s).value();
  }

  std::vector<ArchivedMessage> list(const std::string& mailbox) {
    std::vector<ArchivedMessage> out;
    Status s = store_->listMessages(mailbox, [&](const ArchivedMessage& m) { out.push_back(m); });
    EXPECT_TRUE(s.isOk()) << s.toString();
    return out;
  }

  TempDir dir_;
  std::string path_;
  StateStorePtr store_;
};

TEST_F(SqliteStateStoreTest, FreshOpenMigratesAndUsesWal) {
  EXPECT_EQ(queryText(path_, "PRAGMA user_version"),
            std::to_string(schemaFiles().back().version));
  EXPECT_EQ(queryText(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(queryText(path_, "SELECT count(*) FROM sqlite_master WHERE name = 'messages'"), "1");
}

TEST_F(SqliteStateStoreTest, ReopenKeepsDataAndVersion) {
  Result<int64_t> mb = store_->mailboxId("a@example.com");
  ASSERT_TRUE(mb.isOk());
  Result<FolderState> f = store_->folder(*mb, "INBOX", 7);
  ASSERT_TRUE(f.isOk());
  ASSERT_TRUE(store_->recordMessage(f->folder_id, message(1, "one")).isOk());
  reopen();
  reopen();
  EXPECT_EQ(queryText(path_, "PRAGMA user_version"),
            std::to_string(schemaFiles().back().version));
  Result<int64_t> again = store_->mailboxId("a@example.com");
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(*again, *mb);
  Result<std::vector<uint32_t>> uids = store_->archivedUids(f->folder_id, 0);
  ASSERT_TRUE(uids.isOk());
  EXPECT_EQ(*uids, std::vector<uint32_t>{1});
}

TEST_F(SqliteStateStoreTest, MailboxIdIsStablePerAddress) {
  Result<int64_t> a = store_->mailboxId("a@example.com");
  Result<int64_t> b = store_->mailboxId("b@example.com");
  Result<int64_t> a2 = store_->mailboxId("a@example.com");
  ASSERT_TRUE(a.isOk() && b.isOk() && a2.isOk());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(*a, *a2);
}

TEST_F(SqliteStateStoreTest, HasCompletedFolderOnlyAfterAPassOfThatMailbox) {
  int64_t a = *store_->mailboxId("a@example.com");
  int64_t b = *store_->mailboxId("b@example.com");
  EXPECT_FALSE(*store_->hasCompletedFolder(a));
  Result<FolderState> f = store_->folder(a, "INBOX", 7);
  ASSERT_TRUE(f.isOk());
  EXPECT_FALSE(*store_->hasCompletedFolder(a)) << "a folder row alone is no completed pass";
  ASSERT_TRUE(store_->updateFolderProgress(f->folder_id, 12, 11).isOk());
  EXPECT_TRUE(*store_->hasCompletedFolder(a));
  EXPECT_FALSE(*store_->hasCompletedFolder(b));
}

TEST_F(SqliteStateStoreTest, FolderProgressAndNewUidValidityKeepsOldRows) {
  int64_t mb = *store_->mailboxId("a@example.com");
  Result<FolderState> f = store_->folder(mb, "Entwürfe", 100);
  ASSERT_TRUE(f.isOk()) << f.status().toString();
  EXPECT_GT(f->folder_id, 0);
  EXPECT_EQ(f->uidvalidity, 100u);
  EXPECT_EQ(f->uidnext, 0u);
  EXPECT_EQ(f->highest_uid, 0u);

  ASSERT_TRUE(store_->recordMessage(f->folder_id, message(5, "five")).isOk());
  ASSERT_TRUE(store_->updateFolderProgress(f->folder_id, 4000000001u, 4000000000u).isOk());
  Result<FolderState> same = store_->folder(mb, "Entwürfe", 100);
  ASSERT_TRUE(same.isOk());
  EXPECT_EQ(same->folder_id, f->folder_id);
  EXPECT_EQ(same->uidnext, 4000000001u) << "uint32 values above 2^31 must round-trip";
  EXPECT_EQ(same->highest_uid, 4000000000u);

  Result<FolderState> reset = store_->folder(mb, "Entwürfe", 101);
  ASSERT_TRUE(reset.isOk());
  EXPECT_NE(reset->folder_id, f->folder_id);
  EXPECT_EQ(reset->uidnext, 0u);
  EXPECT_EQ(reset->highest_uid, 0u);
  EXPECT_TRUE(store_->archivedUids(reset->folder_id, 0)->empty());

  // The old generation's rows are still there and listed.
  std::vector<ArchivedMessage> all = list("");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].folder, "Entwürfe");
  EXPECT_EQ(all[0].uidvalidity, 100u);
  EXPECT_EQ(all[0].message.uid, 5u);
}

TEST_F(SqliteStateStoreTest, ProgressOfUnknownFolderIsNotFound) {
  EXPECT_EQ(store_->updateFolderProgress(4242, 1, 1).code(), StatusCode::NotFound);
}

TEST_F(SqliteStateStoreTest, RecordMessageToUnknownFolderFails) {
  Status s = store_->recordMessage(4242, message(1, "x"));
  EXPECT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), StatusCode::Internal) << s.toString();
}

TEST_F(SqliteStateStoreTest, RecordListAndArchivedUids) {
  int64_t a = *store_->mailboxId("a@example.com");
  int64_t b = *store_->mailboxId("b@example.com");
  int64_t a_inbox = store_->folder(a, "INBOX", 1)->folder_id;
  int64_t a_sent = store_->folder(a, "Sent", 9)->folder_id;
  int64_t b_inbox = store_->folder(b, "INBOX", 3)->folder_id;

  // Recorded out of order on purpose.
  ASSERT_TRUE(store_->recordMessage(a_inbox, message(30, "a30", "\\Seen \\Answered")).isOk());
  ASSERT_TRUE(store_->recordMessage(a_inbox, message(10, "a10")).isOk());
  ASSERT_TRUE(store_->recordMessage(a_inbox, message(20, "a20", "")).isOk());
  ASSERT_TRUE(store_->recordMessage(b_inbox, message(1, "b1")).isOk());
  ASSERT_TRUE(store_->recordMessage(a_sent, message(2, "a10")).isOk());  // same bytes as a10

  EXPECT_EQ(*store_->archivedUids(a_inbox, 0), (std::vector<uint32_t>{10, 20, 30}));
  EXPECT_EQ(*store_->archivedUids(a_inbox, 20), (std::vector<uint32_t>{20, 30}));
  EXPECT_EQ(*store_->archivedUids(a_inbox, 31), (std::vector<uint32_t>{}));

  std::vector<ArchivedMessage> all = list("");
  ASSERT_EQ(all.size(), 5u);
  struct Key {
    std::string mailbox, folder;
    uint32_t uid;
  };
  std::vector<Key> expected = {{"a@example.com", "INBOX", 10}, {"a@example.com", "INBOX", 20},
                               {"a@example.com", "INBOX", 30}, {"a@example.com", "Sent", 2},
                               {"b@example.com", "INBOX", 1}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(all[i].mailbox, expected[i].mailbox) << i;
    EXPECT_EQ(all[i].folder, expected[i].folder) << i;
    EXPECT_EQ(all[i].message.uid, expected[i].uid) << i;
  }
  EXPECT_EQ(all[2].uidvalidity, 1u);
  EXPECT_EQ(all[2].message.sha256, shaOf("a30"));
  EXPECT_EQ(all[2].message.size, 3u);
  EXPECT_EQ(all[2].message.flags, "\\Seen \\Answered");
  EXPECT_EQ(all[2].message.internaldate, "17-Jul-1996 02:44:25 -0700");
  EXPECT_EQ(all[1].message.flags, "");
  EXPECT_EQ(all[3].uidvalidity, 9u);

  std::vector<ArchivedMessage> only_b = list("b@example.com");
  ASSERT_EQ(only_b.size(), 1u);
  EXPECT_EQ(only_b[0].message.sha256, shaOf("b1"));
  EXPECT_TRUE(list("nobody@example.com").empty());

  EXPECT_TRUE(*store_->hasObject(shaOf("a10")));
  EXPECT_FALSE(*store_->hasObject(shaOf("never")));

  // archived_at is Unix seconds since schema v5.
  EXPECT_EQ(queryText(path_, "SELECT typeof(archived_at) FROM messages LIMIT 1"), "integer");
  std::string archived_at =
      queryText(path_, "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', archived_at, 'unixepoch') FROM messages LIMIT 1");
  EXPECT_TRUE(isIsoUtc(archived_at)) << archived_at;
}

TEST_F(SqliteStateStoreTest, DuplicateRecordIsANoOp) {
  int64_t f = store_->folder(*store_->mailboxId("a@example.com"), "INBOX", 1)->folder_id;
  ASSERT_TRUE(store_->recordMessage(f, message(7, "original")).isOk());
  Status again = store_->recordMessage(f, message(7, "different bytes", "\\Deleted"));
  EXPECT_TRUE(again.isOk()) << again.toString();
  std::vector<ArchivedMessage> all = list("");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].message.sha256, shaOf("original"));
  EXPECT_EQ(all[0].message.flags, "\\Seen");
}

TEST_F(SqliteStateStoreTest, RunsAndMailboxSummaries) {
  Result<int64_t> run1 = store_->beginRun();
  ASSERT_TRUE(run1.isOk());
  int64_t a = *store_->mailboxId("a@example.com");
  int64_t b = *store_->mailboxId("b@example.com");
  ASSERT_TRUE(store_->mailboxId("c@example.com").isOk());  // never processed
  int64_t a_inbox = store_->folder(a, "INBOX", 1)->folder_id;
  int64_t a_inbox_new = store_->folder(a, "INBOX", 2)->folder_id;  // same name, new UIDVALIDITY
  int64_t a_sent = store_->folder(a, "Sent", 1)->folder_id;
  ASSERT_TRUE(store_->recordMessage(a_inbox, message(1, "12345")).isOk());
  ASSERT_TRUE(store_->recordMessage(a_inbox_new, message(1, "1234567")).isOk());
  ASSERT_TRUE(store_->recordMessage(a_sent, message(4, "12")).isOk());
  ASSERT_TRUE(store_->recordMailboxResult(a, *run1, "").isOk());
  ASSERT_TRUE(store_->recordMailboxResult(b, *run1, "AuthRejected: AADSTS7000215").isOk());
  RunSummary summary{1, 1, 3, 14};
  ASSERT_TRUE(store_->finishRun(*run1, summary).isOk());

  const std::string where = " FROM runs WHERE id = " + std::to_string(*run1);
  EXPECT_EQ(queryText(path_, "SELECT mailboxes_ok || ',' || mailboxes_failed || ',' || messages"
                             " || ',' || bytes" + where),
            "1,1,3,14");
  const std::string started = queryText(path_, "SELECT started" + where);
  EXPECT_TRUE(isIsoUtc(started)) << started;
  EXPECT_TRUE(isIsoUtc(queryText(path_, "SELECT finished" + where)));

  Result<std::vector<MailboxSummary>> sums = store_->mailboxSummaries();
  ASSERT_TRUE(sums.isOk()) << sums.status().toString();
  ASSERT_EQ(sums->size(), 3u);
  const MailboxSummary& sa = (*sums)[0];
  EXPECT_EQ(sa.mailbox, "a@example.com");
  EXPECT_EQ(sa.folders, 2);  // INBOX (two generations) and Sent
  EXPECT_EQ(sa.messages, 3);
  EXPECT_EQ(sa.bytes, 14);
  EXPECT_EQ(sa.last_run_started, started);
  EXPECT_TRUE(isIsoUtc(sa.last_run_finished)) << sa.last_run_finished;
  EXPECT_EQ(sa.last_error, "");
  const MailboxSummary& sb = (*sums)[1];
  EXPECT_EQ(sb.mailbox, "b@example.com");
  EXPECT_EQ(sb.folders, 0);
  EXPECT_EQ(sb.messages, 0);
  EXPECT_EQ(sb.bytes, 0);
  EXPECT_EQ(sb.last_error, "AuthRejected: AADSTS7000215");
  const MailboxSummary& sc = (*sums)[2];
  EXPECT_EQ(sc.mailbox, "c@example.com");
  EXPECT_EQ(sc.last_run_started, "");
  EXPECT_EQ(sc.last_run_finished, "");

  // A later successful run clears b's error.
  Result<int64_t> run2 = store_->beginRun();
  ASSERT_TRUE(run2.isOk());
  EXPECT_GT(*run2, *run1);
  ASSERT_TRUE(store_->recordMailboxResult(b, *run2, "").isOk());
  EXPECT_EQ((*store_->mailboxSummaries())[1].last_error, "");
  EXPECT_EQ(queryText(path_, "SELECT finished FROM runs WHERE id = " + std::to_string(*run2)), "");
}

TEST_F(SqliteStateStoreTest, UnknownRunAndMailboxAreNotFound) {
  EXPECT_EQ(store_->finishRun(999, RunSummary{}).code(), StatusCode::NotFound);
  int64_t run = *store_->beginRun();
  EXPECT_EQ(store_->recordMailboxResult(999, run, "").code(), StatusCode::NotFound);
}

TEST(SqliteStatus, TranslatesResultCodesByMeaning) {
  EXPECT_EQ(sqliteStatus(nullptr, SQLITE_FULL, "x").code(), StatusCode::StorageFull);
  EXPECT_EQ(sqliteStatus(nullptr, SQLITE_BUSY, "x").code(), StatusCode::Transient);
  EXPECT_EQ(sqliteStatus(nullptr, SQLITE_CONSTRAINT_FOREIGNKEY, "x").code(),
            StatusCode::Internal);
  EXPECT_EQ(sqliteStatus(nullptr, SQLITE_IOERR_WRITE, "x").code(), StatusCode::Io);
  Status s = sqliteStatus(nullptr, SQLITE_NOTADB, "open state.db");
  EXPECT_EQ(s.code(), StatusCode::Io);
  EXPECT_NE(s.message().find("open state.db: "), std::string::npos) << s.message();
}

// A real full file system under SQLite (needs CAP_SYS_ADMIN, else skipped).
TEST(SqliteStateStoreDiskFull, FullTmpfsIsStorageFull) {
  SmallTmpfs fs("512k");
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount tmpfs here (needs root/CAP_SYS_ADMIN)";
  Result<StateStorePtr> opened = openSqliteStateStore(fs.path() + "/state.db");
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  StateStore& store = **opened;
  int64_t f = store.folder(*store.mailboxId("a@example.com"), "INBOX", 1)->folder_id;
  Status s;
  const std::string flags(2000, 'f');
  for (uint32_t uid = 1; uid < 10000 && s.isOk(); ++uid) {
    s = store.recordMessage(f, message(uid, std::to_string(uid), flags));
  }
  EXPECT_EQ(s.code(), StatusCode::StorageFull) << s.toString();
}

}  // namespace
}  // namespace mailark::state
