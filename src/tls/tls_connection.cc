#include "src/tls/tls_connection.h"

namespace mailark::tls {

TlsConnection::TlsConnection(uv_loop_t* loop, std::shared_ptr<TlsContext> context,
                             ConnectionCallbacks* callbacks)
    : context_(std::move(context)), callbacks_(callbacks), stream_(loop, this) {}

TlsConnection::~TlsConnection() { close(); }

void TlsConnection::connect(const std::string& host, uint16_t port, uint64_t idle_timeout_ms) {
  session_ = std::make_unique<TlsSession>(context_, host);
  open_ = true;
  stream_.connect(host, port, idle_timeout_ms);
}

void TlsConnection::close() {
  open_ = false;
  stream_.close();
}

void TlsConnection::fail(const Status& status) {
  if (!open_) return;
  close();
  callbacks_->onClosed(status);
}

void TlsConnection::flush() {
  std::string out = session_->takeCiphertext();
  if (!out.empty()) stream_.write(std::move(out));
}

void TlsConnection::onConnected(const Status& status) {
  if (!status.isOk()) return fail(status);
  Status s = session_->start();
  flush();
  if (!s.isOk()) return fail(s);
}

void TlsConnection::onRead(std::span<const char> bytes) {
  bool was_done = session_->handshakeDone();
  bool announced = was_done;
  Status s = session_->feed(bytes, [&](std::span<const char> plain) -> Status {
    if (!announced) {
      announced = true;
      callbacks_->onConnected();
      if (!open_) return Status(StatusCode::Cancelled, "closed");
    }
    return callbacks_->onData(plain);
  });
  if (!open_) return;  // closed from inside a callback
  flush();
  if (!s.isOk()) return fail(s);
  if (!announced && session_->handshakeDone()) {
    callbacks_->onConnected();
  }
}

void TlsConnection::write(std::string_view plaintext) {
  if (!open_) return;
  Status s = session_->write(std::span<const char>(plaintext.data(), plaintext.size()));
  flush();
  if (!s.isOk()) fail(s);
}

void TlsConnection::expectPlaintext(uint64_t bytes) {
  // OpenSSL may hold a partial record of up to 16 KiB of plaintext already,
  // so only what lies beyond it is sure to reach the socket. Powers of two
  // up to the stream's 64 KiB read buffer keep the setsockopt() calls to a
  // few per message; below 8 KiB a saved wake-up is not worth the call.
  constexpr uint64_t kRecordPlaintext = 16 * 1024;
  constexpr size_t kLeast = 8 * 1024;
  constexpr size_t kMost = 64 * 1024;
  size_t low = 1;
  if (open_ && bytes > kRecordPlaintext + kLeast) {
    const uint64_t sure = bytes - kRecordPlaintext;
    low = kMost;
    while (low > sure) low /= 2;
  }
  stream_.setReadLowWater(low);
}

void TlsConnection::onStreamError(const Status& status) { fail(status); }

}  // namespace mailark::tls
