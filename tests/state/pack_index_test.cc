// Schema v3 (pack index, last success): migration from an archive created
// with schema 1, group-commit batches, and the archive never forgetting.
#include <gtest/gtest.h>

#include "mailark/state_store.h"
#include "src/state/migrator.h"
#include "src/state/schema_files.h"
#include "src/state/sqlite_db.h"
#include "tests/store/test_dirs.h"

namespace mailark::state {
namespace {

using mailark::testing::TempDir;

StoredObject object(char fill, uint32_t pack, uint64_t offset) {
  StoredObject o;
  o.id = std::string(64, fill);
  o.where = {pack, offset, 164, 100, 250, Compression::Zstd};
  return o;
}

MessageRecord message(uint32_t uid, char fill) {
  MessageRecord m;
  m.uid = uid;
  m.sha256 = std::string(64, fill);
  m.size = 250;
  m.internaldate = "17-Jul-1996 02:44:25 -0700";
  m.flags = "\\Seen";
  return m;
}

TEST(PackIndex, ArchiveCreatedWithSchema1IsMigratedKeepingItsRows) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  {
    Result<std::unique_ptr<SqliteDb>> db = SqliteDb::open(path);
    ASSERT_TRUE(db.isOk());
    std::vector<SchemaFile> v1 = {schemaFiles().front()};
    ASSERT_EQ(v1[0].version, 1);
    ASSERT_TRUE(migrate(**db, v1).isOk());
    ASSERT_TRUE((*db)->exec("INSERT INTO runs(id, started, finished) VALUES (1, '2024-01-01T00:00:00Z', "
                            "'2024-01-01T00:01:00Z');"
                            "INSERT INTO mailboxes(id, address, last_run_id, last_run_started, last_run_finished)"
                            " VALUES (1, 'a@x.test', 1, '2024-01-01T00:00:00Z', '2024-01-01T00:01:00Z');"
                            "INSERT INTO folders(id, mailbox_id, name, uidvalidity, created_at)"
                            " VALUES (1, 1, 'INBOX', 7, '2024-01-01T00:00:00Z');"
                            "INSERT INTO messages VALUES (1, 1, '" + std::string(64, 'a') +
                            "', 5, 'd', '', '2024-01-01T00:00:00Z');")
                    .isOk());
  }
  Result<StateStorePtr> state = openSqliteStateStore(path);
  ASSERT_TRUE(state.isOk()) << state.status().toString();
  {
    Result<std::unique_ptr<SqliteDb>> db = SqliteDb::open(path);
    ASSERT_TRUE(db.isOk());
    Result<int> version = schemaVersion(**db);
    ASSERT_TRUE(version.isOk());
    EXPECT_EQ(*version, schemaFiles().back().version);
  }
  Result<std::vector<MailboxSummary>> summaries = (*state)->mailboxSummaries();
  ASSERT_TRUE(summaries.isOk()) << summaries.status().toString();
  ASSERT_EQ(summaries->size(), 1u);
  EXPECT_EQ(summaries->at(0).messages, 1);
  EXPECT_EQ(summaries->at(0).last_success, "2024-01-01T00:01:00Z");
  // The v1 message has no index row: verify would look for a legacy file.
  int without = 0;
  ASSERT_TRUE((*state)->messagesWithoutIndex("", [&](const ArchivedMessage&) { ++without; }).isOk());
  EXPECT_EQ(without, 1);
}

class PackIndexStore : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<StateStorePtr> s = openSqliteStateStore(dir_.path() + "/state.db");
    ASSERT_TRUE(s.isOk());
    state_ = std::move(*s);
    Result<int64_t> mb = state_->mailboxId("a@x.test");
    ASSERT_TRUE(mb.isOk());
    mailbox_ = *mb;
  }
  TempDir dir_;
  StateStorePtr state_;
  int64_t mailbox_ = 0;
};

TEST_F(PackIndexStore, BatchRecordsIndexAndMessagesTogetherOrNotAtAll) {
  Result<FolderState> f = state_->folder(mailbox_, "INBOX", 1);
  ASSERT_TRUE(f.isOk());
  ASSERT_TRUE(state_->recordBatch({object('a', 1, 16), object('b', 1, 180)},
                                  {{f->folder_id, message(1, 'a')}, {f->folder_id, message(2, 'b')}})
                  .isOk());
  Result<std::optional<ObjectLocation>> where = state_->findObject(std::string(64, 'b'));
  ASSERT_TRUE(where.isOk());
  ASSERT_TRUE(where->has_value());
  EXPECT_EQ((*where)->offset, 180u);
  Result<std::map<uint32_t, uint64_t>> ends = state_->packEnds();
  ASSERT_TRUE(ends.isOk());
  EXPECT_EQ(ends->at(1), 180u + 164u);

  // A bad row (unknown folder) rolls the whole batch back, index row too.
  Status s = state_->recordBatch({object('c', 1, 344)}, {{f->folder_id, message(3, 'c')}, {9999, message(1, 'c')}});
  EXPECT_FALSE(s.isOk());
  where = state_->findObject(std::string(64, 'c'));
  ASSERT_TRUE(where.isOk());
  EXPECT_FALSE(where->has_value());
  Result<std::vector<uint32_t>> uids = state_->archivedUids(f->folder_id, 0);
  ASSERT_TRUE(uids.isOk());
  EXPECT_EQ(*uids, (std::vector<uint32_t>{1, 2}));
}

TEST_F(PackIndexStore, UidvalidityChangeKeepsTheOldRows) {
  Result<FolderState> old_gen = state_->folder(mailbox_, "INBOX", 100);
  ASSERT_TRUE(old_gen.isOk());
  ASSERT_TRUE(state_->recordBatch({object('a', 1, 16)}, {{old_gen->folder_id, message(1, 'a')}}).isOk());
  Result<FolderState> new_gen = state_->folder(mailbox_, "INBOX", 200);
  ASSERT_TRUE(new_gen.isOk());
  EXPECT_NE(new_gen->folder_id, old_gen->folder_id);
  EXPECT_EQ(new_gen->highest_uid, 0u);  // re-scan from the start
  ASSERT_TRUE(state_->recordBatch({}, {{new_gen->folder_id, message(1, 'a')}}).isOk());
  std::vector<uint32_t> generations;
  ASSERT_TRUE(state_->listMessages("a@x.test", [&](const ArchivedMessage& m) {
    generations.push_back(m.uidvalidity);
  }).isOk());
  EXPECT_EQ(generations, (std::vector<uint32_t>{100, 200}));
  Result<ArchiveTotals> totals = state_->archiveTotals();
  ASSERT_TRUE(totals.isOk());
  EXPECT_EQ(totals->objects, 1);  // one object, two holders
  EXPECT_EQ(totals->messages, 2);
}

// findObject calls in a row share one read transaction; the next other
// call must end it before running, so a write is committed when it returns
// and a lookup after a batch sees the batch's rows.
TEST_F(PackIndexStore, LookupsInARowLeaveNoLaterWriteUncommitted) {
  Result<FolderState> f = state_->folder(mailbox_, "INBOX", 1);
  ASSERT_TRUE(f.isOk());
  for (char fill : {'a', 'b'}) {
    Result<std::optional<ObjectLocation>> where = state_->findObject(std::string(64, fill));
    ASSERT_TRUE(where.isOk());
    EXPECT_FALSE(where->has_value());
  }
  ASSERT_TRUE(state_->recordBatch({object('a', 1, 16)}, {{f->folder_id, message(1, 'a')}}).isOk());
  Result<std::optional<ObjectLocation>> where = state_->findObject(std::string(64, 'a'));
  ASSERT_TRUE(where.isOk());
  EXPECT_TRUE(where->has_value());
  ASSERT_TRUE(state_->updateFolderProgress(f->folder_id, 5, 4).isOk());

  // Another connection, as another process would, sees both writes.
  Result<std::unique_ptr<SqliteDb>> other = SqliteDb::open(dir_.path() + "/state.db");
  ASSERT_TRUE(other.isOk());
  Result<Statement*> stmt =
      (*other)->prepare("SELECT (SELECT count(*) FROM objects), (SELECT highest_uid FROM folders)");
  ASSERT_TRUE(stmt.isOk());
  StatementUse use(*stmt);
  Result<bool> row = use->step();
  ASSERT_TRUE(row.isOk() && *row);
  EXPECT_EQ(use->columnInt64(0), 1);
  EXPECT_EQ(use->columnInt64(1), 4);
}

}  // namespace
}  // namespace mailark::state
