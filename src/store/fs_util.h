// Small POSIX helpers for the store: an owning fd, full writes, directory
// creation and directory fsync. Every failure becomes a Status via
// errnoStatus (ENOSPC/EDQUOT -> StorageFull) naming the operation and path.
#pragma once

#include <sys/types.h>

#include <span>
#include <string>

#include "mailark/status.h"

namespace mailark::store {

// Owns one file descriptor; closes it (ignoring errors) on destruction.
// Use close() where a close error matters.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();
  void reset();
  // Closes and reports the error; `path` names the file in the message.
  Status close(const std::string& path);

 private:
  int fd_ = -1;
};

// write(2) until every byte is written, retrying EINTR and short writes.
Status writeAll(int fd, std::span<const char> bytes, const std::string& path);

// Creates `path` if missing. Sets *created (when non-null) to whether this
// call made it, so the caller knows the parent's entry needs an fsync.
Status makeDir(const std::string& path, bool* created);

// fsync(2) on a directory, making renames and creations inside it durable.
Status fsyncDir(const std::string& path);

}  // namespace mailark::store
