// FileObjectWriter: streams one object into a temporary file under
// <root>/tmp while hashing it, then publishes it as <root>/objects/ab/<sha>.
//
// Appends are gathered in a 256 KiB buffer so that a message arriving in many
// small network reads costs a few large write(2) calls, not one per read.
// Memory use is bounded by the buffer, never by the message size.
//
// Threading: one thread. The writer keeps its own copy of the root path and
// may outlive the FileContentStore that created it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "mailark/content_store.h"
#include "src/base/sha256.h"
#include "src/store/fs_util.h"

namespace mailark::store {

class FileObjectWriter final : public ObjectWriter {
 public:
  static constexpr size_t kBufferSize = 256 * 1024;

  // Creates a fresh temporary file (O_CLOEXEC, mode 0640 before umask) in
  // tmpDir(root). REQUIRES: root's objects/ and tmp/ exist.
  static Result<ObjectWriterPtr> create(const std::string& root);

  // Adopts `fd`, already open for writing on `tmp_path`, which is unlinked on
  // abort. Exposed so tests can write through a descriptor that fails on
  // purpose (e.g. one opened on /dev/full through a symlink in tmp/).
  FileObjectWriter(std::string root, std::string tmp_path, UniqueFd fd);
  ~FileObjectWriter() override;

  Status append(std::span<const char> bytes) override;
  uint64_t size() const override { return size_; }
  // Commits synchronously (fsync, rename); wait() returns the outcome.
  Status commitAsync() override;
  Result<ObjectId> wait() override;
  void abort() override;

 private:
  enum class State { Writing, Committed, Aborted };

  Result<ObjectId> commitNow();

  Status flushBuffer();
  // Moves the fsynced temp file to its final name, or drops it when an
  // object with the same id is already stored.
  Status publish(const ObjectId& id);
  // Makes `s` the sticky error and frees the temp file at once, so a full
  // disk gets its space back before the caller decides what to do.
  Status fail(Status s);
  void discardTemp();

  std::string root_;
  std::string tmp_path_;  // empty once the file is renamed or unlinked
  UniqueFd fd_;
  Sha256 hash_;
  std::unique_ptr<char[]> buffer_;  // allocated on first append
  size_t buffered_ = 0;
  uint64_t size_ = 0;
  State state_ = State::Writing;
  Status error_;
  std::optional<Result<ObjectId>> outcome_;  // set by commitAsync()
};

}  // namespace mailark::store
