// DeferredDeleter: frees objects on the next loop turn, so an object can be
// "deleted" from inside its own callback without pulling the stack from
// under it (Envoy's deferredDelete, libuv's close-callback rule).
#pragma once

#include <memory>
#include <vector>

#include <uv.h>

namespace mailark::loop {

class DeferredDeleter {
 public:
  explicit DeferredDeleter(uv_loop_t* loop);
  // REQUIRES: close() was called and the loop has run its close callbacks,
  // or the loop is never run again.
  ~DeferredDeleter();

  template <typename T>
  void deleteLater(std::unique_ptr<T> object) {
    pending_.push_back(std::shared_ptr<void>(std::move(object)));
    arm();
  }

  // Frees what is pending now and closes the timer handle.
  void close();

 private:
  void arm();

  uv_timer_t* timer_;
  std::vector<std::shared_ptr<void>> pending_;
};

}  // namespace mailark::loop
