// SyncThread: runs a content store's pending fsyncs (PendingSync::run) on a
// thread of its own, one at a time, so a group commit does not stall the
// loop, and with it every connection, while the disk catches up.
//
// The owner (the loop's thread) start()s a sync, goes on, and collect()s
// its outcome once done() says it is there (or waits for it in collect()).
// The notifier runs on the sync thread right after each sync, e.g. to wake
// the loop; it is called under the thread's mutex, so once
// setNotifier(nullptr) returns it is never called again.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "mailark/content_store.h"

namespace mailark::engine {

class SyncThread {
 public:
  SyncThread() = default;
  // Waits for a sync under way; its outcome is dropped.
  ~SyncThread();
  SyncThread(const SyncThread&) = delete;
  SyncThread& operator=(const SyncThread&) = delete;

  void setNotifier(std::function<void()> notify);

  // Runs pending->run() on the thread. `pending` must stay alive until
  // collect(). REQUIRES: nothing started and not yet collected.
  void start(PendingSync* pending);
  // The started sync has finished (collect() will not block). Any thread.
  bool done();
  // Waits for the started sync and returns what run() returned.
  Status collect();

 private:
  void serve();

  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;  // started with the first sync
  std::function<void()> notify_;
  PendingSync* job_ = nullptr;  // handed to the thread, not yet run
  bool finished_ = false;
  Status result_;
  bool quit_ = false;
};

}  // namespace mailark::engine
