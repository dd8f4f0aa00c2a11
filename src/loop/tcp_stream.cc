#include "src/loop/tcp_stream.h"

#include <sys/socket.h>

#include <cstdlib>
#include <string>

namespace mailark::loop {

// Holds every uv handle and request of one stream. It is freed when the last
// handle's close callback and the last pending request have finished, which
// may be after the TcpStream that created it is gone.
struct TcpStream::Core {
  uv_loop_t* loop = nullptr;
  TcpStreamCallbacks* callbacks = nullptr;  // null once closed
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_getaddrinfo_t resolve{};
  uv_connect_t connect_req{};
  bool tcp_open = false;
  bool timer_open = false;
  bool connected = false;
  int refs = 0;  // open handles + pending requests
  uint64_t idle_timeout_ms = 0;
  uint64_t bytes_read = 0;
  size_t low_water = 1;  // SO_RCVLOWAT set on the socket
  std::string host;
  char read_buffer[64 * 1024];

  void release() {
    if (--refs == 0) delete this;
  }

  // Delivers a final error once and shuts the stream.
  void fail(const Status& status) {
    TcpStreamCallbacks* cb = callbacks;
    shut();
    if (cb != nullptr) cb->onStreamError(status);
  }

  void failConnect(const Status& status) {
    TcpStreamCallbacks* cb = callbacks;
    shut();
    if (cb != nullptr) cb->onConnected(status);
  }

  void shut() {
    callbacks = nullptr;
    if (timer_open) {
      timer_open = false;
      uv_close(reinterpret_cast<uv_handle_t*>(&timer), [](uv_handle_t* h) {
        static_cast<Core*>(h->data)->release();
      });
    }
    if (tcp_open) {
      tcp_open = false;
      uv_close(reinterpret_cast<uv_handle_t*>(&tcp), [](uv_handle_t* h) {
        static_cast<Core*>(h->data)->release();
      });
    }
  }

  void touch() {
    if (timer_open && idle_timeout_ms > 0) uv_timer_again(&timer);
  }
};

namespace {

struct WriteRequest {
  uv_write_t req{};
  std::string bytes;
  TcpStream::Core* core = nullptr;
};

std::string uvError(int err) {
  std::string s = uv_err_name(err);
  s += " (";
  s += uv_strerror(err);
  s += ")";
  return s;
}

}  // namespace

TcpStream::TcpStream(uv_loop_t* loop, TcpStreamCallbacks* callbacks) : core_(new Core) {
  core_->loop = loop;
  core_->callbacks = callbacks;
  core_->refs = 1;  // held by this TcpStream until close()
}

TcpStream::~TcpStream() { close(); }

void TcpStream::close() {
  if (core_ == nullptr) return;
  core_->shut();
  core_->release();
  core_ = nullptr;
}

uint64_t TcpStream::bytesRead() const { return core_ ? core_->bytes_read : 0; }

void TcpStream::setReadLowWater(size_t bytes) {
  Core* c = core_;
  if (c == nullptr || !c->connected || !c->tcp_open || bytes == c->low_water) return;
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&c->tcp), &fd) != 0) return;
  const int value = static_cast<int>(bytes);
  // Best effort: on failure the stream just wakes as often as before.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, sizeof value) == 0) c->low_water = bytes;
}

void TcpStream::connect(const std::string& host, uint16_t port, uint64_t idle_timeout_ms) {
  Core* c = core_;
  c->host = host + ":" + std::to_string(port);
  c->idle_timeout_ms = idle_timeout_ms;
  uv_timer_init(c->loop, &c->timer);
  c->timer.data = c;
  c->timer_open = true;
  ++c->refs;
  if (idle_timeout_ms > 0) {
    uv_timer_start(
        &c->timer,
        [](uv_timer_t* t) {
          Core* core = static_cast<Core*>(t->data);
          Status s = transientError("connection to " + core->host + " timed out (no data for " +
                                    std::to_string(core->idle_timeout_ms / 1000) + " s)");
          if (core->connected) core->fail(s); else core->failConnect(s);
        },
        idle_timeout_ms, idle_timeout_ms);
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  c->resolve.data = c;
  ++c->refs;
  std::string service = std::to_string(port);
  int rc = uv_getaddrinfo(
      c->loop, &c->resolve,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        Core* core = static_cast<Core*>(req->data);
        if (core->callbacks == nullptr) {
          uv_freeaddrinfo(res);
          core->release();
          return;
        }
        if (status != 0) {
          core->failConnect(transientError("cannot resolve " + core->host + ": " + uvError(status)));
          core->release();
          return;
        }
        uv_tcp_init(core->loop, &core->tcp);
        core->tcp.data = core;
        core->tcp_open = true;
        ++core->refs;
        uv_tcp_nodelay(&core->tcp, 1);
        core->connect_req.data = core;
        ++core->refs;
        int crc = uv_tcp_connect(&core->connect_req, &core->tcp, res->ai_addr, [](uv_connect_t* creq, int cstatus) {
          Core* k = static_cast<Core*>(creq->data);
          if (k->callbacks == nullptr) {
            k->release();
            return;
          }
          if (cstatus != 0) {
            k->failConnect(transientError("cannot connect to " + k->host + ": " + uvError(cstatus)));
            k->release();
            return;
          }
          k->connected = true;
          k->touch();
          k->release();
          uv_read_start(
              reinterpret_cast<uv_stream_t*>(&k->tcp),
              [](uv_handle_t* h, size_t, uv_buf_t* buf) {
                Core* kk = static_cast<Core*>(h->data);
                buf->base = kk->read_buffer;
                buf->len = sizeof kk->read_buffer;
              },
              [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
                Core* kk = static_cast<Core*>(s->data);
                if (kk->callbacks == nullptr) return;
                if (n > 0) {
                  kk->bytes_read += static_cast<uint64_t>(n);
                  kk->touch();
                  // Guard: the callback may close the stream and drop the
                  // last outside reference.
                  ++kk->refs;
                  kk->callbacks->onRead(std::span<const char>(buf->base, static_cast<size_t>(n)));
                  kk->release();
                } else if (n == UV_EOF) {
                  kk->fail(transientError("connection closed by " + kk->host));
                } else if (n < 0) {
                  kk->fail(transientError("read from " + kk->host + " failed: " + uvError(static_cast<int>(n))));
                }
              });
          if (k->callbacks != nullptr) {
            ++k->refs;
            k->callbacks->onConnected(Status::ok());
            k->release();
          }
        });
        uv_freeaddrinfo(res);
        if (crc != 0) {
          core->release();  // the connect request never started
          core->failConnect(transientError("cannot connect to " + core->host + ": " + uvError(crc)));
        }
        core->release();  // the resolve request is done
      },
      host.c_str(), service.c_str(), &hints);
  if (rc != 0) {
    c->release();
    // Only a malformed host gets here; reporting it from inside connect()
    // is acceptable because callers treat onConnected as possibly immediate.
    c->failConnect(transientError("cannot resolve " + c->host + ": " + uvError(rc)));
  }
}

void TcpStream::write(std::string bytes) {
  Core* c = core_;
  if (c == nullptr || !c->tcp_open || bytes.empty()) return;
  auto* w = new WriteRequest;
  w->bytes = std::move(bytes);
  w->core = c;
  w->req.data = w;
  ++c->refs;
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, [](uv_write_t* req, int status) {
    auto* wr = static_cast<WriteRequest*>(req->data);
    Core* k = wr->core;
    delete wr;
    if (status != 0 && status != UV_ECANCELED && k->callbacks != nullptr)
      k->fail(transientError("write to " + k->host + " failed: " + uvError(status)));
    k->release();
  });
  if (rc != 0) {
    delete w;
    c->release();
    c->fail(transientError("write to " + c->host + " failed: " + uvError(rc)));
  }
}

}  // namespace mailark::loop
