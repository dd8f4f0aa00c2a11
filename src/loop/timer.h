// Timer: a one-shot libuv timer owned by one object. Destroying the Timer
// cancels it; the uv handle is freed from its close callback, so a Timer may
// be destroyed from inside its own callback.
#pragma once

#include <cstdint>
#include <functional>

#include <uv.h>

namespace mailark::loop {

class Timer {
 public:
  explicit Timer(uv_loop_t* loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // (Re)arms the timer; `fire` runs once after `delay_ms`.
  void start(uint64_t delay_ms, std::function<void()> fire);
  void stop();
  bool active() const;

 private:
  struct Handle;
  Handle* handle_;
};

}  // namespace mailark::loop
