#include "src/store/file_content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "src/base/log.h"
#include "src/store/file_object_writer.h"
#include "src/store/fs_util.h"
#include "src/store/object_layout.h"

namespace mailark::store {

namespace {

constexpr size_t kReadChunk = 256 * 1024;

// Everything in tmp/ at open time belongs to a writer that never finished
// (crash or kill); none of it was ever visible under objects/.
Status removeStaleTemps(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errnoStatus(errno, "open directory " + dir);
  int removed = 0;
  Status status;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (::unlinkat(::dirfd(d), e->d_name, 0) != 0 && errno != ENOENT) {
      status = errnoStatus(errno, "remove stale temporary file " + dir + "/" + e->d_name);
      break;
    }
    ++removed;
    errno = 0;
  }
  if (status.isOk() && errno != 0) status = errnoStatus(errno, "read directory " + dir);
  ::closedir(d);
  if (removed > 0) {
    log::info("removed " + std::to_string(removed) + " unfinished object(s) from " + dir);
  }
  return status;
}

Status badId(const ObjectId& id) {
  // Never turn an arbitrary string into a path; "../x" must not escape.
  return notFound("no object '" + id + "': an object id is 64 lower-case hex digits");
}

}  // namespace

Result<ContentStorePtr> FileContentStore::open(const std::string& root) {
  if (root.empty()) return configError("archive path is empty");
  bool root_created = false;
  bool objects_created = false;
  bool tmp_created = false;
  MAILARK_RETURN_IF_ERROR(makeDir(root, &root_created));
  MAILARK_RETURN_IF_ERROR(makeDir(objectsDir(root), &objects_created));
  MAILARK_RETURN_IF_ERROR(makeDir(tmpDir(root), &tmp_created));
  // objects/ must survive a crash before anything inside it counts as
  // durable; the root's own entry is the user's directory to look after.
  if (objects_created || tmp_created) MAILARK_RETURN_IF_ERROR(fsyncDir(root));
  MAILARK_RETURN_IF_ERROR(removeStaleTemps(tmpDir(root)));
  return ContentStorePtr(new FileContentStore(root));
}

Result<ObjectWriterPtr> FileContentStore::newObject() { return FileObjectWriter::create(root_); }

Result<bool> FileContentStore::contains(const ObjectId& id) {
  if (!isObjectId(id)) return false;
  const std::string path = objectPath(root_, id);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return S_ISREG(st.st_mode);
  if (errno == ENOENT) return false;
  return errnoStatus(errno, "stat " + path);
}

Status FileContentStore::read(const ObjectId& id,
                              const std::function<Status(std::span<const char>)>& sink) {
  if (!isObjectId(id)) return badId(id);
  const std::string path = objectPath(root_, id);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return notFound("object " + id + " is not in the archive " + root_);
    return errnoStatus(errno, "open " + path);
  }
  std::vector<char> buffer(kReadChunk);
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoStatus(errno, "read " + path);
    }
    if (n == 0) break;
    MAILARK_RETURN_IF_ERROR(sink(std::span<const char>(buffer.data(), static_cast<size_t>(n))));
  }
  return Status::ok();
}

namespace {
struct NothingToSync final : PendingSync {
  Status run() override { return Status::ok(); }
};
}  // namespace

Result<PendingSyncPtr> FileContentStore::beginSync() { return PendingSyncPtr(new NothingToSync); }

Result<std::vector<StoredObject>> FileContentStore::finishSync(PendingSyncPtr, const Status& ran) {
  if (!ran.isOk()) return ran;
  return std::vector<StoredObject>{};
}

}  // namespace mailark::store

namespace mailark {

Result<ContentStorePtr> openFileContentStore(const std::string& dir) {
  return store::FileContentStore::open(dir);
}

}  // namespace mailark
