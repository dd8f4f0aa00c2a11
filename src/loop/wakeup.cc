#include "src/loop/wakeup.h"

namespace mailark::loop {

struct Wakeup::Handle {
  uv_async_t async{};
  std::function<void()> on_wake;
};

Wakeup::Wakeup(uv_loop_t* loop, std::function<void()> on_wake) : handle_(new Handle) {
  handle_->on_wake = std::move(on_wake);
  uv_async_init(loop, &handle_->async, [](uv_async_t* a) {
    auto* h = static_cast<Handle*>(a->data);
    if (h->on_wake) h->on_wake();
  });
  handle_->async.data = handle_;
  uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->async));
}

Wakeup::~Wakeup() {
  handle_->on_wake = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->async),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

void Wakeup::send() { uv_async_send(&handle_->async); }

}  // namespace mailark::loop
