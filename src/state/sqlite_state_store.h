// SqliteStateStore: StateStore on one SQLite database (schema/*.sql).
//
// Durability: WAL with synchronous=NORMAL (see open() in the .cc for why
// that is safe). Each call is its own autocommit transaction; recordMessage
// is a single cached INSERT, cheap enough to call once per message.
// Exception: findObject calls in a row share one read transaction, which
// the next other call ends before it runs (SqliteDb::beginSharedRead).
//
// Semantics beyond the StateStore contract:
// - recordMailboxResult stores the run's start time and "now" as the
//   mailbox's last_run_started / last_run_finished.
// - mailboxSummaries: `folders` counts distinct folder names (all
//   UIDVALIDITY generations of one name count once); `messages` and `bytes`
//   count message rows, so a message archived from two folders counts twice
//   although the store holds its bytes once. Ordered by address.
// - listMessages: `visit` must not call listMessages again (the cached
//   statement is mid-step); other calls on this store are fine.
// - recordBatch is one IMMEDIATE transaction; on any error it is rolled
//   back whole, so a retry with the same batch is safe.
// - Unknown run, mailbox or folder ids -> NotFound (updates) or Internal
//   (foreign-key violation on insert).
//
// - SHA-256 ids are stored as 32-byte blobs (schema/0005) and cross this
//   API as lower-case hex. Writing a malformed id is Internal; looking one
//   up finds nothing.
// - messages.archived_at is Unix seconds (schema/0005); other timestamps
//   stay ISO-8601 text.
//
// The pack-index methods live in sqlite_pack_index.cc.
//
// Threading: one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "mailark/state_store.h"
#include "src/state/sqlite_db.h"

namespace mailark::state {

class SqliteStateStore final : public StateStore {
 public:
  // Opens, configures and migrates the database at `path`.
  static Result<StateStorePtr> open(const std::string& path);

  Result<int64_t> beginRun() override;
  Status finishRun(int64_t run_id, const RunSummary& summary) override;
  Result<int64_t> mailboxId(const std::string& address) override;
  Status recordMailboxResult(int64_t mailbox_id, int64_t run_id,
                             const std::string& error) override;
  Result<FolderState> folder(int64_t mailbox_id, const std::string& name_utf8,
                             uint32_t uidvalidity) override;
  Result<bool> hasCompletedFolder(int64_t mailbox_id) override;
  Result<std::optional<FolderState>> findFolder(const std::string& mailbox, const std::string& name_utf8,
                                                uint32_t uidvalidity) override;
  Result<std::vector<uint32_t>> archivedUids(int64_t folder_id, uint32_t min_uid) override;
  Result<std::vector<UidlRow>> archivedUidls(int64_t folder_id) override;
  Status recordMessage(int64_t folder_id, const MessageRecord& message) override;
  Status updateFolderProgress(int64_t folder_id, uint32_t uidnext, uint32_t highest_uid) override;
  Status updateFolderModseq(int64_t folder_id, uint64_t modseq) override;
  Status updateFlags(int64_t folder_id, uint32_t uid, const std::string& flags) override;
  Status listMessages(const std::string& mailbox,
                      const std::function<void(const ArchivedMessage&)>& visit) override;
  Result<std::vector<MailboxSummary>> mailboxSummaries() override;
  Result<bool> hasObject(const ObjectId& id) override;
  Status recordBatch(const std::vector<StoredObject>& objects,
                     const std::vector<QueuedMessage>& messages) override;
  Status listObjects(const std::string& mailbox,
                     const std::function<Status(const StoredObject&)>& visit) override;
  Status messagesWithObject(const ObjectId& id,
                            const std::function<void(const ArchivedMessage&)>& visit) override;
  Status messagesWithoutIndex(const std::string& mailbox,
                              const std::function<void(const ArchivedMessage&)>& visit) override;
  Result<ArchiveTotals> archiveTotals() override;
  Result<std::optional<ObjectLocation>> findObject(const ObjectId& id) override;
  Result<std::map<uint32_t, uint64_t>> packEnds() override;

 private:
  Status recordBatchRows(const std::vector<StoredObject>& objects,
                         const std::vector<QueuedMessage>& messages);
  // The cached message INSERT that recordMessage and recordBatch share, and
  // one row of it.
  Result<Statement*> insertMessageStatement();
  static Status insertMessage(Statement* insert, int64_t folder_id, const MessageRecord& message,
                              int64_t archived_at);
  // Visits the rows of a query selecting the listMessages columns.
  Status visitMessages(Statement* stmt, const std::function<void(const ArchivedMessage&)>& visit);

  explicit SqliteStateStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  std::unique_ptr<SqliteDb> db_;
  // findObject's statement, kept so that lookups in a row do not prepare()
  // and so share one read transaction (SqliteDb::beginSharedRead).
  Statement* find_object_ = nullptr;
};

// Current time as ISO-8601 UTC with seconds, e.g. "2024-05-01T12:00:00Z".
std::string nowIso8601();

}  // namespace mailark::state
