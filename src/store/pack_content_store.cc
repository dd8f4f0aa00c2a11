#include "src/store/pack_content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <thread>

#include "src/base/log.h"
#include "src/store/object_layout.h"
#include "src/store/pack_format.h"
#include "src/store/pack_object_job.h"
#include "src/store/pack_object_writer.h"

namespace mailark::store {

namespace {

unsigned workerCount(int requested) {
  if (requested >= 0) return static_cast<unsigned>(requested);
  // Beyond a handful, the loop thread feeding them is the limit.
  return std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
}

}  // namespace

Result<std::unique_ptr<PackContentStore>> PackContentStore::open(const std::string& root, ObjectIndex* index,
                                                                const PackStoreOptions& options) {
  if (root.empty()) return configError("archive path is empty");
  std::unique_ptr<PackContentStore> store(new PackContentStore(root, index, options));
  struct stat st;
  // Archives from before pack files keep their objects readable in place.
  if (::stat(objectsDir(root).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    Result<ContentStorePtr> legacy = openFileContentStore(root);
    if (!legacy) return legacy.status();
    store->legacy_ = std::move(*legacy);
  }
  if (options.read_only) return store;

  bool root_created = false, packs_created = false;
  MAILARK_RETURN_IF_ERROR(makeDir(root, &root_created));
  MAILARK_RETURN_IF_ERROR(makeDir(packsDir(root), &packs_created));
  if (packs_created) MAILARK_RETURN_IF_ERROR(fsyncDir(root));
  Result<std::vector<uint32_t>> ids = store->packIds();
  if (!ids) return ids.status();
  Result<std::map<uint32_t, uint64_t>> ends = index->packEnds();
  if (!ends) return ends.status();
  for (uint32_t id : *ids) {
    auto it = ends->find(id);
    MAILARK_RETURN_IF_ERROR(store->recover(id, it == ends->end() ? 0 : it->second));
    store->next_pack_ = std::max(store->next_pack_, id + 1);
  }
  store->pool_ = std::make_unique<WorkerPool>(workerCount(options.workers));
  return store;
}

PackContentStore::~PackContentStore() {
  {
    // Writers are gone (they may not outlive the store), but committed
    // objects may still be waiting for an index answer only we can give.
    std::unique_lock<std::mutex> lock(mu_);
    while (unfinished_ > 0) ownerWait(lock);
  }
  pool_.reset();  // runs what is left (aborts), then joins
  for (ZSTD_CCtx* c : compressors_) ZSTD_freeCCtx(c);
  if (decompressor_ != nullptr) ZSTD_freeDCtx(decompressor_);
}

Result<std::vector<uint32_t>> PackContentStore::packIds() const {
  std::vector<uint32_t> ids;
  const std::string dir = packsDir(root_);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return ids;
    return errnoStatus(errno, "open directory " + dir);
  }
  while (dirent* e = ::readdir(d)) {
    if (std::optional<uint32_t> id = parsePackName(e->d_name)) ids.push_back(*id);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status PackContentStore::recover(uint32_t pack, uint64_t indexed_end) {
  Result<PackScan> scan = scanPack(pack, std::max<uint64_t>(indexed_end, kPackHeaderSize));
  if (!scan) return scan.status();
  const std::string path = packPath(root_, pack);
  if (scan->file_size < indexed_end) {
    // Indexed bytes are gone: never append here; `mailark verify` names the losses.
    log::error(path + " is shorter than its indexed objects (" + std::to_string(scan->file_size) + " < " +
               std::to_string(indexed_end) + " bytes): run `mailark verify`");
    return Status::ok();
  }
  uint64_t keep = scan->valid_end;
  if (scan->valid_end < kPackHeaderSize) {
    if (indexed_end > 0) {
      log::error(path + ": " + scan->problem + "; run `mailark verify`");
      return Status::ok();
    }
    keep = 0;  // created, then the crash came before its header was whole
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoStatus(errno, "open " + path);
  if (keep < scan->file_size) {
    log::warn(path + ": cut back a torn tail of " + std::to_string(scan->file_size - keep) +
              " byte(s) left by an interrupted run (" + scan->problem + ")");
    if (::ftruncate(fd.get(), static_cast<off_t>(keep)) != 0) return errnoStatus(errno, "truncate " + path);
    if (::fsync(fd.get()) != 0) return errnoStatus(errno, "fsync " + path);
  }
  if (!scan->frames.empty()) {
    log::info(path + ": " + std::to_string(scan->frames.size()) +
              " whole object(s) past the index are indexed again");
  }
  for (StoredObject& o : scan->frames) {
    if (o.where.offset < indexed_end) continue;
    pending_[o.id] = o.where;
    unsynced_.push_back(std::move(o));
  }
  if (keep < options_.pack_size) {
    auto file = std::make_unique<PackFile>();
    file->id = pack;
    file->path = path;
    file->fd = std::move(fd);
    file->size = keep;
    open_packs_.push_back(std::move(file));
  }
  return Status::ok();
}

Result<ObjectWriterPtr> PackContentStore::newObject() {
  if (options_.read_only) return internalError("the archive was opened read-only");
  pollLookups();
  auto job = std::make_shared<PackObjectJob>(this, std::make_shared<Strand>(),
                                             options_.compression == Compression::Zstd);
  return ObjectWriterPtr(std::make_unique<PackObjectWriter>(this, std::move(job)));
}

Result<PackFile*> PackContentStore::acquirePack(uint64_t* frame_start) {
  std::lock_guard<std::mutex> lock(mu_);
  PackFile* pack = nullptr;
  for (auto& p : open_packs_) {
    if (!p->busy && p->size < options_.pack_size) {
      pack = p.get();
      break;
    }
  }
  if (pack == nullptr) {
    auto file = std::make_unique<PackFile>();
    file->id = next_pack_;
    file->path = packPath(root_, file->id);
    file->fd = UniqueFd(::open(file->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
    if (!file->fd.valid()) return errnoStatus(errno, "create pack " + file->path);
    ++next_pack_;
    packs_dir_dirty_ = true;
    open_packs_.push_back(std::move(file));
    pack = open_packs_.back().get();
  }
  if (pack->size < kPackHeaderSize) {
    char header[kPackHeaderSize];
    encodePackHeader(header);
    Status s = writeAll(pack->fd.get(), std::span<const char>(header, sizeof header), pack->path);
    if (!s.isOk()) {
      if (::ftruncate(pack->fd.get(), 0) != 0) log::warn("could not empty " + pack->path + " again");
      return s;
    }
    pack->size = kPackHeaderSize;
    pack->dirty = true;
  }
  pack->busy = true;
  *frame_start = pack->size;
  return pack;
}

void PackContentStore::releasePack(PackFile* pack) {
  std::lock_guard<std::mutex> lock(mu_);
  pack->busy = false;
}

ZSTD_CCtx* PackContentStore::borrowCompressor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!compressors_.empty()) {
      ZSTD_CCtx* c = compressors_.back();
      compressors_.pop_back();
      return c;
    }
  }
  ZSTD_CCtx* c = ZSTD_createCCtx();
  if (c != nullptr) ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, options_.zstd_level);
  return c;
}

void PackContentStore::returnCompressor(ZSTD_CCtx* cctx) {
  // Reset outside the lock: a compressor returned mid-frame (a dropped
  // object) must start its next frame clean.
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
  std::lock_guard<std::mutex> lock(mu_);
  compressors_.push_back(cctx);
}

Result<std::optional<ObjectLocation>> PackContentStore::locate(const ObjectId& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(id);
    if (it != pending_.end()) return std::optional<ObjectLocation>(it->second);
  }
  return index_->findObject(id);
}

Result<bool> PackContentStore::contains(const ObjectId& id) {
  if (!isObjectId(id)) return false;
  Result<std::optional<ObjectLocation>> where = locate(id);
  if (!where) return where.status();
  if (where->has_value()) return true;
  if (legacy_) return legacy_->contains(id);
  return false;
}

namespace {

// What one sync covers: the packs written since the last one (each kept
// open by its `syncing` count until finishSync), the packs directory if a
// pack was created, and the objects to hand over for indexing.
struct PackSync final : PendingSync {
  struct Target {
    PackFile* pack;
    int fd;
    std::string path;
  };
  std::vector<Target> packs;
  std::string dir;  // empty: the directory needs no fsync
  std::vector<StoredObject> objects;

  Status run() override {
    for (const Target& t : packs)
      if (::fdatasync(t.fd) != 0) return errnoStatus(errno, "fsync " + t.path);
    return dir.empty() ? Status::ok() : fsyncDir(dir);
  }
};

}  // namespace

Result<PendingSyncPtr> PackContentStore::beginSync() {
  auto sync = std::make_unique<PackSync>();
  std::unique_lock<std::mutex> lock(mu_);
  while (unfinished_ > 0) ownerWait(lock, OwnerWait::AllDone);
  // Every committed object is in a pack now. Workers may keep streaming
  // objects not yet committed, but none of those can complete before the
  // owner commits it, so nothing slips past this sync.
  for (auto& p : open_packs_) {
    if (!p->dirty) continue;
    sync->packs.push_back({p.get(), p->fd.get(), p->path});
    p->dirty = false;
    ++p->syncing;
  }
  if (packs_dir_dirty_) sync->dir = packsDir(root_);
  packs_dir_dirty_ = false;
  sync->objects.swap(unsynced_);
  return PendingSyncPtr(std::move(sync));
}

Result<std::vector<StoredObject>> PackContentStore::finishSync(PendingSyncPtr pending, const Status& ran) {
  auto* sync = static_cast<PackSync*>(pending.get());
  std::lock_guard<std::mutex> lock(mu_);
  for (const PackSync::Target& t : sync->packs) {
    --t.pack->syncing;
    if (!ran.isOk()) t.pack->dirty = true;
  }
  if (!ran.isOk()) {
    // All of it again next time; objects committed since go after these.
    packs_dir_dirty_ = packs_dir_dirty_ || !sync->dir.empty();
    unsynced_.insert(unsynced_.begin(), std::make_move_iterator(sync->objects.begin()),
                     std::make_move_iterator(sync->objects.end()));
    return ran;
  }
  // Full packs are done with once synced.
  std::erase_if(open_packs_, [&](const std::unique_ptr<PackFile>& p) {
    return !p->busy && !p->dirty && p->syncing == 0 && p->size >= options_.pack_size;
  });
  return std::move(sync->objects);
}

void PackContentStore::indexed(const std::vector<StoredObject>& objects) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const StoredObject& o : objects) pending_.erase(o.id);
}

}  // namespace mailark::store

namespace mailark {

Result<ContentStorePtr> openPackContentStore(const std::string& dir, ObjectIndex* index,
                                             const PackStoreOptions& options) {
  Result<std::unique_ptr<store::PackContentStore>> s = store::PackContentStore::open(dir, index, options);
  if (!s) return s.status();
  return ContentStorePtr(std::move(*s));
}

}  // namespace mailark
