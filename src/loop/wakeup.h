// Wakeup: lets another thread run a callback on the loop's thread
// (uv_async). send() may be called from any thread; several sends before
// the loop gets to it run the callback once. The handle does not keep the
// loop alive by itself. Owned by the loop's thread; destroying it closes
// the handle (freed from the close callback).
#pragma once

#include <functional>

#include <uv.h>

namespace mailark::loop {

class Wakeup {
 public:
  Wakeup(uv_loop_t* loop, std::function<void()> on_wake);
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  // Any thread.
  void send();

 private:
  struct Handle;
  Handle* handle_;
};

}  // namespace mailark::loop
