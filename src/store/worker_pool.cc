#include "src/store/worker_pool.h"

namespace mailark::store {

namespace {
// A strand gives its worker up after this many tasks in a row, so one busy
// object cannot starve the others.
constexpr int kTasksPerTurn = 8;
}  // namespace

WorkerPool::WorkerPool(unsigned threads) {
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { workerMain(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::post(const StrandPtr& strand, std::function<void()> task, bool here) {
  std::unique_lock<std::mutex> lock(mu_);
  strand->tasks_.push_back(std::move(task));
  if (strand->active_) return;  // whoever runs it will get to this task
  strand->active_ = true;
  if (threads_.empty() || here) {
    lock.unlock();
    return drainInline(strand);
  }
  ready_.push_back(strand);
  lock.unlock();
  cv_.notify_one();
}

void WorkerPool::drainInline(const StrandPtr& strand) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!strand->tasks_.empty()) {
    std::function<void()> task = std::move(strand->tasks_.front());
    strand->tasks_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // release captures outside the lock
    lock.lock();
  }
  strand->active_ = false;
}

void WorkerPool::workerMain() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
    if (ready_.empty()) return;  // stopping, and nothing is left to run
    StrandPtr strand = std::move(ready_.front());
    ready_.pop_front();
    for (int n = 0; n < kTasksPerTurn && !strand->tasks_.empty(); ++n) {
      std::function<void()> task = std::move(strand->tasks_.front());
      strand->tasks_.pop_front();
      lock.unlock();
      task();
      task = nullptr;
      lock.lock();
    }
    if (strand->tasks_.empty()) {
      strand->active_ = false;
    } else {
      ready_.push_back(std::move(strand));
      cv_.notify_one();
    }
  }
}

}  // namespace mailark::store
