#include "src/loop/deferred_deleter.h"

namespace mailark::loop {

DeferredDeleter::DeferredDeleter(uv_loop_t* loop) : timer_(new uv_timer_t) {
  uv_timer_init(loop, timer_);
  timer_->data = this;
}

DeferredDeleter::~DeferredDeleter() { close(); }

void DeferredDeleter::arm() {
  if (timer_ == nullptr || uv_is_active(reinterpret_cast<uv_handle_t*>(timer_))) return;
  uv_timer_start(
      timer_,
      [](uv_timer_t* t) {
        auto* self = static_cast<DeferredDeleter*>(t->data);
        // Destructors may queue more deletions; take the batch first.
        std::vector<std::shared_ptr<void>> batch;
        batch.swap(self->pending_);
        batch.clear();
      },
      0, 0);
}

void DeferredDeleter::close() {
  pending_.clear();
  if (timer_ == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  timer_ = nullptr;
}

}  // namespace mailark::loop
