// TlsConnection: implicit-TLS client connection (TcpStream + TlsSession).
//
// The protocol layer above sees only plaintext: onConnected() after the TLS
// handshake and certificate check, onData() for decrypted bytes, and one
// final onClosed() with the reason.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "mailark/status.h"
#include "src/loop/tcp_stream.h"
#include "src/tls/tls_session.h"

namespace mailark::tls {

class ConnectionCallbacks {
 public:
  virtual ~ConnectionCallbacks() = default;
  virtual void onConnected() = 0;
  // Plaintext from the server; valid only during the call. Returning a
  // non-ok Status closes the connection with that Status.
  virtual Status onData(std::span<const char> bytes) = 0;
  // The connection failed or ended. Final: no callbacks follow.
  virtual void onClosed(const Status& reason) = 0;
};

class TlsConnection : private loop::TcpStreamCallbacks {
 public:
  // `callbacks` must outlive the connection (or its close()).
  TlsConnection(uv_loop_t* loop, std::shared_ptr<TlsContext> context, ConnectionCallbacks* callbacks);
  ~TlsConnection() override;

  void connect(const std::string& host, uint16_t port, uint64_t idle_timeout_ms);
  // Encrypts and sends. Errors surface through onClosed().
  void write(std::string_view plaintext);
  // Closes without further callbacks; idempotent.
  void close();
  // The peer is known to send at least `bytes` more plaintext (the rest of a
  // literal): lets the socket wake the loop only once a large piece of it is
  // there instead of on every segment.
  void expectPlaintext(uint64_t bytes);

 private:
  void onConnected(const Status& status) override;
  void onRead(std::span<const char> bytes) override;
  void onStreamError(const Status& status) override;
  void flush();
  void fail(const Status& status);

  std::shared_ptr<TlsContext> context_;
  ConnectionCallbacks* callbacks_;
  loop::TcpStream stream_;
  std::unique_ptr<TlsSession> session_;
  bool open_ = false;
};

}  // namespace mailark::tls
