// PackContentStore: ContentStore on append-only pack files (pack_format.h)
// with an external ObjectIndex (the state database) mapping id -> frame.
//
// Writing: each ObjectWriter takes a pack to itself for the life of the
// object, so concurrent jobs stream into different packs and every frame is
// contiguous. A pack is rolled over once it passes options.pack_size.
// Durability is group commit: commit() only appends; sync() fsyncs every
// pack written since the last sync (and the packs directory when a pack was
// created) and hands the new objects to the caller for indexing.
//
// Recovery (open, not read-only): for each pack, frames past the indexed
// end are checked one by one; whole ones (fsynced, but the crash beat the
// index commit) are handed to the first sync() for indexing, and the first
// torn frame and everything after it are cut off.
//
// Lifetime: the store must outlive its writers; `index` must outlive the store.
// Threading: one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mailark/content_store.h"
#include "src/store/fs_util.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace mailark::store {

// One pack open for appending.
struct PackFile {
  uint32_t id = 0;
  std::string path;
  UniqueFd fd;
  uint64_t size = 0;   // end of the last committed frame
  bool busy = false;   // a writer holds it
  bool dirty = false;  // committed frames not yet fsynced
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
  static Result<std::unique_ptr<PackContentStore>> open(const std::string& root, ObjectIndex* index,
                                                       const PackStoreOptions& options);
  ~PackContentStore() override;

  Result<ObjectWriterPtr> newObject() override;
  Result<bool> contains(const ObjectId& id) override;
  Status read(const ObjectId& id, const std::function<Status(std::span<const char>)>& sink) override;
  Result<std::vector<StoredObject>> sync() override;
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

  // For PackObjectWriter.
  Result<PackFile*> acquirePack();
  void releasePack(PackFile* pack);
  ZSTD_CCtx_s* borrowCompressor();
  void returnCompressor(ZSTD_CCtx_s* cctx);
  // Pending (committed, not yet indexed) or indexed location of `id`.
  Result<std::optional<ObjectLocation>> locate(const ObjectId& id);
  void committed(StoredObject object);
  const PackStoreOptions& options() const { return options_; }

 private:
  PackContentStore(std::string root, ObjectIndex* index, const PackStoreOptions& options)
      : root_(std::move(root)), index_(index), options_(options) {}

  Status recover(uint32_t pack, uint64_t indexed_end);
  Result<int> readFd(uint32_t pack);

  std::string root_;
  ObjectIndex* index_;
  PackStoreOptions options_;
  std::vector<std::unique_ptr<PackFile>> open_packs_;  // appendable or awaiting fsync
  uint32_t next_pack_ = 1;
  bool packs_dir_dirty_ = false;
  std::unordered_map<ObjectId, ObjectLocation> pending_;
  std::vector<StoredObject> unsynced_;
  std::vector<ZSTD_CCtx_s*> compressors_;
  ZSTD_DCtx_s* decompressor_ = nullptr;
  std::map<uint32_t, UniqueFd> read_fds_;
  ContentStorePtr legacy_;  // file-per-object objects/ from schema-1 archives, if any
};

}  // namespace mailark::store
