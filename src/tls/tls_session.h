// TlsSession: the client side of one TLS connection, driven through an
// in-memory BIO. No sockets and no libuv: ciphertext in, plaintext out (and
// the reverse), so it can be tested and reused under any transport.
//
// The BIO is not BIO_s_mem: that one zero-fills and copies every chunk into
// its own buffer before OpenSSL copies it again. Ours lets OpenSSL read the
// caller's ciphertext in place during feed(), and appends what OpenSSL
// writes to a string that takeCiphertext() hands over without a copy.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "mailark/status.h"
#include "src/tls/tls_context.h"

struct ssl_st;

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

  // What the BIO reads from and writes to; public only so the BIO's
  // file-local callbacks can name it.
  struct Pipe {
    std::span<const char> input;  // the feed() argument not yet read
    std::string output;           // ciphertext not yet taken
  };

  bool handshakeDone() const { return handshake_done_; }

 private:
  Status handshake();
  Status readAll(const PlaintextSink& sink);
  Status flushPending();
  Status sslError(int rc, const char* what);

  std::shared_ptr<TlsContext> context_;
  std::string host_;
  ssl_st* ssl_ = nullptr;
  Pipe pipe_;
  bool handshake_done_ = false;
  std::string pending_;  // plaintext OpenSSL could not take yet (renegotiation)
};

}  // namespace mailark::tls
