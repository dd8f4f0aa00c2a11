// SqliteStateStore, part two: the pack index (objects table) and the
// queries that join it with messages. Keys are 32-byte blobs in SQL and hex
// ObjectIds outside (sql_binding.h converts).
//
// messages is searched by hash through messages_by_sha256_prefix, an index
// on the first 8 bytes only (schema/0005). A query uses it by repeating the
// indexed expression exactly, "substr(m.sha256, 1, 8) = substr(X, 1, 8)",
// and then compares the whole hash, which a prefix collision cannot fool.
#include <ctime>
#include <string>

#include "src/state/sqlite_state_store.h"
#include "src/state/sql_binding.h"

namespace mailark::state {

namespace {

constexpr const char* kMessageColumns =
    "SELECT mb.address, f.name, f.uidvalidity, m.uid, m.sha256, m.size, m.internaldate, m.flags,"
    " coalesce(m.uidl, '')"
    " FROM messages m JOIN folders f ON f.id = m.folder_id"
    " JOIN mailboxes mb ON mb.id = f.mailbox_id";

}  // namespace

Status SqliteStateStore::recordBatch(const std::vector<StoredObject>& objects,
                                     const std::vector<QueuedMessage>& messages) {
  if (objects.empty() && messages.empty()) return Status::ok();
  MAILARK_RETURN_IF_ERROR(db_->exec("BEGIN IMMEDIATE"));
  Status s = recordBatchRows(objects, messages);
  if (s.isOk()) s = db_->exec("COMMIT");
  if (!s.isOk()) {
    db_->exec("ROLLBACK").ignoreError();
    return s.withContext("record a batch of " + std::to_string(messages.size()) + " message(s)");
  }
  return Status::ok();
}

Status SqliteStateStore::recordBatchRows(const std::vector<StoredObject>& objects,
                                         const std::vector<QueuedMessage>& messages) {
  // Both statements are looked up once per batch, not once per row.
  Result<Statement*> insert_object =
      db_->prepare("INSERT INTO objects(sha256, pack, pack_offset, length, stored_size, size, compression)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(sha256) DO NOTHING");
  if (!insert_object.isOk()) return insert_object.status();
  Result<Statement*> insert_message = insertMessageStatement();
  if (!insert_message.isOk()) return insert_message.status();
  for (const StoredObject& o : objects) {
    Result<Digest> sha256 = digestOfId(o.id);
    if (!sha256.isOk()) return sha256.status();
    StatementUse use(*insert_object);
    MAILARK_RETURN_IF_ERROR(bindAll(use.get(), DigestRef{*sha256}, int64_t{o.where.pack},
                                    static_cast<int64_t>(o.where.offset), static_cast<int64_t>(o.where.length),
                                    static_cast<int64_t>(o.where.stored_size), static_cast<int64_t>(o.where.size),
                                    static_cast<int64_t>(o.where.compression)));
    MAILARK_RETURN_IF_ERROR(use->run());
  }
  // The rows commit together, so they share one archived_at.
  const int64_t archived_at = static_cast<int64_t>(std::time(nullptr));
  for (const QueuedMessage& m : messages) {
    MAILARK_RETURN_IF_ERROR(insertMessage(*insert_message, m.folder_id, m.message, archived_at));
  }
  return Status::ok();
}

Status SqliteStateStore::listObjects(const std::string& mailbox,
                                     const std::function<Status(const StoredObject&)>& visit) {
  MAILARK_USE_STATEMENT(stmt,
                        "SELECT sha256, pack, pack_offset, length, stored_size, size, compression FROM objects o"
                        " WHERE ?1 = '' OR EXISTS (SELECT 1 FROM messages m JOIN folders f ON f.id = m.folder_id"
                        "   JOIN mailboxes mb ON mb.id = f.mailbox_id"
                        "   WHERE substr(m.sha256, 1, 8) = substr(o.sha256, 1, 8) AND m.sha256 = o.sha256"
                        "   AND mb.address = ?1)"
                        " ORDER BY pack, pack_offset");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), mailbox));
  StoredObject o;
  for (;;) {
    Result<bool> row = stmt->step();
    if (!row.isOk()) return row.status();
    if (!*row) return Status::ok();
    MAILARK_RETURN_IF_ERROR(columnObjectId(*stmt.get(), 0, &o.id));
    o.where.pack = static_cast<uint32_t>(stmt->columnInt64(1));
    o.where.offset = static_cast<uint64_t>(stmt->columnInt64(2));
    o.where.length = static_cast<uint64_t>(stmt->columnInt64(3));
    o.where.stored_size = static_cast<uint64_t>(stmt->columnInt64(4));
    o.where.size = static_cast<uint64_t>(stmt->columnInt64(5));
    o.where.compression = static_cast<Compression>(stmt->columnInt64(6));
    MAILARK_RETURN_IF_ERROR(visit(o));
  }
}

Status SqliteStateStore::messagesWithObject(const ObjectId& id,
                                            const std::function<void(const ArchivedMessage&)>& visit) {
  // A malformed id names no object, as it did when ids were stored as text.
  Digest sha256;
  if (!parseDigestHex(id, &sha256)) return Status::ok();
  MAILARK_USE_STATEMENT(stmt, std::string(kMessageColumns) +
                                  " WHERE substr(m.sha256, 1, 8) = substr(?1, 1, 8) AND m.sha256 = ?1"
                                  " ORDER BY mb.address, f.name, f.uidvalidity, m.uid");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), sha256));
  return visitMessages(stmt.get(), visit);
}

Status SqliteStateStore::messagesWithoutIndex(const std::string& mailbox,
                                              const std::function<void(const ArchivedMessage&)>& visit) {
  MAILARK_USE_STATEMENT(stmt, std::string(kMessageColumns) +
                                  " WHERE (?1 = '' OR mb.address = ?1)"
                                  " AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.sha256 = m.sha256)"
                                  " ORDER BY mb.address, f.name, f.uidvalidity, m.uid");
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), mailbox));
  return visitMessages(stmt.get(), visit);
}

Result<ArchiveTotals> SqliteStateStore::archiveTotals() {
  ArchiveTotals t;
  {
    MAILARK_USE_STATEMENT(stmt, "SELECT count(*), coalesce(sum(length), 0), coalesce(sum(size), 0) FROM objects");
    Result<bool> row = stmt->step();
    if (!row.isOk()) return row.status();
    t.objects = stmt->columnInt64(0);
    t.stored_bytes = stmt->columnInt64(1);
    t.object_bytes = stmt->columnInt64(2);
  }
  MAILARK_USE_STATEMENT(stmt, "SELECT count(*), coalesce(sum(size), 0) FROM messages");
  Result<bool> row = stmt->step();
  if (!row.isOk()) return row.status();
  t.messages = stmt->columnInt64(0);
  t.message_bytes = stmt->columnInt64(1);
  return t;
}

Result<std::optional<ObjectLocation>> SqliteStateStore::findObject(const ObjectId& id) {
  Digest sha256;
  if (!parseDigestHex(id, &sha256)) return std::optional<ObjectLocation>();
  if (find_object_ == nullptr) {
    Result<Statement*> prepared =
        db_->prepare("SELECT pack, pack_offset, length, stored_size, size, compression FROM objects WHERE sha256 = ?1");
    if (!prepared.isOk()) return prepared.status();
    find_object_ = *prepared;
  }
  // The store asks once per new object, usually many times between two
  // other calls: one read transaction serves the whole run of lookups.
  MAILARK_RETURN_IF_ERROR(db_->beginSharedRead());
  StatementUse stmt(find_object_);
  MAILARK_RETURN_IF_ERROR(bindAll(stmt.get(), DigestRef{sha256}));
  Result<bool> row = stmt->step();
  if (!row.isOk()) return row.status();
  if (!*row) return std::optional<ObjectLocation>();
  ObjectLocation where;
  where.pack = static_cast<uint32_t>(stmt->columnInt64(0));
  where.offset = static_cast<uint64_t>(stmt->columnInt64(1));
  where.length = static_cast<uint64_t>(stmt->columnInt64(2));
  where.stored_size = static_cast<uint64_t>(stmt->columnInt64(3));
  where.size = static_cast<uint64_t>(stmt->columnInt64(4));
  where.compression = static_cast<Compression>(stmt->columnInt64(5));
  return std::optional<ObjectLocation>(where);
}

Result<std::map<uint32_t, uint64_t>> SqliteStateStore::packEnds() {
  // Frames are appended, so a pack's end is the end of its frame with the
  // highest offset. The recursive query hops from pack to pack through
  // objects_by_location and reads one row per pack: O(packs * log n), where
  // a GROUP BY would scan every object on each open of the store.
  MAILARK_USE_STATEMENT(stmt,
                        "WITH RECURSIVE packs(pack) AS ("
                        "   SELECT min(pack) FROM objects"
                        "   UNION ALL"
                        "   SELECT (SELECT min(o.pack) FROM objects o WHERE o.pack > packs.pack)"
                        "   FROM packs WHERE packs.pack IS NOT NULL)"
                        " SELECT pack, (SELECT o.pack_offset + o.length FROM objects o"
                        "   WHERE o.pack = packs.pack ORDER BY o.pack_offset DESC LIMIT 1)"
                        " FROM packs WHERE pack IS NOT NULL");
  std::map<uint32_t, uint64_t> ends;
  for (;;) {
    Result<bool> row = stmt->step();
    if (!row.isOk()) return row.status();
    if (!*row) return ends;
    ends[static_cast<uint32_t>(stmt->columnInt64(0))] = static_cast<uint64_t>(stmt->columnInt64(1));
  }
}

}  // namespace mailark::state
