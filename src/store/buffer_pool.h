// BufferPool: reusable byte buffers in power-of-two size classes for the
// pack store's 64 KiB chunks and frame buffers, so an object neither
// mallocs nor faults in fresh pages (glibc gives large freed blocks back to
// the kernel, and the next object pays a page fault per 4 KiB for them).
//
// A buffer is at most twice the size asked for, so a small message still
// holds about its own size while it waits. Spare buffers are bounded per
// class (kSpareBytesPerClass, at least kMinSparePerClass of them: half the
// chunks in flight for the 64 KiB class); the rest are freed, so idle
// memory stays under 7 * kSpareBytesPerClass.
//
// Threading: take() and give() may be called from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <vector>

namespace mailark::store {

class BufferPool {
 public:
  static constexpr size_t kMinSize = 4096;
  static constexpr size_t kMaxSize = 256 * 1024;
  static constexpr size_t kSpareBytesPerClass = 2u << 20;
  static constexpr size_t kMinSparePerClass = 4;

  BufferPool() = default;
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // The size class that holds `size` bytes: a power of two within
  // [kMinSize, kMaxSize] (`size` must not exceed kMaxSize).
  static size_t classSize(size_t size);
  // A buffer of classSize(size) bytes, contents undefined.
  char* take(size_t size);
  // `capacity` is what classSize() gave for it.
  void give(char* buffer, size_t capacity);

 private:
  static constexpr size_t kClasses = 7;  // 4 KiB .. 256 KiB
  static size_t classIndex(size_t capacity);

  std::mutex mu_;
  std::array<std::vector<char*>, kClasses> spare_;
};

}  // namespace mailark::store
