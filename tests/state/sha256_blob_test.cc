// Schema v5 (issue 5): SHA-256 keys stored as 32-byte blobs. An archive
// written by schema v4 (hex text keys) migrates in place with the same
// content; the API keeps speaking hex; a bad hex row fails the migration
// instead of being dropped.
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "mailark/state_store.h"
#include "src/base/sha256.h"
#include "src/state/migrator.h"
#include "src/state/schema_files.h"
#include "src/state/sql_functions.h"
#include "src/state/sqlite_db.h"
#include "tests/store/test_dirs.h"

namespace mailark::state {
namespace {

using mailark::testing::TempDir;

ObjectId shaOf(const std::string& s) { return digestHex(Sha256::of(s)); }

// Every row of a one-column-of-text query, in order.
std::vector<std::string> queryColumn(SqliteDb& db, const std::string& sql) {
  std::vector<std::string> out;
  Result<Statement*> stmt = db.prepare(sql);
  EXPECT_TRUE(stmt.isOk()) << sql << ": " << stmt.status().toString();
  if (!stmt.isOk()) return out;
  StatementUse use(*stmt);
  for (;;) {
    Result<bool> row = use->step();
    EXPECT_TRUE(row.isOk()) << sql;
    if (!row.isOk() || !*row) return out;
    out.push_back(use->columnText(0));
  }
}

std::string queryOne(SqliteDb& db, const std::string& sql) {
  std::vector<std::string> rows = queryColumn(db, sql);
  return rows.empty() ? "<no row>" : rows[0];
}

std::unique_ptr<SqliteDb> openDb(const std::string& path) {
  Result<std::unique_ptr<SqliteDb>> db = SqliteDb::open(path);
  EXPECT_TRUE(db.isOk()) << db.status().toString();
  return db.isOk() ? std::move(db).value() : nullptr;
}

// The released schema files up to v4, as an older mailark would apply them.
std::vector<SchemaFile> filesUpTo(int version) {
  std::vector<SchemaFile> out;
  for (const SchemaFile& f : schemaFiles())
    if (f.version <= version) out.push_back(f);
  return out;
}

// Messages and objects of a v4 archive: two indexed objects, one message
// from the file-per-object era (no index row), one POP3 message, and one
// object held by two folders.
const std::string kA = shaOf("message a");
const std::string kB = shaOf("message b");
const std::string kLegacy = shaOf("legacy");
const std::string kPop = shaOf("pop");

std::string v4Rows() {
  return "INSERT INTO runs(id, started, finished) VALUES (1, '2024-01-01T00:00:00Z', '2024-01-01T00:01:00Z');"
         "INSERT INTO mailboxes(id, address, last_run_id, last_run_started, last_run_finished, last_success)"
         " VALUES (1, 'a@x.test', 1, '2024-01-01T00:00:00Z', '2024-01-01T00:01:00Z', '2024-01-01T00:01:00Z');"
         "INSERT INTO folders(id, mailbox_id, name, uidvalidity, created_at, highest_modseq)"
         " VALUES (1, 1, 'INBOX', 7, '2024-01-01T00:00:00Z', 42), (2, 1, 'Archive', 8, '2024-01-01T00:00:00Z', 0),"
         " (3, 1, 'INBOX', 0, '2024-01-01T00:00:00Z', 0);"
         "INSERT INTO objects VALUES ('" + kA + "', 1, 16, 164, 100, 250, 1), ('" + kB + "', 2, 16, 300, 284, 284, 0);"
         "INSERT INTO messages(folder_id, uid, sha256, size, internaldate, flags, archived_at, uidl) VALUES"
         " (1, 10, '" + kA + "', 250, '17-Jul-1996 02:44:25 -0700', '\\Seen', '2024-01-01T00:00:10Z', NULL),"
         " (1, 11, '" + kLegacy + "', 5, 'd', '', '2024-01-01T00:00:11Z', NULL),"
         " (2, 3, '" + kA + "', 250, '17-Jul-1996 02:44:25 -0700', '\\Seen \\Flagged', '2024-01-01T00:00:12Z', NULL),"
         " (3, 1, '" + kPop + "', 7, '', '', '2024-01-01T00:00:13Z', 'uidl-1'),"
         " (2, 4, '" + kB + "', 284, '18-Jul-1996 02:44:25 -0700', '', '2024-01-01T00:00:14Z', NULL);";
}

// Everything a command can see of the messages, as one line per row.
std::vector<std::string> listed(StateStore& state) {
  std::vector<std::string> out;
  Status s = state.listMessages("", [&](const ArchivedMessage& m) {
    out.push_back(m.mailbox + "|" + m.folder + "|" + std::to_string(m.uidvalidity) + "|" + std::to_string(m.message.uid) +
                  "|" + m.message.sha256 + "|" + std::to_string(m.message.size) + "|" + m.message.internaldate + "|" +
                  m.message.flags + "|" + m.message.uidl);
  });
  EXPECT_TRUE(s.isOk()) << s.toString();
  return out;
}

class MigrateToV5 : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    path_ = dir_.path() + "/state.db";
    std::unique_ptr<SqliteDb> db = openDb(path_);
    ASSERT_NE(db, nullptr);
    Status s = migrate(*db, filesUpTo(4));
    ASSERT_TRUE(s.isOk()) << s.toString();
    ASSERT_EQ(*schemaVersion(*db), 4);
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(MigrateToV5, V4ArchiveWithHexRowsKeepsItsContentAsBlobs) {
  {
    std::unique_ptr<SqliteDb> db = openDb(path_);
    ASSERT_TRUE(db->exec(v4Rows()).isOk());
  }
  Result<StateStorePtr> opened = openSqliteStateStore(path_);
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  StateStore& state = **opened;

  std::unique_ptr<SqliteDb> db = openDb(path_);
  EXPECT_EQ(*schemaVersion(*db), 5);
  // Every key is now a 32-byte blob holding the same digest.
  EXPECT_EQ(queryColumn(*db, "SELECT DISTINCT typeof(sha256) || length(sha256) FROM messages"),
            std::vector<std::string>{"blob32"});
  EXPECT_EQ(queryColumn(*db, "SELECT DISTINCT typeof(sha256) || length(sha256) FROM objects"),
            std::vector<std::string>{"blob32"});
  EXPECT_EQ(queryColumn(*db, "SELECT lower(hex(sha256)) FROM objects ORDER BY pack"),
            (std::vector<std::string>{kA, kB}));
  // Indexes are back under their names; the file is sound.
  EXPECT_EQ(queryColumn(*db, "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
                             " ORDER BY name"),
            (std::vector<std::string>{"messages_by_sha256_prefix", "messages_by_uidl", "objects_by_location"}));
  EXPECT_EQ(queryOne(*db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(queryColumn(*db, "PRAGMA foreign_key_check"), std::vector<std::string>{});
  EXPECT_EQ(queryOne(*db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v5'"), "0");
  // archived_at became Unix seconds at the same instant (2024-01-01 is
  // 1704067200); other columns kept their values.
  EXPECT_EQ(queryColumn(*db, "SELECT archived_at FROM messages WHERE typeof(archived_at) = 'integer'"
                             " ORDER BY folder_id, uid"),
            (std::vector<std::string>{"1704067210", "1704067211", "1704067212", "1704067214", "1704067213"}));
  EXPECT_EQ(queryOne(*db, "SELECT highest_modseq FROM folders WHERE id = 1"), "42");

  // Through the API: hex ids, same rows, same locations.
  EXPECT_EQ(listed(state), (std::vector<std::string>{
                               "a@x.test|Archive|8|3|" + kA + "|250|17-Jul-1996 02:44:25 -0700|\\Seen \\Flagged|",
                               "a@x.test|Archive|8|4|" + kB + "|284|18-Jul-1996 02:44:25 -0700||",
                               "a@x.test|INBOX|0|1|" + kPop + "|7|||uidl-1",
                               "a@x.test|INBOX|7|10|" + kA + "|250|17-Jul-1996 02:44:25 -0700|\\Seen|",
                               "a@x.test|INBOX|7|11|" + kLegacy + "|5|d||",
                           }));
  Result<std::optional<ObjectLocation>> where = state.findObject(kB);
  ASSERT_TRUE(where.isOk() && where->has_value());
  EXPECT_EQ((*where)->pack, 2u);
  EXPECT_EQ((*where)->offset, 16u);
  EXPECT_EQ((*where)->length, 300u);
  EXPECT_EQ((*where)->stored_size, 284u);
  EXPECT_EQ((*where)->size, 284u);
  EXPECT_EQ((*where)->compression, Compression::None);
  std::vector<std::string> without;
  ASSERT_TRUE(state.messagesWithoutIndex("", [&](const ArchivedMessage& m) { without.push_back(m.message.sha256); })
                  .isOk());
  EXPECT_EQ(without, (std::vector<std::string>{kPop, kLegacy}));  // no objects row for either
  std::vector<uint32_t> holders;
  ASSERT_TRUE(state.messagesWithObject(kA, [&](const ArchivedMessage& m) { holders.push_back(m.message.uid); }).isOk());
  EXPECT_EQ(holders, (std::vector<uint32_t>{3, 10}));
  Result<std::vector<MailboxSummary>> summaries = state.mailboxSummaries();
  ASSERT_TRUE(summaries.isOk());
  ASSERT_EQ(summaries->size(), 1u);
  EXPECT_EQ(summaries->at(0).messages, 5);
  EXPECT_EQ(summaries->at(0).stored_bytes, 164 + 300);  // kA counted once
  // The POP3 uidl index still makes a repeated UIDL a no-op.
  ASSERT_TRUE(state.recordMessage(3, MessageRecord{2, kPop, 7, "", "", "uidl-1"}).isOk());
  EXPECT_EQ(state.archivedUidls(3).value().size(), 1u);
}

TEST_F(MigrateToV5, MalformedHexRowFailsTheMigrationAndKeepsV4) {
  {
    std::unique_ptr<SqliteDb> db = openDb(path_);
    ASSERT_TRUE(db->exec(v4Rows()).isOk());
    // v4 only checked the length: 64 characters that are not hex.
    ASSERT_TRUE(db->exec("INSERT INTO messages VALUES (1, 99, '" + std::string(64, 'z') +
                         "', 1, '', '', '2024-01-01T00:00:00Z', NULL)")
                    .isOk());
  }
  Result<StateStorePtr> opened = openSqliteStateStore(path_);
  ASSERT_FALSE(opened.isOk());
  EXPECT_NE(opened.status().message().find("0005_"), std::string::npos) << opened.status().toString();
  std::unique_ptr<SqliteDb> db = openDb(path_);
  EXPECT_EQ(*schemaVersion(*db), 4);
  EXPECT_EQ(queryOne(*db, "SELECT count(*) FROM messages WHERE typeof(sha256) = 'text'"), "6");
  EXPECT_EQ(queryOne(*db, "SELECT count(*) FROM objects WHERE typeof(sha256) = 'text'"), "2");
}

// archived_at that strftime() cannot read is kept, not replaced or lost.
TEST_F(MigrateToV5, UnreadableArchivedAtIsKeptAsItWas) {
  {
    std::unique_ptr<SqliteDb> db = openDb(path_);
    ASSERT_TRUE(db->exec(v4Rows() + "UPDATE messages SET archived_at = 'sometime' WHERE uid = 11;").isOk());
  }
  Result<StateStorePtr> opened = openSqliteStateStore(path_);
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  std::unique_ptr<SqliteDb> db = openDb(path_);
  EXPECT_EQ(queryOne(*db, "SELECT typeof(archived_at) || ':' || archived_at FROM messages WHERE uid = 11"),
            "text:sometime");
  EXPECT_EQ(queryOne(*db, "SELECT count(*) FROM messages WHERE typeof(archived_at) = 'integer'"), "4");
}

TEST_F(MigrateToV5, DatabaseNewerThanThisBuildIsRefusedUntouched) {
  const int newest = schemaFiles().back().version;
  ASSERT_EQ(newest, 5) << "update this test's premise";
  {
    std::unique_ptr<SqliteDb> db = openDb(path_);
    ASSERT_TRUE(db->exec(v4Rows() + "PRAGMA user_version = 6;").isOk());
  }
  Result<StateStorePtr> opened = openSqliteStateStore(path_);
  ASSERT_FALSE(opened.isOk());
  EXPECT_EQ(opened.status().code(), StatusCode::Config);
  std::unique_ptr<SqliteDb> db = openDb(path_);
  EXPECT_EQ(*schemaVersion(*db), 6);
  EXPECT_EQ(queryOne(*db, "SELECT count(*) FROM messages WHERE typeof(sha256) = 'text'"), "5");
}

class StateSha256Blob : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    path_ = dir_.path() + "/state.db";
    Result<StateStorePtr> s = openSqliteStateStore(path_);
    ASSERT_TRUE(s.isOk()) << s.status().toString();
    state_ = std::move(s).value();
    Result<int64_t> mb = state_->mailboxId("a@x.test");
    ASSERT_TRUE(mb.isOk());
    Result<FolderState> f = state_->folder(*mb, "INBOX", 1);
    ASSERT_TRUE(f.isOk());
    folder_ = f->folder_id;
  }

  static StoredObject object(const ObjectId& id, uint32_t pack, uint64_t offset, uint64_t length) {
    StoredObject o;
    o.id = id;
    o.where = {pack, offset, length, length - 64, length + 10, Compression::Zstd};
    return o;
  }
  static MessageRecord message(uint32_t uid, const ObjectId& id) {
    MessageRecord m;
    m.uid = uid;
    m.sha256 = id;
    m.size = 100;
    m.internaldate = "17-Jul-1996 02:44:25 -0700";
    return m;
  }

  TempDir dir_;
  std::string path_;
  StateStorePtr state_;
  int64_t folder_ = 0;
};

TEST_F(StateSha256Blob, RoundTripThroughBatchFindAndList) {
  const ObjectId a = shaOf("a"), b = shaOf("b"), c = shaOf("c");
  ASSERT_TRUE(state_
                  ->recordBatch({object(a, 1, 16, 200), object(b, 1, 216, 300), object(c, 2, 16, 100)},
                                {{folder_, message(1, a)}, {folder_, message(2, b)}, {folder_, message(3, c)}})
                  .isOk());
  {
    std::unique_ptr<SqliteDb> db = openDb(path_);
    // 32 raw bytes on disk, the digest itself.
    EXPECT_EQ(queryOne(*db, "SELECT typeof(sha256) || length(sha256) FROM objects WHERE pack = 1 AND pack_offset = 16"),
              "blob32");
    EXPECT_EQ(queryOne(*db, "SELECT lower(hex(sha256)) FROM messages WHERE uid = 1"), a);
  }
  Result<std::optional<ObjectLocation>> where = state_->findObject(b);
  ASSERT_TRUE(where.isOk() && where->has_value());
  EXPECT_EQ((*where)->offset, 216u);
  EXPECT_EQ((*where)->length, 300u);
  std::vector<ObjectId> ids;
  ASSERT_TRUE(state_->listObjects("", [&](const StoredObject& o) {
    ids.push_back(o.id);
    return Status::ok();
  }).isOk());
  EXPECT_EQ(ids, (std::vector<ObjectId>{a, b, c}));  // pack order
  ids.clear();
  ASSERT_TRUE(state_->listObjects("a@x.test", [&](const StoredObject& o) {
    ids.push_back(o.id);
    return Status::ok();
  }).isOk());
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(*state_->hasObject(c));
  EXPECT_FALSE(*state_->hasObject(shaOf("never")));
  // Upper-case hex names the same object.
  std::string upper = b;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  where = state_->findObject(upper);
  ASSERT_TRUE(where.isOk() && where->has_value());
  EXPECT_EQ((*where)->offset, 216u);
}

TEST_F(StateSha256Blob, MalformedIdsAreRefusedOnWriteAndFindNothing) {
  const std::string bad(64, 'z');
  Status s = state_->recordBatch({object(bad, 1, 16, 200)}, {});
  EXPECT_EQ(s.code(), StatusCode::Internal) << s.toString();
  s = state_->recordMessage(folder_, message(1, "abc"));
  EXPECT_EQ(s.code(), StatusCode::Internal) << s.toString();
  EXPECT_NE(s.message().find("not a SHA-256"), std::string::npos) << s.message();
  Result<std::optional<ObjectLocation>> where = state_->findObject(bad);
  ASSERT_TRUE(where.isOk());
  EXPECT_FALSE(where->has_value());
  EXPECT_FALSE(*state_->hasObject("short"));
  int visits = 0;
  EXPECT_TRUE(state_->messagesWithObject(bad, [&](const ArchivedMessage&) { ++visits; }).isOk());
  EXPECT_EQ(visits, 0);
  EXPECT_EQ(state_->archiveTotals().value().messages, 0);
}

TEST_F(StateSha256Blob, PackEndsIsTheEndOfEachPacksLastFrame) {
  std::vector<StoredObject> objects;
  std::vector<QueuedMessage> messages;
  uint32_t uid = 0;
  // Packs 1, 3 and 7 (gaps on purpose), several frames each.
  for (uint32_t pack : {1u, 3u, 7u}) {
    uint64_t offset = 16;
    for (int i = 0; i < 5; ++i) {
      ObjectId id = shaOf(std::to_string(pack) + "/" + std::to_string(i));
      uint64_t length = 100 + pack * 10 + static_cast<uint64_t>(i);
      objects.push_back(object(id, pack, offset, length));
      messages.push_back({folder_, message(++uid, id)});
      offset += length;
    }
  }
  ASSERT_TRUE(state_->recordBatch(objects, messages).isOk());
  Result<std::map<uint32_t, uint64_t>> ends = state_->packEnds();
  ASSERT_TRUE(ends.isOk()) << ends.status().toString();
  std::map<uint32_t, uint64_t> expected;
  for (const StoredObject& o : objects) expected[o.where.pack] = o.where.offset + o.where.length;
  EXPECT_EQ(*ends, expected);
}

// The store's hash lookups on messages repeat the prefix expression of
// messages_by_sha256_prefix, also through a table alias and against another
// table's column; SQLite must pick the index for each shape, or every
// lookup becomes a scan of all messages.
TEST_F(StateSha256Blob, HashLookupShapesUseThePrefixIndex) {
  std::unique_ptr<SqliteDb> db = openDb(path_);
  const std::vector<std::string> shapes = {
      "SELECT 1 FROM messages WHERE substr(sha256, 1, 8) = substr(?1, 1, 8) AND sha256 = ?1 LIMIT 1",
      "SELECT m.uid FROM messages m JOIN folders f ON f.id = m.folder_id"
      " WHERE substr(m.sha256, 1, 8) = substr(?1, 1, 8) AND m.sha256 = ?1",
      "SELECT o.pack FROM objects o WHERE EXISTS (SELECT 1 FROM messages m"
      " WHERE substr(m.sha256, 1, 8) = substr(o.sha256, 1, 8) AND m.sha256 = o.sha256 AND m.folder_id = 1)",
  };
  for (const std::string& sql : shapes) {
    Result<Statement*> stmt = db->prepare("EXPLAIN QUERY PLAN " + sql);
    ASSERT_TRUE(stmt.isOk()) << stmt.status().toString();
    StatementUse use(*stmt);
    std::string all;
    for (;;) {
      Result<bool> row = use->step();
      ASSERT_TRUE(row.isOk());
      if (!*row) break;
      all += use->columnText(3) + "\n";
    }
    EXPECT_NE(all.find("USING INDEX messages_by_sha256_prefix"), std::string::npos) << sql << "\n" << all;
  }
}

TEST(StateSqlFunctions, Sha256BlobConvertsHexAndRejectsTheRest) {
  TempDir dir;
  std::unique_ptr<SqliteDb> db = openDb(dir.path() + "/f.db");
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(registerSqlFunctions(*db).isOk());
  const std::string a = shaOf("a");
  std::string upper = a;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_EQ(queryOne(*db, "SELECT lower(hex(mailark_sha256_blob('" + upper + "')))"), a);
  EXPECT_EQ(queryOne(*db, "SELECT typeof(mailark_sha256_blob('" + std::string(64, 'g') + "'))"), "null");
  EXPECT_EQ(queryOne(*db, "SELECT typeof(mailark_sha256_blob('abc'))"), "null");
  EXPECT_EQ(queryOne(*db, "SELECT typeof(mailark_sha256_blob(42))"), "null");
  EXPECT_EQ(queryOne(*db, "SELECT typeof(mailark_sha256_blob(NULL))"), "null");
}

TEST(StateEmptyIndex, PackEndsOfAnEmptyIndexIsEmpty) {
  TempDir dir;
  Result<StateStorePtr> s = openSqliteStateStore(dir.path() + "/state.db");
  ASSERT_TRUE(s.isOk());
  Result<std::map<uint32_t, uint64_t>> ends = (*s)->packEnds();
  ASSERT_TRUE(ends.isOk()) << ends.status().toString();
  EXPECT_TRUE(ends->empty());
}

}  // namespace
}  // namespace mailark::state
