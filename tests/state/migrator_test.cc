#include "src/state/migrator.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "mailark/state_store.h"
#include "src/state/schema_files.h"
#include "src/state/sqlite_db.h"
#include "tests/store/test_dirs.h"

namespace mailark::state {
namespace {

using mailark::testing::TempDir;

std::unique_ptr<SqliteDb> openDb(const std::string& path) {
  Result<std::unique_ptr<SqliteDb>> db = SqliteDb::open(path);
  EXPECT_TRUE(db.isOk()) << db.status().toString();
  return db.isOk() ? std::move(db).value() : nullptr;
}

// Runs a one-value query, e.g. "PRAGMA journal_mode"; "" on error.
std::string queryText(SqliteDb& db, const std::string& sql) {
  Result<Statement*> stmt = db.prepare(sql);
  if (!stmt.isOk()) return "";
  StatementUse use(*stmt);
  Result<bool> row = use->step();
  return row.isOk() && *row ? use->columnText(0) : "";
}

bool tableExists(SqliteDb& db, const std::string& name) {
  return queryText(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '" + name +
                           "'") == name;
}

class MigratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    path_ = dir_.path() + "/state.db";
    db_ = openDb(path_);
    ASSERT_NE(db_, nullptr);
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteDb> db_;
};

TEST_F(MigratorTest, EmbeddedSchemaIsPresentAndAscending) {
  const std::vector<SchemaFile>& files = schemaFiles();
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.front().version, 1);
  EXPECT_EQ(files.front().name, "0001_init.sql");
  EXPECT_NE(files.front().sql.find("CREATE TABLE messages"), std::string_view::npos);
}

TEST_F(MigratorTest, FreshDatabaseGetsEveryTableAndTheNewestVersion) {
  ASSERT_EQ(*schemaVersion(*db_), 0);
  Status s = migrate(*db_, schemaFiles());
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(*schemaVersion(*db_), schemaFiles().back().version);
  for (const char* table : {"runs", "mailboxes", "folders", "messages"}) {
    EXPECT_TRUE(tableExists(*db_, table)) << table;
  }
  // A second pass has nothing to do and must not fail on existing tables.
  s = migrate(*db_, schemaFiles());
  EXPECT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(*schemaVersion(*db_), schemaFiles().back().version);
}

TEST_F(MigratorTest, AppliesOnlyNewerFilesInOrder) {
  std::vector<SchemaFile> v1 = {{1, "0001_a.sql", "CREATE TABLE a(x);"}};
  ASSERT_TRUE(migrate(*db_, v1).isOk());
  std::vector<SchemaFile> v3 = {
      {1, "0001_a.sql", "CREATE TABLE a(x);"},  // would fail if re-run
      {2, "0002_b.sql", "CREATE TABLE b(x); INSERT INTO b VALUES (2);"},
      {3, "0003_c.sql", "ALTER TABLE b ADD COLUMN y; UPDATE b SET y = x * 10;"},
  };
  Status s = migrate(*db_, v3);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(*schemaVersion(*db_), 3);
  EXPECT_EQ(queryText(*db_, "SELECT y FROM b"), "20");
}

TEST_F(MigratorTest, FailingFileRollsBackAndKeepsThePreviousVersion) {
  std::vector<SchemaFile> files = {
      {1, "0001_a.sql", "CREATE TABLE a(x);"},
      {2, "0002_bad.sql", "CREATE TABLE c(x); THIS IS NOT SQL;"},
  };
  Status s = migrate(*db_, files);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("0002_bad.sql"), std::string::npos) << s.message();
  EXPECT_EQ(*schemaVersion(*db_), 1);
  EXPECT_TRUE(tableExists(*db_, "a"));
  EXPECT_FALSE(tableExists(*db_, "c")) << "half-applied migration was not rolled back";
}

TEST_F(MigratorTest, NewerDatabaseIsRefusedWithUpgradeAdvice) {
  ASSERT_TRUE(db_->exec("PRAGMA user_version = 99").isOk());
  Status s = migrate(*db_, {{1, "0001_a.sql", "CREATE TABLE a(x);"}});
  ASSERT_EQ(s.code(), StatusCode::Config);
  EXPECT_EQ(s.message(),
            "archive state was written by a newer mailark (schema v99, this build knows up to v1): "
            "upgrade mailark");
  EXPECT_FALSE(tableExists(*db_, "a"));
}

TEST_F(MigratorTest, UnorderedFilesAreABug) {
  Status s = migrate(*db_, {{2, "0002_b.sql", ""}, {1, "0001_a.sql", ""}});
  EXPECT_EQ(s.code(), StatusCode::Internal);
  EXPECT_EQ(*schemaVersion(*db_), 0);
}

TEST_F(MigratorTest, StateStoreRefusesNewerDatabaseWithoutTouchingIt) {
  const int newest = schemaFiles().back().version;
  ASSERT_TRUE(db_->exec("PRAGMA user_version = " + std::to_string(newest + 1)).isOk());
  db_.reset();
  Result<StateStorePtr> store = openSqliteStateStore(path_);
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), StatusCode::Config);
  EXPECT_EQ(store.status().message(),
            "archive state was written by a newer mailark (schema v" + std::to_string(newest + 1) +
                ", this build knows up to v" + std::to_string(newest) + "): upgrade mailark");
  db_ = openDb(path_);
  EXPECT_EQ(*schemaVersion(*db_), newest + 1);
  EXPECT_EQ(queryText(*db_, "PRAGMA journal_mode"), "delete");
}

TEST_F(MigratorTest, GarbageFileIsAnIoErrorNotACrash) {
  db_.reset();
  std::ofstream(path_, std::ios::trunc) << std::string(8192, 'z');
  Result<StateStorePtr> store = openSqliteStateStore(path_);
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), StatusCode::Io) << store.status().toString();
}

}  // namespace
}  // namespace mailark::state
