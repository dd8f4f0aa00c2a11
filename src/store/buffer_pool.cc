#include "src/store/buffer_pool.h"

#include <algorithm>
#include <bit>

namespace mailark::store {

static_assert(BufferPool::kMinSize << 6 == BufferPool::kMaxSize, "kClasses covers kMinSize..kMaxSize");

BufferPool::~BufferPool() {
  for (std::vector<char*>& spare : spare_)
    for (char* b : spare) delete[] b;
}

size_t BufferPool::classSize(size_t size) { return std::bit_ceil(std::max(size, kMinSize)); }

size_t BufferPool::classIndex(size_t capacity) {
  return static_cast<size_t>(std::countr_zero(capacity) - std::countr_zero(kMinSize));
}

char* BufferPool::take(size_t size) {
  const size_t capacity = classSize(size);
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<char*>& spare = spare_[classIndex(capacity)];
    if (!spare.empty()) {
      char* b = spare.back();
      spare.pop_back();
      return b;
    }
  }
  return new char[capacity];
}

void BufferPool::give(char* buffer, size_t capacity) {
  const size_t keep = std::max(kMinSparePerClass, kSpareBytesPerClass / capacity);
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<char*>& spare = spare_[classIndex(capacity)];
    if (spare.size() < keep) {
      spare.push_back(buffer);
      return;
    }
  }
  delete[] buffer;
}

}  // namespace mailark::store
