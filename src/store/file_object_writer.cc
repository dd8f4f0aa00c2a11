#include "src/store/file_object_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "src/base/log.h"
#include "src/store/object_layout.h"

namespace mailark::store {

namespace {

// Temp names only need to be unique among live writers of this process;
// O_EXCL catches leftovers from an earlier process that had the same pid.
std::string nextTempPath(const std::string& root) {
  static std::atomic<uint64_t> counter{0};
  return tmpDir(root) + "/obj." + std::to_string(::getpid()) + "." +
         std::to_string(counter.fetch_add(1));
}

}  // namespace

Result<ObjectWriterPtr> FileObjectWriter::create(const std::string& root) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string path = nextTempPath(root);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd >= 0) {
      return ObjectWriterPtr(
          std::make_unique<FileObjectWriter>(root, std::move(path), UniqueFd(fd)));
    }
    if (errno != EEXIST) return errnoStatus(errno, "create temporary object " + path);
  }
  return ioError("create temporary object in " + tmpDir(root) +
                 ": every candidate name is taken; remove stale files from that directory");
}

FileObjectWriter::FileObjectWriter(std::string root, std::string tmp_path, UniqueFd fd)
    : root_(std::move(root)), tmp_path_(std::move(tmp_path)), fd_(std::move(fd)) {}

FileObjectWriter::~FileObjectWriter() {
  if (state_ == State::Writing) abort();
}

Status FileObjectWriter::append(std::span<const char> bytes) {
  if (!error_.isOk()) return error_;
  if (state_ != State::Writing) return internalError("append to a finished object writer");
  if (bytes.empty()) return Status::ok();
  hash_.update(bytes);
  size_ += bytes.size();
  if (!buffer_) buffer_ = std::make_unique<char[]>(kBufferSize);
  if (buffered_ + bytes.size() <= kBufferSize) {
    std::memcpy(buffer_.get() + buffered_, bytes.data(), bytes.size());
    buffered_ += bytes.size();
    return Status::ok();
  }
  Status s = flushBuffer();
  if (!s.isOk()) return fail(std::move(s));
  // A chunk at least as large as the buffer gains nothing from a copy.
  if (bytes.size() >= kBufferSize) {
    s = writeAll(fd_.get(), bytes, tmp_path_);
    if (!s.isOk()) return fail(std::move(s));
    return Status::ok();
  }
  std::memcpy(buffer_.get(), bytes.data(), bytes.size());
  buffered_ = bytes.size();
  return Status::ok();
}

Status FileObjectWriter::flushBuffer() {
  if (buffered_ == 0) return Status::ok();
  Status s = writeAll(fd_.get(), std::span<const char>(buffer_.get(), buffered_), tmp_path_);
  buffered_ = 0;
  return s;
}

Status FileObjectWriter::commitAsync() {
  if (!error_.isOk()) return error_;
  if (state_ != State::Writing) return internalError("commit of a finished object writer");
  outcome_ = commitNow();
  return outcome_->isOk() ? Status::ok() : outcome_->status();
}

Result<ObjectId> FileObjectWriter::wait() {
  if (!outcome_) return internalError("wait for an object writer that was not committed");
  return *outcome_;
}

Result<ObjectId> FileObjectWriter::commitNow() {
  Status s = flushBuffer();
  if (!s.isOk()) return fail(std::move(s));
  buffer_.reset();
  // The bytes must be on disk before the name points at them; otherwise a
  // crash could leave a correctly named file with missing contents.
  if (::fsync(fd_.get()) != 0) return fail(errnoStatus(errno, "fsync " + tmp_path_));
  s = fd_.close(tmp_path_);
  if (!s.isOk()) return fail(std::move(s));
  ObjectId id = digestHex(hash_.finish());
  s = publish(id);
  if (!s.isOk()) return fail(std::move(s));
  state_ = State::Committed;
  return id;
}

Status FileObjectWriter::publish(const ObjectId& id) {
  const std::string fanout = fanoutDir(root_, id);
  const std::string final_path = objectPath(root_, id);
  struct stat st;
  if (::stat(final_path.c_str(), &st) == 0) {
    discardTemp();
    // The existing copy's bytes were fsynced before it was renamed, but a
    // crash may have struck before its directory entry was synced; sync it
    // now so "ok" means durable for this caller too.
    return fsyncDir(fanout);
  }
  if (errno != ENOENT) return errnoStatus(errno, "stat " + final_path);

  bool created = false;
  MAILARK_RETURN_IF_ERROR(makeDir(fanout, &created));
  if (created) MAILARK_RETURN_IF_ERROR(fsyncDir(objectsDir(root_)));
  if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
    return errnoStatus(errno, "rename " + tmp_path_ + " to " + final_path);
  }
  tmp_path_.clear();
  return fsyncDir(fanout);
}

void FileObjectWriter::abort() {
  if (state_ != State::Writing) return;
  state_ = State::Aborted;
  discardTemp();
}

Status FileObjectWriter::fail(Status s) {
  error_ = s;
  discardTemp();
  return s;
}

void FileObjectWriter::discardTemp() {
  fd_.reset();
  buffer_.reset();
  buffered_ = 0;
  if (tmp_path_.empty()) return;
  // Failure here only leaves debris that the next open removes.
  if (::unlink(tmp_path_.c_str()) != 0 && errno != ENOENT) {
    log::warn("could not remove temporary object " + tmp_path_ + ": " + std::strerror(errno));
  }
  tmp_path_.clear();
}

}  // namespace mailark::store
