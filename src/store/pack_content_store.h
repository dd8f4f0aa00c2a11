// PackContentStore: ContentStore on append-only pack files (pack_format.h)
// with an external ObjectIndex (the state database) mapping id -> frame.
//
// Writing: the owner's thread (the loop) only copies appended bytes into
// 64 KiB chunks and posts them to a WorkerPool; each object has its own
// strand, so its bytes are hashed, compressed and written in order on a
// worker while other objects proceed in parallel (pack_object_job.h). A
// frame small enough to sit in memory is written whole in one pwrite() to
// whichever pack is free at that moment; a larger one streams into a pack
// it holds alone. Either way every frame is contiguous. A pack is rolled
// over once it passes options.pack_size. With options.workers == 0 all of
// this runs inline, on the owner's thread. Objects that fit in one chunk
// (most mail) are finished inline by default (a hand-off each costs about
// as much CPU as the work), or, with options.small_object_group, share a
// strand with that many others so one hand-off carries the group.
//
// Dedup: a finished object claims its id. A second object with the same id
// waits for the claim and drops its copy. The claim holder asks the index
// (on the owner's thread only: the index is not thread-safe) and writes
// only when the id is new. Index questions are answered whenever the owner
// enters the store: newObject(), commitAsync(), backpressure and sync().
//
// Backpressure: the owner blocks (answering index questions meanwhile)
// while kMaxChunksInFlight chunks wait for workers or kMaxUnfinished
// committed objects are not yet done; once blocked, it sleeps until half
// of them are done, not one wake-up per object (wakeOwner). Memory is
// bounded by those buffers plus one chunk and one output buffer per open
// writer; chunks and output buffers are reused (buffer_pool.h), so an
// object neither mallocs nor faults in fresh pages.
//
// Durability is group commit: sync() waits for every committed object,
// fdatasyncs every pack written since the last sync (and the packs
// directory when a pack was created) and hands the new objects to the
// caller for indexing. The fdatasyncs may run on another thread
// (beginSync/finishSync) while the owner keeps writing to the same packs.
//
// Recovery (open, not read-only): for each pack, frames past the indexed
// end are checked one by one; whole ones (fsynced, but the crash beat the
// index commit) are handed to the first sync() for indexing, and the first
// torn frame and everything after it are cut off.
//
// Lifetime: the store must outlive its writers; `index` must outlive the store.
// Threading: the ContentStore and ObjectWriter methods belong to one owner
// thread. Members marked "worker" are called by jobs on any thread; shared
// state is guarded by mu_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mailark/content_store.h"
#include "src/store/buffer_pool.h"
#include "src/store/fs_util.h"
#include "src/store/worker_pool.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace mailark::store {

class PackObjectJob;
using PackObjectJobPtr = std::shared_ptr<PackObjectJob>;

// One pack open for appending. id, path and fd never change once made;
// size, busy, dirty and syncing are guarded by the store's mutex.
struct PackFile {
  uint32_t id = 0;
  std::string path;
  UniqueFd fd;
  uint64_t size = 0;   // end of the last committed frame
  bool busy = false;   // a job is writing to it
  bool dirty = false;  // committed frames not yet fsynced
  int syncing = 0;     // pending syncs holding its fd (it stays open meanwhile)
  uint64_t written_back = 0;  // end of the range already handed to write-back
};

// What a frame walk found in one pack.
struct PackScan {
  std::vector<StoredObject> frames;  // whole, checked frames in order
  uint64_t valid_end = 0;            // end of the last whole frame
  uint64_t file_size = 0;
  std::string problem;               // why the walk stopped early; empty if at file end
};

class PackContentStore final : public ContentStore {
 public:
  static constexpr size_t kChunkSize = 64 * 1024;
  static constexpr int kMaxChunksInFlight = 64;
  static constexpr int kMaxUnfinished = 512;
  // Every this many new bytes in a pack, write-back is started early
  // (sync_file_range), so sync()'s fdatasync finds little left to write.
  static constexpr uint64_t kWriteBehind = 4ull << 20;

  static Result<std::unique_ptr<PackContentStore>> open(const std::string& root, ObjectIndex* index,
                                                       const PackStoreOptions& options);
  // Waits for every posted job, then stops the workers.
  ~PackContentStore() override;

  Result<ObjectWriterPtr> newObject() override;
  Result<bool> contains(const ObjectId& id) override;
  Status read(const ObjectId& id, const std::function<Status(std::span<const char>)>& sink) override;
  Result<PendingSyncPtr> beginSync() override;
  Result<std::vector<StoredObject>> finishSync(PendingSyncPtr pending, const Status& ran) override;
  void indexed(const std::vector<StoredObject>& objects) override;

  // Reads the frame at `where`, checking its header against `id` and the
  // decoded bytes' SHA-256; streams the original bytes to `sink` (may be
  // null). Io error naming pack and offset when the frame is damaged.
  Status readAt(const ObjectId& id, const ObjectLocation& where,
                const std::function<Status(std::span<const char>)>& sink);
  // Walks every frame of `pack` from its start, checking each fully.
  Result<PackScan> scanPack(uint32_t pack, uint64_t from);
  // Pack ids present on disk, ascending.
  Result<std::vector<uint32_t>> packIds() const;
  const std::string& root() const { return root_; }
  const PackStoreOptions& options() const { return options_; }
  unsigned workers() const { return pool_ ? pool_->threads() : 0; }

  // For PackObjectWriter (owner thread).
  char* takeChunk();
  // Posts a chunk to `job`'s strand; blocks while too much is in flight.
  // `whole`: the last chunk is the object's only one; such a small object
  // joins a group strand (options.small_object_group) or is finished inline,
  // since handing it to a worker alone costs about as much CPU (mutex, futex
  // wake-ups) as hashing and compressing it.
  void postChunk(const PackObjectJobPtr& job, char* chunk, size_t n, bool last, bool whole = false);
  void postAbort(const PackObjectJobPtr& job);
  // The error a job hit before commit, if any.
  Status earlyError(const PackObjectJob& job);
  // Waits until the committed `job` is done; its id or error.
  Result<ObjectId> waitFor(const PackObjectJob& job);

  // Gives a chunk back to the pool; `posted` when it came through postChunk.
  void returnChunk(char* chunk, bool posted);

  // For PackObjectJob (worker).
  BufferPool& buffers() { return buffers_; }
  ZSTD_CCtx_s* borrowCompressor();
  void returnCompressor(ZSTD_CCtx_s* cctx);
  // A pack for the job alone, and where its frame starts.
  Result<PackFile*> acquirePack(uint64_t* frame_start);
  void releasePack(PackFile* pack);
  enum class Claim { Stored, Wait, Claimed };
  // Stored: the id is written already. Wait: another job holds the claim
  // and will call job->onWinnerDone. Claimed: ask the index (lookUp).
  Claim claim(const PackObjectJobPtr& job);
  // Has the owner answer job->onIndexAnswer (at once when inline).
  void lookUp(const PackObjectJobPtr& job);
  // The claim holder wrote its frame: the object is readable; waiters are told.
  void published(const PackObjectJobPtr& job, StoredObject object, PackFile* pack);
  // The claim holder wrote nothing: ok (already indexed) or its error.
  void unclaim(const PackObjectJobPtr& job, const Status& s);
  // A job failed before commit.
  void jobFailed(PackObjectJob* job, const Status& s);
  // A committed job is done without a frame of its own.
  void jobDone(PackObjectJob* job, Result<ObjectId> outcome);

  // Pending (committed, not yet indexed) or indexed location of `id`. Owner.
  Result<std::optional<ObjectLocation>> locate(const ObjectId& id);

 private:
  PackContentStore(std::string root, ObjectIndex* index, const PackStoreOptions& options)
      : root_(std::move(root)), index_(index), options_(options) {}

  Status recover(uint32_t pack, uint64_t indexed_end);
  Result<int> readFd(uint32_t pack);
  // What a sleeping owner waits for; wakeOwner() wakes it only for that.
  enum class OwnerWait { Nothing, Progress, Chunks, Backlog, AllDone };
  // Index questions the owner lets pile up before it is woken for them.
  static constexpr size_t kLookupBatch = 32;
  // Owner, mu_ held: answers queued index questions (unlocking meanwhile)
  // or else sleeps until a worker reports progress of the kind `what`
  // (Chunks: half the chunks in flight done; Backlog: half the chunks and
  // half the unfinished jobs; AllDone: every committed job done).
  void ownerWait(std::unique_lock<std::mutex>& lock, OwnerWait what = OwnerWait::Progress);
  void answerLookups(std::unique_lock<std::mutex>& lock);
  // Owner: answers queued index questions without blocking.
  void pollLookups();
  void wakeOwner();  // mu_ held
  // Owner: the strand small objects share, a fresh one every
  // options.small_object_group objects so the groups spread over the workers.
  const StrandPtr& groupStrand();
  void tellWaiters(std::vector<PackObjectJobPtr> waiters, const Status& s);

  const std::string root_;
  ObjectIndex* const index_;
  const PackStoreOptions options_;

  // Chunks and frame buffers. Declared early so it is destroyed late: after
  // the workers and every member that may hold the last reference to a job.
  BufferPool buffers_;
  const std::thread::id owner_ = std::this_thread::get_id();
  std::mutex mu_;
  std::condition_variable owner_cv_;
  OwnerWait owner_waits_for_ = OwnerWait::Nothing;
  int claim_waiters_ = 0;  // jobs waiting for another job's claim
  std::vector<std::unique_ptr<PackFile>> open_packs_;  // appendable or awaiting fsync
  uint32_t next_pack_ = 1;
  bool packs_dir_dirty_ = false;
  std::unordered_map<ObjectId, ObjectLocation> pending_;
  std::vector<StoredObject> unsynced_;
  std::unordered_map<ObjectId, std::vector<PackObjectJobPtr>> claims_;  // id -> waiters
  std::vector<PackObjectJobPtr> lookups_;  // claim holders waiting for the index
  std::atomic<bool> lookups_queued_{false};  // !lookups_.empty(), readable without mu_
  std::vector<ZSTD_CCtx_s*> compressors_;
  int chunks_in_flight_ = 0;
  int unfinished_ = 0;  // committed jobs not yet done

  // Owner only.
  StrandPtr group_strand_;
  int group_members_ = 0;
  ZSTD_DCtx_s* decompressor_ = nullptr;
  std::map<uint32_t, UniqueFd> read_fds_;
  ContentStorePtr legacy_;  // file-per-object objects/ from schema-1 archives, if any
  std::unique_ptr<WorkerPool> pool_;  // last: its threads are joined first
};

}  // namespace mailark::store
