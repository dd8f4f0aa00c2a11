// WorkerPool: a few threads that run CPU work (hashing, compression, pack
// writes) off the loop thread, in strands.
//
// A Strand is a serial queue: its tasks run one at a time, in the order they
// were posted, though not always on the same thread. Different strands run
// in parallel. Each object being written has its own strand, so its bytes
// are hashed and compressed in order while other objects proceed at once.
//
// With zero threads the pool runs every task inline, on the thread that
// posts it, before post() returns (a task posted from inside a running task
// of the same strand runs right after it). That mode keeps the whole store
// on one thread, for tests and for measuring the difference.
//
// Wake-ups: a futex wake costs about as much CPU as a small task, so a
// ready strand wakes a worker only when one is asleep and every worker
// already woken has a strand of its own to pick up (wakeWorker).
//
// Threading: post() may be called from any thread, also from inside a task.
// Lifetime: the destructor runs every task already posted, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mailark::store {

class WorkerPool;

class Strand {
 private:
  friend class WorkerPool;
  std::deque<std::function<void()>> tasks_;  // guarded by the pool's mutex
  bool active_ = false;                      // queued or running somewhere
};
using StrandPtr = std::shared_ptr<Strand>;

class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` on `strand`. The pool keeps `strand` alive while it has
  // tasks. With `here`, an idle strand's task runs inline on the calling
  // thread (as with zero threads): for work too small to pay for a hand-off.
  void post(const StrandPtr& strand, std::function<void()> task, bool here = false);

  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }

 private:
  void workerMain();
  // mu_ held: whether a sleeping worker must be woken for ready_ (of which
  // the caller takes `taken_by_caller` itself); counts the wake-up as
  // pending when so. Notify after unlocking.
  bool wakeWorker(int taken_by_caller = 0);
  // Runs `strand`'s tasks until it is empty (inline mode).
  void drainInline(const StrandPtr& strand);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StrandPtr> ready_;  // strands with tasks, not running
  int sleeping_ = 0;             // workers inside cv_.wait
  int wakes_pending_ = 0;        // notified, not yet back from cv_.wait
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mailark::store
