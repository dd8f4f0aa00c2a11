#include "tests/testbed/shaper_link.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace mailark::testbed {
namespace {

constexpr size_t kReadBytes = 64 * 1024;
// Reads below this are copied into a buffer of their own size: a chatty
// peer's many small reads must not each pin a 64 KiB buffer while they wait
// out the delay (the queue limit counts bytes, not buffers).
constexpr size_t kSmallRead = 4 * 1024;
// Timers tick in milliseconds: a chunk due within half a tick goes now
// rather than a whole tick late. Only the send moves; the link's clock
// (tx_free_at_ns_) does not, so the rate stays exact.
constexpr uint64_t kEarlyNs = 500'000;

// Free read buffers, shared by all links (one loop thread). Handing freed
// 64 KiB blocks back to malloc made it trim the heap and every later read
// page-fault fresh memory in; a few MiB kept here avoid that.
constexpr size_t kPooledBuffers = 64;
std::vector<std::unique_ptr<char[]>> free_buffers;

char* takeBuffer() {
  if (free_buffers.empty()) return new char[kReadBytes];
  char* buffer = free_buffers.back().release();
  free_buffers.pop_back();
  return buffer;
}

void giveBuffer(std::unique_ptr<char[]> buffer) {
  if (buffer && free_buffers.size() < kPooledBuffers) free_buffers.push_back(std::move(buffer));
}

}  // namespace

struct ShaperLink::Chunk {
  uv_write_t req;
  ShaperLink* link;
  uint64_t due_ns;
  std::unique_ptr<char[]> bytes;
  size_t size;
  bool read_buffer;  // `bytes` is a whole kReadBytes buffer, worth reusing
};

ShaperLink::ShaperLink(uv_loop_t* loop, const ShaperLinkSettings& settings, ShaperLinkCallbacks& callbacks)
    : loop_(loop), settings_(settings), callbacks_(callbacks) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
}

ShaperLink::~ShaperLink() = default;

void ShaperLink::start(uv_stream_t* from, uv_stream_t* to) {
  from_ = from;
  to_ = to;
  from_->data = this;
  started_ = true;
  updateReading();
}

void ShaperLink::abandon() {
  abandoned_ = true;
  if (reading_) uv_read_stop(from_);
  reading_ = false;
  uv_timer_stop(&timer_);
  waiting_.clear();
}

void ShaperLink::close() {
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), [](uv_handle_t* handle) {
    auto* link = static_cast<ShaperLink*>(handle->data);
    link->callbacks_.onClosed(*link);
  });
}

void ShaperLink::onAlloc(uv_handle_t*, size_t, uv_buf_t* buf) { *buf = uv_buf_init(takeBuffer(), kReadBytes); }

void ShaperLink::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* link = static_cast<ShaperLink*>(stream->data);
  std::unique_ptr<char[]> buffer(buf->base);
  if (nread <= 0) {
    giveBuffer(std::move(buffer));
    // A reset ends the input like EOF does: the far side gets a FIN.
    if (nread < 0) link->endInput();
    return;
  }
  size_t size = static_cast<size_t>(nread);
  if (!link->callbacks_.onReceived(*link, size)) return;
  if (size < kSmallRead) {
    std::unique_ptr<char[]> small(new char[size]);
    std::memcpy(small.get(), buffer.get(), size);
    giveBuffer(std::exchange(buffer, std::move(small)));
  }
  link->enqueue(std::move(buffer), size);
}

void ShaperLink::enqueue(std::unique_ptr<char[]> bytes, size_t size) {
  uint64_t now = uv_hrtime();
  tx_free_at_ns_ = std::max(now, tx_free_at_ns_) + static_cast<uint64_t>(size * settings_.ns_per_byte);
  bool read_buffer = size >= kSmallRead;
  waiting_.push_back(std::unique_ptr<Chunk>(
      new Chunk{{}, this, tx_free_at_ns_ + settings_.delay_ns, std::move(bytes), size, read_buffer}));
  held_ += size;
  updateReading();
  // Otherwise the timer is already armed for an older chunk.
  if (waiting_.size() == 1) sendDue();
}

void ShaperLink::onTimer(uv_timer_t* timer) { static_cast<ShaperLink*>(timer->data)->sendDue(); }

void ShaperLink::sendDue() {
  uint64_t now = uv_hrtime();
  while (!waiting_.empty() && waiting_.front()->due_ns <= now + kEarlyNs) {
    std::unique_ptr<Chunk> chunk = std::move(waiting_.front());
    waiting_.pop_front();
    chunk->req.data = chunk.get();
    uv_buf_t buf = uv_buf_init(chunk->bytes.get(), static_cast<unsigned>(chunk->size));
    if (uv_write(&chunk->req, to_, &buf, 1, onWritten) < 0) {
      callbacks_.onBroken(*this);
      return;
    }
    chunk.release();  // onWritten owns it now
  }
  if (waiting_.empty()) {
    shutdownWhenSent();
    return;
  }
  // Loop time (ms) never runs ahead of uv_hrtime(), so a timer set for the
  // millisecond rounded up never fires before the chunk may go.
  uv_update_time(loop_);
  uint64_t due_ms = (waiting_.front()->due_ns - kEarlyNs + 999'999) / 1'000'000;
  uint64_t now_ms = uv_now(loop_);
  uv_timer_start(&timer_, onTimer, due_ms > now_ms ? due_ms - now_ms : 0, 0);
}

void ShaperLink::onWritten(uv_write_t* req, int status) {
  std::unique_ptr<Chunk> chunk(static_cast<Chunk*>(req->data));
  ShaperLink* link = chunk->link;
  link->held_ -= chunk->size;
  if (chunk->read_buffer) giveBuffer(std::move(chunk->bytes));
  if (link->abandoned_) return;
  if (status < 0) {
    link->callbacks_.onBroken(*link);
    return;
  }
  link->updateReading();
}

void ShaperLink::endInput() {
  input_ended_ = true;
  if (reading_) uv_read_stop(from_);
  reading_ = false;
  shutdownWhenSent();
}

// libuv shuts the write side down only after the writes queued before it.
void ShaperLink::shutdownWhenSent() {
  if (!input_ended_ || !waiting_.empty() || shutdown_started_ || abandoned_) return;
  shutdown_started_ = true;
  shutdown_.data = this;
  if (uv_shutdown(&shutdown_, to_, onShutdown) < 0) callbacks_.onDrained(*this);
}

void ShaperLink::onShutdown(uv_shutdown_t* req, int) {
  auto* link = static_cast<ShaperLink*>(req->data);
  if (!link->abandoned_) link->callbacks_.onDrained(*link);
}

void ShaperLink::updateReading() {
  if (!started_ || input_ended_ || abandoned_) return;
  bool want = held_ < settings_.queue_limit;
  if (want == reading_) return;
  reading_ = want;
  if (!want) {
    uv_read_stop(from_);
  } else if (uv_read_start(from_, onAlloc, onRead) < 0) {
    endInput();
  }
}

}  // namespace mailark::testbed
