// The POP3 side of the state (schema/0002_pop3.sql): UIDL rows, their
// no-op re-recording, listing, and migrating an archive made before them.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include <string>

#include "mailark/state_store.h"
#include "src/state/sqlite_state_store.h"
#include "tests/store/test_dirs.h"

namespace mailark {
namespace {

using mailark::testing::TempDir;

std::string sha(char c) { return std::string(64, c); }

TEST(Pop3State, UidlsAreRecordedOnceAndListed) {
  TempDir dir;
  Result<StateStorePtr> opened = openSqliteStateStore(dir.path() + "/state.db");
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  StateStore& state = **opened;
  int64_t mb = state.mailboxId("a@contoso.test").value();
  int64_t pop = state.folder(mb, "INBOX", 0).value().folder_id;
  int64_t imap = state.folder(mb, "INBOX", 7).value().folder_id;
  ASSERT_NE(pop, imap);

  MessageRecord m1{1, sha('a'), 10, "", "", "uidl-1"};
  MessageRecord m2{2, sha('b'), 20, "", "", "uidl-2"};
  ASSERT_TRUE(state.recordMessage(pop, m1).isOk());
  ASSERT_TRUE(state.recordMessage(pop, m2).isOk());
  // Same UIDL under another uid: a no-op, not a second row.
  MessageRecord again{3, sha('c'), 30, "", "", "uidl-1"};
  ASSERT_TRUE(state.recordMessage(pop, again).isOk());
  // IMAP rows carry no UIDL.
  ASSERT_TRUE(state.recordMessage(imap, MessageRecord{5, sha('a'), 10, "d", "\\Seen"}).isOk());

  Result<std::vector<StateStore::UidlRow>> rows = state.archivedUidls(pop);
  ASSERT_TRUE(rows.isOk()) << rows.status().toString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].uid, 1u);
  EXPECT_EQ((*rows)[0].uidl, "uidl-1");
  EXPECT_EQ((*rows)[1].uidl, "uidl-2");
  EXPECT_TRUE(state.archivedUidls(imap).value().empty());

  std::vector<ArchivedMessage> listed;
  ASSERT_TRUE(state.listMessages("", [&](const ArchivedMessage& m) { listed.push_back(m); }).isOk());
  ASSERT_EQ(listed.size(), 3u);
  for (const ArchivedMessage& m : listed) {
    EXPECT_EQ(m.folder, "INBOX");
    EXPECT_EQ(m.message.uidl.empty(), m.uidvalidity != 0) << m.message.uid;
  }
}

// An archive written by the schema-v1 mailark keeps its rows and gains the
// uidl column (NULL for them).
TEST(Pop3State, MigratesAnArchiveFromBeforePop3) {
  TempDir dir;
  std::string path = dir.path() + "/state.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    std::string v1 = R"(
      CREATE TABLE runs (id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT,
        mailboxes_ok INTEGER NOT NULL DEFAULT 0, mailboxes_failed INTEGER NOT NULL DEFAULT 0,
        messages INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE mailboxes (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE,
        last_run_id INTEGER REFERENCES runs(id), last_run_started TEXT, last_run_finished TEXT, last_error TEXT);
      CREATE TABLE folders (id INTEGER PRIMARY KEY, mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
        name TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL DEFAULT 0,
        highest_uid INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, UNIQUE (mailbox_id, name, uidvalidity));
      CREATE TABLE messages (folder_id INTEGER NOT NULL REFERENCES folders(id), uid INTEGER NOT NULL,
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64), size INTEGER NOT NULL, internaldate TEXT NOT NULL,
        flags TEXT NOT NULL, archived_at TEXT NOT NULL, PRIMARY KEY (folder_id, uid)) WITHOUT ROWID;
      CREATE INDEX messages_by_sha256 ON messages(sha256);
      INSERT INTO mailboxes(id, address) VALUES (1, 'a@contoso.test');
      INSERT INTO folders(id, mailbox_id, name, uidvalidity, created_at) VALUES (1, 1, 'INBOX', 9, 'x');
      INSERT INTO messages VALUES (1, 4, ')" + sha('d') + R"(', 5, 'd', '', 'x');
      PRAGMA user_version = 1;)";
    ASSERT_EQ(sqlite3_exec(db, v1.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  Result<StateStorePtr> opened = openSqliteStateStore(path);
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  std::vector<ArchivedMessage> listed;
  ASSERT_TRUE((*opened)->listMessages("", [&](const ArchivedMessage& m) { listed.push_back(m); }).isOk());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].message.sha256, sha('d'));
  EXPECT_TRUE(listed[0].message.uidl.empty());
  int64_t pop = (*opened)->folder(1, "INBOX", 0).value().folder_id;
  EXPECT_TRUE((*opened)->recordMessage(pop, MessageRecord{1, sha('e'), 5, "", "", "u"}).isOk());
  EXPECT_EQ((*opened)->archivedUidls(pop).value().size(), 1u);
}

}  // namespace
}  // namespace mailark
