#include "src/loop/timer.h"

namespace mailark::loop {

struct Timer::Handle {
  uv_timer_t timer{};
  std::function<void()> fire;
};

Timer::Timer(uv_loop_t* loop) : handle_(new Handle) {
  uv_timer_init(loop, &handle_->timer);
  handle_->timer.data = handle_;
}

Timer::~Timer() {
  handle_->fire = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->timer),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

void Timer::start(uint64_t delay_ms, std::function<void()> fire) {
  handle_->fire = std::move(fire);
  uv_timer_start(
      &handle_->timer,
      [](uv_timer_t* t) {
        auto* h = static_cast<Handle*>(t->data);
        // Move out first: the callback may re-arm or destroy the Timer.
        std::function<void()> f = std::move(h->fire);
        h->fire = nullptr;
        if (f) f();
      },
      delay_ms, 0);
}

void Timer::stop() {
  uv_timer_stop(&handle_->timer);
  handle_->fire = nullptr;
}

bool Timer::active() const { return uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_->timer)) != 0; }

}  // namespace mailark::loop
