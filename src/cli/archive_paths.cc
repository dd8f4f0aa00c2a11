#include "src/cli/archive_paths.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace mailark::cli {

namespace fs = std::filesystem;

Archive::~Archive() {
  state.reset();
  store.reset();
  if (lock_fd >= 0) ::close(lock_fd);
}

Result<std::unique_ptr<Archive>> openArchive(const std::string& path, ArchiveMode mode) {
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
  Result<ContentStorePtr> store = openFileContentStore(path);
  if (!store) return store.status();
  archive->store = std::move(*store);
  Result<StateStorePtr> state = openSqliteStateStore(db);
  if (!state) return state.status();
  archive->state = std::move(*state);
  return archive;
}

}  // namespace mailark::cli
