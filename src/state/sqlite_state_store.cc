#include "src/state/sqlite_state_store.h"

#include <ctime>
#include <string_view>

#include "src/base/log.h"
#include "src/state/migrator.h"
#include "src/state/schema_files.h"
#include "src/state/sql_binding.h"

namespace mailark::state {

namespace {

// Long enough to ride out a checkpoint or a CLI query in another process,
// short enough that a stuck lock surfaces as an error (Transient).
constexpr int kBusyTimeoutMs = 10000;

}  // namespace

std::string nowIso8601() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

Result<StateStorePtr> SqliteStateStore::open(const std::string& path) {
  Result<std::unique_ptr<SqliteDb>> opened = SqliteDb::open(path);
  if (!opened.isOk()) return opened.status();
  std::unique_ptr<SqliteDb> db = std::move(opened).value();

  MAILARK_RETURN_IF_ERROR(db->exec("PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMs)));
  MAILARK_RETURN_IF_ERROR(db->exec("PRAGMA foreign_keys = ON"));
  // The pack index is looked up once per message; at millions of objects the
  // default 2 MB page cache turns each lookup into several reads. Map the
  // file and keep a larger cache so lookups stay flat as the archive grows.
  MAILARK_RETURN_IF_ERROR(db->exec("PRAGMA cache_size = -65536"));
  MAILARK_RETURN_IF_ERROR(db->exec("PRAGMA mmap_size = 1073741824"));
  // Migrate before changing the journal mode, so a database from a newer
  // mailark is refused before this build writes anything to it.
  MAILARK_RETURN_IF_ERROR(migrate(*db, schemaFiles()));

  Result<Statement*> wal = db->prepare("PRAGMA journal_mode = WAL");
  if (!wal.isOk()) return wal.status();
  std::string mode;
  {
    StatementUse use(*wal);
    Result<bool> row = use->step();
    if (!row.isOk()) return row.status();
    if (*row) mode = use->columnText(0);
  }
  if (mode == "wal") {
    // synchronous=NORMAL in WAL mode skips the fsync on each commit; a power
    // loss can drop the most recent commits, but WAL recovery always keeps a
    // consistent prefix of them. That is safe here because of the store's
    // ordering rule: a message row is written only after its bytes were
    // fsynced into the ContentStore. Losing a suffix of rows makes the state
    // lag the store (the next run fetches those UIDs again and the store
    // dedups them); it can never make the state claim bytes that are not
    // durable. A prefix also means progress never outruns the rows it sums.
    MAILARK_RETURN_IF_ERROR(db->exec("PRAGMA synchronous = NORMAL"));
  } else {
    // Some file systems (e.g. network mounts) cannot host the WAL index;
    // without WAL, NORMAL could corrupt, so pay for FULL.
    log::warn("state database " + path + ": WAL unavailable (journal mode '" + mode +
              "'); using synchronous=FULL, which is slower");
    MAILARK_RETURN_IF_ERROR(db->exec("PRAGMA synchronous = FULL"));
  }
  return StateStorePtr(new SqliteStateStore(std::move(db)));
}

Result<int64_t> SqliteStateStore::beginRun() {
  MAILARK_USE_STATEMENT(stmt, "INSERT INTO runs(started) VALUES (?1)");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), nowIso8601()));
  MAILARK_RETURN_IF_ERROR(stmt->run());
  return db_->lastInsertRowid();
}

Status SqliteStateStore::finishRun(int64_t run_id, const RunSummary& summary) {
  MAILARK_USE_STATEMENT(stmt,
                        "UPDATE runs SET finished = ?2, mailboxes_ok = ?3, mailboxes_failed = ?4,"
                        " messages = ?5, bytes = ?6 WHERE id = ?1");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), run_id, nowIso8601(), summary.mailboxes_ok,
                                  summary.mailboxes_failed, summary.messages, summary.bytes));
  MAILARK_RETURN_IF_ERROR(stmt->run());
  if (db_->changes() == 0) return notFound("run " + std::to_string(run_id) + " does not exist");
  return Status::ok();
}

Result<int64_t> SqliteStateStore::mailboxId(const std::string& address) {
  {
    // ON CONFLICT DO NOTHING rather than a SELECT-then-INSERT, so a second
    // process creating the same mailbox cannot trip the UNIQUE constraint.
    MAILARK_USE_STATEMENT(insert,
                          "INSERT INTO mailboxes(address) VALUES (?1)"
                          " ON CONFLICT(address) DO NOTHING");
    MAILARK_RETURN_IF_ERROR(bindAll(insert.get(), address));
    MAILARK_RETURN_IF_ERROR(insert->run());
  }
  MAILARK_USE_STATEMENT(select, "SELECT id FROM mailboxes WHERE address = ?1");
  MAILARK_RETURN_IF_ERROR(bindAll(select.get(), address));
  Result<bool> row = select->step();
  if (!row.isOk()) return row.status();
  if (!*row) return internalError("mailbox row for " + address + " vanished after insert");
  return select->columnInt64(0);
}

Status SqliteStateStore::recordMailboxResult(int64_t mailbox_id, int64_t run_id,
                                             const std::string& error) {
  MAILARK_USE_STATEMENT(stmt,
                        "UPDATE mailboxes SET last_run_id = ?2,"
                        " last_run_started = (SELECT started FROM runs WHERE id = ?2),"
                        " last_run_finished = ?3, last_error = NULLIF(?4, ''),"
                        " last_success = CASE WHEN ?4 = '' THEN ?3 ELSE last_success END"
                        " WHERE id = ?1");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), mailbox_id, run_id, nowIso8601(), error));
  MAILARK_RETURN_IF_ERROR(stmt->run());
  if (db_->changes() == 0) {
    return notFound("mailbox id " + std::to_string(mailbox_id) + " does not exist");
  }
  return Status::ok();
}

Result<FolderState> SqliteStateStore::folder(int64_t mailbox_id, const std::string& name_utf8,
                                             uint32_t uidvalidity) {
  {
    MAILARK_USE_STATEMENT(insert,
                          "INSERT INTO folders(mailbox_id, name, uidvalidity, created_at)"
                          " VALUES (?1, ?2, ?3, ?4)"
                          " ON CONFLICT(mailbox_id, name, uidvalidity) DO NOTHING");
    MAILARK_RETURN_IF_ERROR(bindAll(insert.get(), mailbox_id, name_utf8,
                                    int64_t{uidvalidity}, nowIso8601()));
    MAILARK_RETURN_IF_ERROR(insert->run());
  }
  MAILARK_USE_STATEMENT(select,
                        "SELECT id, uidnext, highest_uid, highest_modseq FROM folders"
                        " WHERE mailbox_id = ?1 AND name = ?2 AND uidvalidity = ?3");
  MAILARK_RETURN_IF_ERROR(bindAll(select.get(), mailbox_id, name_utf8, int64_t{uidvalidity}));
  Result<bool> row = select->step();
  if (!row.isOk()) return row.status();
  if (!*row) return internalError("folder row for " + name_utf8 + " vanished after insert");
  FolderState state;
  state.folder_id = select->columnInt64(0);
  state.uidvalidity = uidvalidity;
  state.uidnext = static_cast<uint32_t>(select->columnInt64(1));
  state.highest_uid = static_cast<uint32_t>(select->columnInt64(2));
  state.highest_modseq = static_cast<uint64_t>(select->columnInt64(3));
  return state;
}

Status SqliteStateStore::updateFolderModseq(int64_t folder_id, uint64_t modseq) {
  MAILARK_USE_STATEMENT(stmt, "UPDATE folders SET highest_modseq = ?2 WHERE id = ?1");
  // SQLite integers are signed 64-bit; RFC 7162 mod-sequences fit in 63 bits.
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), folder_id, static_cast<int64_t>(modseq)));
  return stmt->run();
}

Status SqliteStateStore::updateFlags(int64_t folder_id, uint32_t uid, const std::string& flags) {
  MAILARK_USE_STATEMENT(stmt, "UPDATE messages SET flags = ?3 WHERE folder_id = ?1 AND uid = ?2");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), folder_id, int64_t{uid}, flags));
  return stmt->run();
}

Result<std::optional<FolderState>> SqliteStateStore::findFolder(const std::string& mailbox,
                                                                const std::string& name_utf8,
                                                                uint32_t uidvalidity) {
  MAILARK_USE_STATEMENT(select,
                        "SELECT f.id, f.uidnext, f.highest_uid FROM folders f"
                        " JOIN mailboxes mb ON mb.id = f.mailbox_id"
                        " WHERE mb.address = ?1 AND f.name = ?2 AND f.uidvalidity = ?3");
  MAILARK_RETURN_IF_ERROR(bindAll(select.get(), mailbox, name_utf8, int64_t{uidvalidity}));
  Result<bool> row = select->step();
  if (!row.isOk()) return row.status();
  if (!*row) return std::optional<FolderState>();
  FolderState state;
  state.folder_id = select->columnInt64(0);
  state.uidvalidity = uidvalidity;
  state.uidnext = static_cast<uint32_t>(select->columnInt64(1));
  state.highest_uid = static_cast<uint32_t>(select->columnInt64(2));
  return std::optional<FolderState>(state);
}

Result<bool> SqliteStateStore::hasCompletedFolder(int64_t mailbox_id) {
  MAILARK_USE_STATEMENT(select, "SELECT 1 FROM folders WHERE mailbox_id = ?1 AND uidnext != 0 LIMIT 1");
  MAILARK_RETURN_IF_ERROR(bindAll(select.get(), mailbox_id));
  return select->step();
}

Result<std::vector<uint32_t>> SqliteStateStore::archivedUids(int64_t folder_id, uint32_t min_uid) {
  MAILARK_USE_STATEMENT(stmt,
                        "SELECT uid FROM messages WHERE folder_id = ?1 AND uid >= ?2 ORDER BY uid");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), folder_id, int64_t{min_uid}));
  std::vector<uint32_t> uids;
  for (;;) {
    Result<bool> row = stmt->step();
    if (!row.isOk()) return row.status();
    if (!*row) break;
    uids.push_back(static_cast<uint32_t>(stmt->columnInt64(0)));
  }
  return uids;
}

Result<std::vector<StateStore::UidlRow>> SqliteStateStore::archivedUidls(int64_t folder_id) {
  MAILARK_USE_STATEMENT(stmt,
                        "SELECT uid, uidl FROM messages WHERE folder_id = ?1 AND uidl IS NOT NULL"
                        " ORDER BY uid");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), folder_id));
  std::vector<UidlRow> rows;
  for (;;) {
    Result<bool> row = stmt->step();
    if (!row.isOk()) return row.status();
    if (!*row) break;
    rows.push_back({static_cast<uint32_t>(stmt->columnInt64(0)), stmt->columnText(1)});
  }
  return rows;
}

Status SqliteStateStore::recordMessage(int64_t folder_id, const MessageRecord& message) {
  Result<Statement*> insert = insertMessageStatement();
  if (!insert.isOk()) return insert.status();
  return insertMessage(*insert, folder_id, message, static_cast<int64_t>(std::time(nullptr)));
}

Result<Statement*> SqliteStateStore::insertMessageStatement() {
  // A bare ON CONFLICT covers both the (folder_id, uid) key and the POP3
  // (folder_id, uidl) index; NULLIF keeps IMAP rows' uidl NULL.
  return db_->prepare(
      "INSERT INTO messages(folder_id, uid, sha256, size, internaldate, flags,"
      " archived_at, uidl) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULLIF(?8, ''))"
      " ON CONFLICT DO NOTHING");
}

Status SqliteStateStore::insertMessage(Statement* insert, int64_t folder_id,
                                       const MessageRecord& message, int64_t archived_at) {
  Result<Digest> sha256 = digestOfId(message.sha256);
  if (!sha256.isOk()) return sha256.status();
  // sha256 and message outlive `use`, so they are bound without copies.
  StatementUse use(insert);
  MAILARK_RETURN_IF_ERROR(bindAll(insert, folder_id, int64_t{message.uid}, DigestRef{*sha256},
                                  static_cast<int64_t>(message.size), TextRef{message.internaldate},
                                  TextRef{message.flags}, archived_at, TextRef{message.uidl}));
  return insert->run();
}

Status SqliteStateStore::updateFolderProgress(int64_t folder_id, uint32_t uidnext,
                                              uint32_t highest_uid) {
  MAILARK_USE_STATEMENT(stmt, "UPDATE folders SET uidnext = ?2, highest_uid = ?3 WHERE id = ?1");
  MAILARK_RETURN_IF_ERROR(
      bindAll(stmt.get(), folder_id, int64_t{uidnext}, int64_t{highest_uid}));
  MAILARK_RETURN_IF_ERROR(stmt->run());
  if (db_->changes() == 0) {
    return notFound("folder id " + std::to_string(folder_id) + " does not exist");
  }
  return Status::ok();
}

Status SqliteStateStore::listMessages(const std::string& mailbox,
                                      const std::function<void(const ArchivedMessage&)>& visit) {
  MAILARK_USE_STATEMENT(
      stmt,
      "SELECT mb.address, f.name, f.uidvalidity, m.uid, m.sha256, m.size, m.internaldate, m.flags,"
      " coalesce(m.uidl, '')"
      " FROM messages m JOIN folders f ON f.id = m.folder_id"
      " JOIN mailboxes mb ON mb.id = f.mailbox_id"
      " WHERE ?1 = '' OR mb.address = ?1"
      " ORDER BY mb.address, f.name, f.uidvalidity, m.uid");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), mailbox));
  return visitMessages(stmt.get(), visit);
}

Status SqliteStateStore::visitMessages(Statement* stmt,
                                       const std::function<void(const ArchivedMessage&)>& visit) {
  ArchivedMessage out;
  for (;;) {
    Result<bool> row = stmt->step();
    if (!row.isOk()) return row.status();
    if (!*row) return Status::ok();
    out.mailbox = stmt->columnText(0);
    out.folder = stmt->columnText(1);
    out.uidvalidity = static_cast<uint32_t>(stmt->columnInt64(2));
    out.message.uid = static_cast<uint32_t>(stmt->columnInt64(3));
    MAILARK_RETURN_IF_ERROR(columnObjectId(*stmt, 4, &out.message.sha256));
    out.message.size = static_cast<uint64_t>(stmt->columnInt64(5));
    out.message.internaldate = stmt->columnText(6);
    out.message.flags = stmt->columnText(7);
    out.message.uidl = stmt->columnText(8);
    visit(out);
  }
}

Result<std::vector<MailboxSummary>> SqliteStateStore::mailboxSummaries() {
  MAILARK_USE_STATEMENT(
      stmt,
      "SELECT mb.address, count(DISTINCT f.name), count(m.uid), coalesce(sum(m.size), 0),"
      " coalesce(mb.last_run_started, ''), coalesce(mb.last_run_finished, ''),"
      " coalesce(mb.last_error, ''), coalesce(mb.last_success, ''),"
      " (SELECT coalesce(sum(o.length), 0) FROM objects o WHERE o.sha256 IN"
      "   (SELECT m2.sha256 FROM messages m2 JOIN folders f2 ON f2.id = m2.folder_id"
      "    WHERE f2.mailbox_id = mb.id))"
      " FROM mailboxes mb LEFT JOIN folders f ON f.mailbox_id = mb.id"
      " LEFT JOIN messages m ON m.folder_id = f.id"
      " GROUP BY mb.id ORDER BY mb.address");
  std::vector<MailboxSummary> summaries;
  for (;;) {
    Result<bool> row = stmt->step();
    if (!row.isOk()) return row.status();
    if (!*row) break;
    MailboxSummary s;
    s.mailbox = stmt->columnText(0);
    s.folders = stmt->columnInt64(1);
    s.messages = stmt->columnInt64(2);
    s.bytes = stmt->columnInt64(3);
    s.last_run_started = stmt->columnText(4);
    s.last_run_finished = stmt->columnText(5);
    s.last_error = stmt->columnText(6);
    s.last_success = stmt->columnText(7);
    s.stored_bytes = stmt->columnInt64(8);
    summaries.push_back(std::move(s));
  }
  return summaries;
}

Result<bool> SqliteStateStore::hasObject(const ObjectId& id) {
  // A malformed id names no object, as it did when ids were stored as text.
  Digest sha256;
  if (!parseDigestHex(id, &sha256)) return false;
  // The prefix term selects messages_by_sha256_prefix (schema/0005).
  MAILARK_USE_STATEMENT(stmt,
                        "SELECT 1 FROM messages WHERE substr(sha256, 1, 8) = substr(?1, 1, 8)"
                        " AND sha256 = ?1 LIMIT 1");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), sha256));
  return stmt->step();
}

}  // namespace mailark::state

namespace mailark {

Result<StateStorePtr> openSqliteStateStore(const std::string& path) {
  return state::SqliteStateStore::open(path);
}

}  // namespace mailark
