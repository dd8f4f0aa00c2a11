// ContentStore: the content-addressed message store.
//
// An object's identity is the SHA-256 of its exact bytes. Writing the same
// bytes twice stores them once. Objects are written by streaming through an
// ObjectWriter, so a message is never held whole in memory.
//
// Durability is two-step (group commit): ObjectWriter::commitAsync() hands
// the object over to be finished; ContentStore::sync() waits for every
// object handed over so far, makes them durable at once and hands over the
// new ones for the caller to index. Nothing may point at an object (a
// message row) before a sync() that covered it.
//
// Threading: a store and its writers belong to one owner thread (the loop);
// none of these methods may be called from another thread. A store may do
// the CPU work (SHA-256, compression, pack writes) on worker threads of its
// own: then append() and commitAsync() only copy bytes and queue them, and
// block only (a) when too many buffers are queued (bounded memory) and
// (b) in wait() and sync(), which wait for the queued work. Results reach
// the owner only through those calls; no callback runs on another thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mailark/status.h"

namespace mailark {

// Lower-case hex SHA-256, 64 characters.
using ObjectId = std::string;

class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;

  // Appends bytes (copied; the span may be reused at once). Errors (e.g.
  // StorageFull) are sticky: once known, later calls, commitAsync() and
  // wait() return the same error. With a background worker an error may
  // only be known a few appends (or the wait()) later.
  virtual Status append(std::span<const char> bytes) = 0;

  // Bytes appended so far.
  virtual uint64_t size() const = 0;

  // Finishes the object without waiting for it: hashing, compression and
  // the write may still be under way when this returns. Returns an error
  // only when one is already known. The outcome (id or error) is read with
  // wait(). Once the store's next sync() returned ok, wait() returns at
  // once, and an object whose wait() gives an id is durable.
  // If an object with the same id already exists, the new copy is dropped.
  // REQUIRES: called at most once; no append() afterwards.
  virtual Status commitAsync() = 0;

  // Waits until the committed object is finished; its id, or the error that
  // ended it. Once this returns ok the bytes are readable by id.
  // REQUIRES: commitAsync() returned ok.
  virtual Result<ObjectId> wait() = 0;

  // commitAsync() then wait(): for callers that need the id at once.
  Result<ObjectId> commit() {
    if (Status s = commitAsync(); !s.isOk()) return s;
    return wait();
  }

  // Drops everything appended; safe to call at any time, also after a
  // failed append. The destructor aborts an uncommitted writer. A committed
  // writer may be destroyed before its object is finished.
  virtual void abort() = 0;
};
using ObjectWriterPtr = std::unique_ptr<ObjectWriter>;

enum class Compression : uint8_t { None = 0, Zstd = 1 };

// Where a packed object lives: the frame [offset, offset + length) of pack
// file `pack` holds a header and `stored_size` bytes that decode to `size`
// original bytes.
struct ObjectLocation {
  uint32_t pack = 0;
  uint64_t offset = 0;
  uint64_t length = 0;  // whole frame, header included
  uint64_t stored_size = 0;
  uint64_t size = 0;
  Compression compression = Compression::None;
};

struct StoredObject {
  ObjectId id;
  ObjectLocation where;
};

// The durable map id -> location, kept by the caller (the state database,
// so index rows and message rows commit in one transaction). A packed store
// reads it, only on the owner's thread (never from its workers); it never
// writes it.
class ObjectIndex {
 public:
  virtual ~ObjectIndex() = default;
  virtual Result<std::optional<ObjectLocation>> findObject(const ObjectId& id) = 0;
  // For each pack with indexed objects: the end of its last indexed frame.
  virtual Result<std::map<uint32_t, uint64_t>> packEnds() = 0;
};

// The fsyncs of one sync, taken out of the store (ContentStore::beginSync).
class PendingSync {
 public:
  virtual ~PendingSync() = default;
  // Blocks until the writes it covers are durable. Called once, on any
  // thread; it touches nothing the owner may change meanwhile.
  virtual Status run() = 0;
};
using PendingSyncPtr = std::unique_ptr<PendingSync>;

class ContentStore {
 public:
  virtual ~ContentStore() = default;

  virtual Result<ObjectWriterPtr> newObject() = 0;

  // True when a durable object with this id exists.
  virtual Result<bool> contains(const ObjectId& id) = 0;

  // Streams the object's exact original bytes to `sink` in chunks; stops at
  // the first non-ok Status from the sink and returns it. NotFound when absent.
  virtual Status read(const ObjectId& id,
                      const std::function<Status(std::span<const char>)>& sink) = 0;

  // Waits for every object committed so far to be finished, makes them
  // durable (one fsync per written pack) and returns the objects committed
  // since the last sync() that the index does not hold yet. They stay
  // findable in memory until indexed(). An object that failed is not
  // returned; its writer's wait() names the error.
  Result<std::vector<StoredObject>> sync() {
    Result<PendingSyncPtr> pending = beginSync();
    if (!pending) return pending.status();
    Status ran = (*pending)->run();
    return finishSync(std::move(*pending), ran);
  }

  // sync() in three steps, so its fsyncs need not block the owner:
  // beginSync() waits for every object committed so far, like sync(), and
  // returns the fsyncs that make them durable; their run() may then be
  // called on any one thread while the owner goes on committing objects
  // (those belong to the next sync); finishSync() gets the pending sync
  // back with what run() returned and gives what sync() would. After an
  // error the objects stay unsynced and a later sync covers them again.
  // At most one sync may be under way at a time.
  virtual Result<PendingSyncPtr> beginSync() = 0;
  virtual Result<std::vector<StoredObject>> finishSync(PendingSyncPtr pending, const Status& ran) = 0;

  // The caller has durably recorded `objects` (from sync()) in the index.
  virtual void indexed(const std::vector<StoredObject>& objects) = 0;
};
using ContentStorePtr = std::unique_ptr<ContentStore>;

// Opens (creating if needed) a store with one file per object under `dir`.
// Leftover temporary files from a crashed run are removed. Every commit is
// durable on its own; sync() returns nothing. Kept to read archives written
// before pack files, and as the benchmark baseline.
Result<ContentStorePtr> openFileContentStore(const std::string& dir);

struct PackStoreOptions {
  Compression compression = Compression::Zstd;
  int zstd_level = 1;  // fast; the archive is written once, read rarely
  // Threads that hash, compress and write objects. -1: one per core, at
  // most 8. 0: none, all of it runs inline on the owner's thread.
  int workers = -1;
  // Objects that fit in one 64 KiB chunk (most mail): with
  // small_object_group > 0 they go to the workers, up to that many sharing
  // one strand (one hand-off per group). With 0, inline_small_objects
  // decides: true finishes them on the owner's thread, false hands each to
  // the workers alone. Inline is the default: it costs the least CPU per
  // message (bench/README.md, store section); groups of 16 gave 47 % more
  // 20 KB messages/s on idle cores for 17-23 % more CPU per message.
  int small_object_group = 0;
  bool inline_small_objects = true;
  uint64_t pack_size = 512ull << 20;  // a pack is rolled over past this size
  // Read-only: no recovery, no writing. For commands that may run beside a
  // `mailark run` holding the archive lock.
  bool read_only = false;
};

// Opens (creating if needed) a store of append-only pack files under
// `dir`/packs, with `index` (borrowed, must outlive the store) as the
// durable id -> location map. Unless read_only, a torn tail left by a crash
// is cut back, and whole frames past the indexed end are returned by the
// first sync() so they can be indexed. Objects in a legacy file-per-object
// layout under `dir`/objects stay readable.
Result<ContentStorePtr> openPackContentStore(const std::string& dir, ObjectIndex* index,
                                             const PackStoreOptions& options);

}  // namespace mailark
