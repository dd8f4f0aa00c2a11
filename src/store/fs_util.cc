#include "src/store/fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace mailark::store {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status UniqueFd::close(const std::string& path) {
  int fd = release();
  if (fd < 0) return Status::ok();
  // Linux releases the descriptor even when close() fails, so never retry:
  // a retry could close a descriptor another thread just received.
  if (::close(fd) != 0 && errno != EINTR) return errnoStatus(errno, "close " + path);
  return Status::ok();
}

Status writeAll(int fd, std::span<const char> bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoStatus(errno, "write " + path);
    }
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Status::ok();
}

Status makeDir(const std::string& path, bool* created) {
  if (created != nullptr) *created = false;
  if (::mkdir(path.c_str(), 0750) == 0) {
    if (created != nullptr) *created = true;
    return Status::ok();
  }
  if (errno != EEXIST) return errnoStatus(errno, "create directory " + path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errnoStatus(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return ioError(path + " exists but is not a directory");
  return Status::ok();
}

Status fsyncDir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errnoStatus(errno, "open directory " + path);
  if (::fsync(fd.get()) != 0) return errnoStatus(errno, "fsync directory " + path);
  return fd.close(path);
}

}  // namespace mailark::store
