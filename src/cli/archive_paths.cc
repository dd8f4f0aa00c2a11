#include "src/cli/archive_paths.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace mailark::cli {

namespace fs = std::filesystem;

Archive::~Archive() {
  store.reset();
  state.reset();
  if (lock_fd >= 0) ::close(lock_fd);
}

PackStoreOptions packStoreOptions(const config::ArchiveConfig& archive) {
  PackStoreOptions options;
  options.compression = archive.compression == "none" ? Compression::None : Compression::Zstd;
  options.pack_size = uint64_t{archive.pack_size_mb} << 20;
  options.workers = archive.store_threads;
  options.small_object_group = static_cast<int>(archive.small_message_group);
  // Uncompressed, a large message costs a hash and a copy: less than
  // handing its chunks to a worker and waking it. Unless small messages
  // were asked to go to the workers.
  if (archive.store_threads < 0 && options.compression == Compression::None && archive.small_message_group == 0)
    options.workers = 0;
  return options;
}

Result<std::unique_ptr<Archive>> openArchive(const std::string& path, ArchiveMode mode,
                                             const PackStoreOptions& options) {
  auto archive = std::make_unique<Archive>();
  std::string db = (fs::path(path) / "state.db").string();
  if (mode == ArchiveMode::ReadExisting) {
    if (!fs::exists(db)) return notFound("no archive at " + path + " yet: run `mailark run` first");
  } else {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) return errnoStatus(ec.value(), "cannot create archive directory " + path);
    std::string lock = (fs::path(path) / "lock").string();
    archive->lock_fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (archive->lock_fd < 0) return errnoStatus(errno, "cannot open " + lock);
    if (::flock(archive->lock_fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        return ioError("another mailark run is already writing the archive at " + path + "; wait for it to finish");
      return errnoStatus(errno, "cannot lock " + lock);
    }
  }
  // The state first: it is the pack store's index, and recovery reads it.
  Result<StateStorePtr> state = openSqliteStateStore(db);
  if (!state) return state.status();
  archive->state = std::move(*state);
  PackStoreOptions store_options = options;
  store_options.read_only = mode == ArchiveMode::ReadExisting;
  Result<ContentStorePtr> store = openPackContentStore(path, archive->state.get(), store_options);
  if (!store) return store.status();
  archive->store = std::move(*store);
  return archive;
}

}  // namespace mailark::cli

namespace mailark::cli {

Result<std::unique_ptr<Archive>> openForReading(const std::string& config_path) {
  Result<config::Config> cfg = config::loadConfig(config_path, config::SecretNeed::Skip);
  if (!cfg) return cfg.status();
  return openArchive(cfg->archive.path, ArchiveMode::ReadExisting);
}

}  // namespace mailark::cli
