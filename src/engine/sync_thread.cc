#include "src/engine/sync_thread.h"

namespace mailark::engine {

SyncThread::~SyncThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
    notify_ = nullptr;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SyncThread::setNotifier(std::function<void()> notify) {
  std::lock_guard<std::mutex> lock(mu_);
  notify_ = std::move(notify);
}

void SyncThread::start(PendingSync* pending) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = pending;
    finished_ = false;
  }
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { serve(); });
  } else {
    cv_.notify_all();
  }
}

bool SyncThread::done() {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

Status SyncThread::collect() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return finished_; });
  finished_ = false;
  return std::move(result_);
}

void SyncThread::serve() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // A sync handed over before quit_ still runs: its fds stay open until
    // the owner gives the PendingSync back.
    cv_.wait(lock, [this] { return job_ != nullptr || quit_; });
    if (job_ == nullptr) return;
    PendingSync* job = job_;
    job_ = nullptr;
    lock.unlock();
    Status result = job->run();
    lock.lock();
    result_ = std::move(result);
    finished_ = true;
    cv_.notify_all();
    if (notify_) notify_();
  }
}

}  // namespace mailark::engine
