// TcpStream: one outgoing TCP connection on a libuv loop.
//
// Resolves the host (uv_getaddrinfo), connects, reads and writes. The uv
// handles live in a heap "core" that is freed from the close callbacks, so a
// TcpStream may be destroyed at any time, including from inside one of its
// own callbacks; after close() or destruction no callback is delivered.
//
// Threading: belongs to the loop's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <uv.h>

#include "mailark/status.h"

namespace mailark::loop {

class TcpStreamCallbacks {
 public:
  virtual ~TcpStreamCallbacks() = default;
  // Connection established (ok) or failed (Transient naming host and cause).
  virtual void onConnected(const Status& status) = 0;
  // Bytes received. The span is valid only during the call.
  virtual void onRead(std::span<const char> bytes) = 0;
  // The connection ended: EOF, read/write error or idle timeout. Final.
  virtual void onStreamError(const Status& status) = 0;
};

class TcpStream {
 public:
  // `callbacks` must outlive this stream or its close().
  TcpStream(uv_loop_t* loop, TcpStreamCallbacks* callbacks);
  ~TcpStream();
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  // Starts resolving and connecting; the outcome arrives via onConnected().
  // `idle_timeout_ms` (0 = none) ends the connection with onStreamError()
  // when neither connect nor read makes progress for that long.
  void connect(const std::string& host, uint16_t port, uint64_t idle_timeout_ms);

  // Queues bytes for sending. REQUIRES: connected.
  void write(std::string bytes);

  // Closes the connection; idempotent. No callbacks after this returns.
  void close();

  uint64_t bytesRead() const;

  // Asks the kernel not to report the socket readable before `bytes` are
  // waiting (SO_RCVLOWAT; 1 is the default). The caller must know that many
  // will come: end of stream still wakes the reader, a short send does not.
  // Fewer, larger reads mean fewer loop wake-ups per byte. The idle timeout
  // is re-armed by reads, so it also counts time spent below the mark.
  void setReadLowWater(size_t bytes);

  // Implementation state; public only so file-local helpers can name it.
  struct Core;

 private:
  Core* core_;
};

}  // namespace mailark::loop
