// StateStore: what has been archived, and where each folder's sync stands.
//
// The rule that keeps the archive safe: recordMessage() is called only after
// the message's bytes are durable in the ContentStore. The state may lag the
// store (an object with no row is re-linked on the next run) but never lead it.
//
// Threading: one thread at a time (the engine's loop or a CLI command).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mailark/content_store.h"
#include "mailark/status.h"

namespace mailark {

struct FolderState {
  int64_t folder_id = 0;
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 0;      // UIDNEXT seen when the folder last completed; 0 if never
  uint32_t highest_uid = 0;  // every UID <= this that the server listed is archived
  uint64_t highest_modseq = 0;  // CONDSTORE: flags are current up to this; 0 if unknown
};

struct MessageRecord {
  uint32_t uid = 0;
  ObjectId sha256;
  uint64_t size = 0;
  std::string internaldate;  // as the server sent it, e.g. "17-Jul-1996 02:44:25 -0700"
  std::string flags;         // space-separated, e.g. "\\Seen \\Answered"
  std::string uidl = {};     // POP3 only: the server's unique id; empty for IMAP
};

struct ArchivedMessage {
  std::string mailbox;
  std::string folder;  // decoded UTF-8 name
  uint32_t uidvalidity = 0;
  MessageRecord message;
};

struct MailboxSummary {
  std::string mailbox;
  int64_t folders = 0;
  int64_t messages = 0;
  int64_t bytes = 0;
  std::string last_run_started;   // ISO-8601 UTC, empty if never
  std::string last_run_finished;  // empty if never finished
  std::string last_error;         // empty when the last run succeeded
  int64_t stored_bytes = 0;       // pack bytes of the distinct objects it holds
  std::string last_success;       // finish of the last run without error; empty if none
};

// A message waiting in a group commit for its bytes to become durable.
struct QueuedMessage {
  int64_t folder_id = 0;
  MessageRecord message;
};

struct ArchiveTotals {
  int64_t objects = 0;         // indexed (packed) objects
  int64_t stored_bytes = 0;    // their pack bytes (frames)
  int64_t object_bytes = 0;    // their original bytes
  int64_t messages = 0;        // message rows
  int64_t message_bytes = 0;   // sum of message sizes, counting each holder
};

struct RunSummary {
  int64_t mailboxes_ok = 0;
  int64_t mailboxes_failed = 0;
  int64_t messages = 0;
  int64_t bytes = 0;
};

// The StateStore is also the pack store's ObjectIndex (findObject,
// packEnds), so index rows and message rows commit in one transaction.
class StateStore : public ObjectIndex {
 public:
  virtual ~StateStore() = default;

  // Runs: one row per `mailark run`.
  virtual Result<int64_t> beginRun() = 0;
  virtual Status finishRun(int64_t run_id, const RunSummary& summary) = 0;

  // Returns the mailbox's id, creating the row if needed.
  virtual Result<int64_t> mailboxId(const std::string& address) = 0;
  // Records the outcome of this run for one mailbox (error empty = success).
  virtual Status recordMailboxResult(int64_t mailbox_id, int64_t run_id,
                                     const std::string& error) = 0;

  // Returns the folder's progress for this UIDVALIDITY, creating the row if
  // needed. Rows of an earlier UIDVALIDITY are kept (the archive never
  // forgets); a new UIDVALIDITY simply starts a new row at zero.
  virtual Result<FolderState> folder(int64_t mailbox_id, const std::string& name_utf8,
                                     uint32_t uidvalidity) = 0;

  // Read-only lookup for `mailark plan`: the folder's progress for this
  // UIDVALIDITY, or nullopt when the archive has no such row (or no such
  // mailbox). Creates nothing, so it works on a read-only archive.
  virtual Result<std::optional<FolderState>> findFolder(const std::string& mailbox,
                                                        const std::string& name_utf8,
                                                        uint32_t uidvalidity) = 0;

  // True when some folder of the mailbox completed a pass (a later run is
  // incremental: most folders are likely unchanged).
  virtual Result<bool> hasCompletedFolder(int64_t mailbox_id) = 0;

  // UIDs of this folder row already archived with uid >= min_uid, ascending.
  virtual Result<std::vector<uint32_t>> archivedUids(int64_t folder_id, uint32_t min_uid) = 0;

  // POP3: UIDLs already archived in this folder row, with their local uids,
  // in uid order.
  struct UidlRow {
    uint32_t uid = 0;
    std::string uidl;
  };
  virtual Result<std::vector<UidlRow>> archivedUidls(int64_t folder_id) = 0;

  // Records one archived message. REQUIRES: its bytes are durable.
  // A message with a uidl is a POP3 message: recording a uidl already in
  // the folder is a no-op too.
  // Recording the same (folder, uid) twice is a no-op, not an error.
  virtual Status recordMessage(int64_t folder_id, const MessageRecord& message) = 0;

  // Marks the folder complete up to highest_uid with the UIDNEXT then seen.
  // CONDSTORE: records that the archived flags of this folder are current up
  // to `modseq`.
  virtual Status updateFolderModseq(int64_t folder_id, uint64_t modseq) = 0;
  // Replaces the stored flags of an archived message (a no-op when the UID
  // is not archived). The bytes never change; flags are the latest seen.
  virtual Status updateFlags(int64_t folder_id, uint32_t uid, const std::string& flags) = 0;

  virtual Status updateFolderProgress(int64_t folder_id, uint32_t uidnext,
                                      uint32_t highest_uid) = 0;

  // Queries for the CLI. An empty `mailbox` means all mailboxes.
  virtual Status listMessages(const std::string& mailbox,
                              const std::function<void(const ArchivedMessage&)>& visit) = 0;
  virtual Result<std::vector<MailboxSummary>> mailboxSummaries() = 0;
  // True when any message row references this object.
  virtual Result<bool> hasObject(const ObjectId& id) = 0;

  // Group commit: records the index rows for `objects` and the `messages`
  // in ONE transaction. REQUIRES: all their bytes are durable. Existing
  // index rows and (folder, uid) rows are left as they are.
  virtual Status recordBatch(const std::vector<StoredObject>& objects,
                             const std::vector<QueuedMessage>& messages) = 0;
  // Index rows in (pack, offset) order; a non-empty `mailbox` keeps only the
  // objects its messages hold. Stops at the first non-ok Status from visit.
  virtual Status listObjects(const std::string& mailbox,
                             const std::function<Status(const StoredObject&)>& visit) = 0;
  // Every message row that holds `id`.
  virtual Status messagesWithObject(const ObjectId& id,
                                    const std::function<void(const ArchivedMessage&)>& visit) = 0;
  // Message rows (of `mailbox`, or all when empty) whose object has no index row.
  virtual Status messagesWithoutIndex(const std::string& mailbox,
                                      const std::function<void(const ArchivedMessage&)>& visit) = 0;
  virtual Result<ArchiveTotals> archiveTotals() = 0;
};
using StateStorePtr = std::unique_ptr<StateStore>;

// Opens (creating and migrating) the SQLite database at `path`. A database
// written by a newer mailark is refused with a Config error.
Result<StateStorePtr> openSqliteStateStore(const std::string& path);

}  // namespace mailark
