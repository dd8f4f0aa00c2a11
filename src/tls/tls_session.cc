#include "src/tls/tls_session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

namespace mailark::tls {

namespace {

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

TlsSession::TlsSession(std::shared_ptr<TlsContext> context, const std::string& host)
    : context_(std::move(context)), host_(host) {}

TlsSession::~TlsSession() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees both BIOs too
}

Status TlsSession::start() {
  ssl_ = SSL_new(context_->raw());
  if (ssl_ == nullptr) return internalError("SSL_new failed: " + drainOpenSslErrors());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (in_ == nullptr || out_ == nullptr) return internalError("BIO_new failed");
  // A drained memory BIO means "need more", not end of stream.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_connect_state(ssl_);
  if (isIpLiteral(host_)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host_.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, host_.c_str());
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl_, host_.c_str()) != 1)
      return internalError("cannot set the TLS host name to verify: " + drainOpenSslErrors());
  }
  return handshake();
}

Status TlsSession::sslError(int rc, const char* what) {
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Status::ok();
  long verify = SSL_get_verify_result(ssl_);
  std::string detail = drainOpenSslErrors();
  if (!handshake_done_ && verify == X509_V_ERR_HOSTNAME_MISMATCH) {
    return tlsError("TLS certificate of " + host_ + " not accepted: hostname mismatch (the certificate is for another name; check [server] host)");
  }
  if (!handshake_done_ && verify != X509_V_OK) {
    return tlsError("TLS certificate of " + host_ + " not trusted: " +
                    X509_verify_cert_error_string(verify) +
                    " (if the server uses a private CA, set [server] ca_file)");
  }
  if (err == SSL_ERROR_ZERO_RETURN) return transientError("TLS connection closed by " + host_);
  if (!handshake_done_) return tlsError(std::string("TLS handshake with ") + host_ + " failed: " + (detail.empty() ? what : detail));
  return protocolError(std::string("TLS ") + what + " failed: " + detail);
}

Status TlsSession::handshake() {
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshake_done_ = true;
    return Status::ok();
  }
  return sslError(rc, "handshake");
}

Status TlsSession::feed(std::span<const char> ciphertext, const PlaintextSink& sink) {
  size_t off = 0;
  char buf[16 * 1024];
  while (off < ciphertext.size()) {
    size_t written = 0;
    if (BIO_write_ex(in_, ciphertext.data() + off, ciphertext.size() - off, &written) != 1)
      return internalError("BIO_write failed");
    off += written;
    if (!handshake_done_) {
      MAILARK_RETURN_IF_ERROR(handshake());
      if (!handshake_done_) continue;
    }
    for (;;) {
      size_t n = 0;
      int rc = SSL_read_ex(ssl_, buf, sizeof buf, &n);
      if (rc == 1) {
        MAILARK_RETURN_IF_ERROR(sink(std::span<const char>(buf, n)));
        continue;
      }
      MAILARK_RETURN_IF_ERROR(sslError(rc, "read"));
      break;  // want more ciphertext
    }
    MAILARK_RETURN_IF_ERROR(flushPending());
  }
  return Status::ok();
}

Status TlsSession::write(std::span<const char> plaintext) {
  pending_.append(plaintext.data(), plaintext.size());
  return flushPending();
}

Status TlsSession::flushPending() {
  while (!pending_.empty() && handshake_done_) {
    size_t n = 0;
    int rc = SSL_write_ex(ssl_, pending_.data(), pending_.size(), &n);
    if (rc != 1) {
      int err = SSL_get_error(ssl_, rc);
      // Mid-renegotiation OpenSSL may need the peer's bytes first: keep the
      // plaintext and retry from feed(), never drop it.
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Status::ok();
      return sslError(rc, "write");
    }
    pending_.erase(0, n);
  }
  return Status::ok();
}

std::string TlsSession::takeCiphertext() {
  std::string out;
  size_t pending = BIO_ctrl_pending(out_);
  if (pending == 0) return out;
  out.resize(pending);
  size_t n = 0;
  BIO_read_ex(out_, out.data(), pending, &n);
  out.resize(n);
  return out;
}

}  // namespace mailark::tls
