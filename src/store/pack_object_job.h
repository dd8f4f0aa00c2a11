// PackObjectJob: the worker side of one object being written to a pack
// store. It hashes the original bytes, compresses them and writes the frame,
// running only on its own strand (worker_pool.h), so the object's bytes are
// processed in order while other objects proceed in parallel.
//
// Life of a job: chunks arrive in order (onChunk); the last one finishes the
// hash and the job claims the id with the store. If another job already
// holds the claim, this one waits for it (onWinnerDone) and then drops its
// copy. Otherwise the store asks the index, on the owner's thread, whether
// the id is stored already (onIndexAnswer): if so the copy is dropped,
// if not the frame is written. Either way the job ends by reporting its
// id or error to the store (PackContentStore::jobDone / published).
//
// An object that fits in one chunk (most mail) is kept as it came and
// compressed only once the index says it is new: a message that many
// mailboxes hold costs its later copies a hash, not a compression.
//
// Memory: one output buffer of at most kBufferSize (frame header included),
// taken from the store's frame buffers and grown as needed by size class, so
// a small message holds only about its compressed size and no object
// allocates or faults in a fresh buffer.
// A frame that does not fit is streamed into a pack the job holds alone
// ("spilled"), header last, exactly as before workers existed.
//
// Threading: every method except the constructor runs on the job's strand.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "mailark/content_store.h"
#include "src/base/sha256.h"
#include "src/store/buffer_pool.h"
#include "src/store/pack_format.h"
#include "src/store/worker_pool.h"

struct ZSTD_CCtx_s;

namespace mailark::store {

class PackContentStore;
struct PackFile;

class PackObjectJob : public std::enable_shared_from_this<PackObjectJob> {
 public:
  // Frame buffer size, header included: payload beyond it is spilled.
  static constexpr size_t kBufferSize = BufferPool::kMaxSize;

  PackObjectJob(PackContentStore* store, StrandPtr strand, bool compress);
  ~PackObjectJob();
  PackObjectJob(const PackObjectJob&) = delete;
  PackObjectJob& operator=(const PackObjectJob&) = delete;

  const StrandPtr& strand() const { return strand_; }
  // Moves the job to a strand it shares with other small objects. Owner
  // thread, before anything was posted to the job.
  void joinStrand(StrandPtr strand) { strand_ = std::move(strand); }
  // Set by the last chunk, before the store is asked about it.
  const ObjectId& id() const { return id_; }

  // `chunk` (from the store's chunk pool) holds `n` bytes; it is returned to
  // the pool here.
  void onChunk(char* chunk, size_t n, bool last);
  void onAbort();
  // The index's answer for id(): `error` when the lookup failed.
  void onIndexAnswer(const Status& error, bool found);
  // The job that held the claim on id() is done: ok means the object is
  // stored (this copy is a duplicate), else its error.
  void onWinnerDone(const Status& winner);

  // What the owner's writer sees; guarded by the store's mutex.
  Status early_error;                       // failed before commit: append() reports it
  std::atomic<bool> failed_early{false};    // early_error is set; read without the mutex
  std::optional<Result<ObjectId>> outcome;  // set once the committed object is done

 private:
  // Hashes the original bytes; the last chunk sets header_.sha256.
  void hash(std::span<const char> bytes, bool last);
  Status consume(std::span<const char> bytes, bool end);
  // The kept chunk of a one-chunk object goes back to the store's pool.
  void releaseWhole();
  // Makes room in out_: grows it, or writes its payload to the pack.
  Status makeRoom();
  // Moves out_ to a buffer of at least `size` bytes (header included).
  void resizeOut(size_t size);
  void freeOut();
  Status spill();
  void writeFrame();
  // Gives back pack (cut back to the frame start if anything was written),
  // compressor and buffer.
  void dropCopy();
  // A failure before the object was finished: free everything at once (a
  // full disk gets its space back) and make the error visible to append().
  void fail(Status s);

  PackContentStore* store_;
  StrandPtr strand_;
  bool compress_;
  ZSTD_CCtx_s* cctx_ = nullptr;
  // Made on the first chunk of an object of several, on a worker: setting
  // up an OpenSSL digest costs a microsecond the loop thread should not pay.
  std::optional<Sha256> hash_;
  // kFrameHeaderSize gap + room for `room_` payload bytes, from the store's
  // frame buffers (out_size_ bytes). Not zeroed: only bytes written by
  // compression or copying are ever read.
  char* out_ = nullptr;
  size_t out_size_ = 0;
  size_t room_ = 0;
  size_t buffered_ = 0;  // payload bytes in out_
  PackFile* pack_ = nullptr;  // held alone once spilled
  uint64_t frame_start_ = 0;
  uint64_t stored_written_ = 0;  // payload bytes already in the pack
  uint64_t size_ = 0;
  // A one-chunk object's bytes, kept uncompressed until it must be written.
  char* whole_ = nullptr;
  size_t whole_size_ = 0;
  FrameHeader header_;
  ObjectId id_;
  Status error_;
  bool ended_ = false;  // aborted, failed or finished: later chunks are dropped
};

}  // namespace mailark::store
