// TlsSession: the client side of one TLS connection, driven through OpenSSL
// memory BIOs. No sockets and no libuv: ciphertext in, plaintext out (and the
// reverse), so it can be tested and reused under any transport.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "mailark/status.h"
#include "src/tls/tls_context.h"

struct ssl_st;
struct bio_st;

namespace mailark::tls {

class TlsSession {
 public:
  // Verifies the peer against `host` (a DNS name or an IP address literal).
  TlsSession(std::shared_ptr<TlsContext> context, const std::string& host);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Starts the handshake; ciphertext to send appears in takeCiphertext().
  Status start();

  using PlaintextSink = std::function<Status(std::span<const char>)>;

  // Feeds ciphertext from the network. Advances the handshake and passes any
  // decrypted bytes to `sink`. Returns Tls on a failed handshake or
  // certificate check (with the reason), ProtocolError on a corrupt stream,
  // or the sink's own error.
  Status feed(std::span<const char> ciphertext, const PlaintextSink& sink);

  // Encrypts application bytes. REQUIRES: handshakeDone().
  Status write(std::span<const char> plaintext);

  // Ciphertext waiting to be sent; empties the buffer.
  std::string takeCiphertext();

  bool handshakeDone() const { return handshake_done_; }

 private:
  Status handshake();
  Status flushPending();
  Status sslError(int rc, const char* what);

  std::shared_ptr<TlsContext> context_;
  std::string host_;
  ssl_st* ssl_ = nullptr;
  bio_st* in_ = nullptr;   // network -> OpenSSL
  bio_st* out_ = nullptr;  // OpenSSL -> network
  bool handshake_done_ = false;
  std::string pending_;  // plaintext OpenSSL could not take yet (renegotiation)
};

}  // namespace mailark::tls
