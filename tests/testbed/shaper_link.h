// ShaperLink: one direction of one proxied connection, as a simulated link.
//
// Bytes read from `from` are chunks; each finishes "transmission" at
// max(arrival, previous finish) + size / rate and is written to `to` one
// propagation delay later. Due times only grow, so the chunks wait in FIFO
// order and one timer, armed for the oldest, serves the whole direction.
// At most `queue_limit` bytes are held (waiting or being written); beyond
// that the link stops reading so TCP back-pressure reaches the sender. End
// of input becomes uv_shutdown() of `to` once everything before it is sent.
//
// Threading: belongs to the loop's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include <uv.h>

namespace mailark::testbed {

class ShaperLink;

class ShaperLinkCallbacks {
 public:
  virtual ~ShaperLinkCallbacks() = default;
  // `bytes` were read. Returning false means the owner tore the connection
  // down from inside the call (abandon() and close() done): drop the bytes.
  virtual bool onReceived(ShaperLink& link, size_t bytes) = 0;
  // The far side got everything and its write side is shut down.
  virtual void onDrained(ShaperLink& link) = 0;
  // Writing to the far side failed: the connection is unusable.
  virtual void onBroken(ShaperLink& link) = 0;
  // The link's timer is closed; the owner frees the link after this.
  virtual void onClosed(ShaperLink& link) = 0;
};

struct ShaperLinkSettings {
  double ns_per_byte = 0;  // 0: unlimited bandwidth
  uint64_t delay_ns = 0;   // one way: half the round trip
  size_t queue_limit = 0;
};

class ShaperLink {
 public:
  ShaperLink(uv_loop_t* loop, const ShaperLinkSettings& settings, ShaperLinkCallbacks& callbacks);
  ~ShaperLink();  // REQUIRES: closed (onClosed() delivered)
  ShaperLink(const ShaperLink&) = delete;
  ShaperLink& operator=(const ShaperLink&) = delete;

  // Starts reading `from` (its data pointer becomes this link). Both streams
  // must stay open until abandon(); the owner closes them.
  void start(uv_stream_t* from, uv_stream_t* to);
  // Stops reading and sending and drops what is waiting (a reset or a
  // broken connection). Writes already handed to libuv finish or cancel.
  void abandon();
  // Closes the timer; onClosed() follows.
  void close();

 private:
  struct Chunk;
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onTimer(uv_timer_t* timer);
  static void onWritten(uv_write_t* req, int status);
  static void onShutdown(uv_shutdown_t* req, int status);

  void enqueue(std::unique_ptr<char[]> bytes, size_t size);
  void sendDue();
  void endInput();
  void shutdownWhenSent();
  void updateReading();

  uv_loop_t* loop_;
  ShaperLinkSettings settings_;
  ShaperLinkCallbacks& callbacks_;
  uv_stream_t* from_ = nullptr;
  uv_stream_t* to_ = nullptr;
  uv_timer_t timer_;
  uv_shutdown_t shutdown_;
  std::deque<std::unique_ptr<Chunk>> waiting_;
  size_t held_ = 0;                // bytes waiting or being written
  uint64_t tx_free_at_ns_ = 0;     // when the simulated sender is idle again
  bool started_ = false;
  bool reading_ = false;
  bool input_ended_ = false;
  bool shutdown_started_ = false;
  bool abandoned_ = false;
};

}  // namespace mailark::testbed
