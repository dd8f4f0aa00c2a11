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
  const bool wake = wakeWorker();
  lock.unlock();
  if (wake) cv_.notify_one();
}

bool WorkerPool::wakeWorker(int taken_by_caller) {
  // A worker already woken takes a ready strand; running workers come back
  // for more on their own. Counting a spurious wake-up as one of the pending
  // ones can only make this wake an extra worker, never too few.
  const int unclaimed = static_cast<int>(ready_.size()) - taken_by_caller - wakes_pending_;
  if (sleeping_ <= wakes_pending_ || unclaimed <= 0) return false;
  ++wakes_pending_;
  return true;
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
    while (!stopping_ && ready_.empty()) {
      ++sleeping_;
      cv_.wait(lock);
      --sleeping_;
      if (wakes_pending_ > 0) --wakes_pending_;
    }
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
      // This worker takes the front strand next: wake another only for more.
      if (wakeWorker(1)) {
        lock.unlock();
        cv_.notify_one();
        lock.lock();
      }
    }
  }
}

}  // namespace mailark::store
