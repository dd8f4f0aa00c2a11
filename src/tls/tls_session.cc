#include "src/tls/tls_session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace mailark::tls {

namespace {

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

TlsSession::Pipe* pipeOf(BIO* bio) { return static_cast<TlsSession::Pipe*>(BIO_get_data(bio)); }

// Hands out the ciphertext given to feed(); empty means "retry later", as
// a drained socket would.
int pipeRead(BIO* bio, char* out, size_t len, size_t* done) {
  BIO_clear_retry_flags(bio);
  std::span<const char>& in = pipeOf(bio)->input;
  if (in.empty()) {
    BIO_set_retry_read(bio);
    *done = 0;
    return 0;
  }
  const size_t n = std::min(len, in.size());
  std::memcpy(out, in.data(), n);
  in = in.subspan(n);
  *done = n;
  return 1;
}

int pipeWrite(BIO* bio, const char* bytes, size_t len, size_t* done) {
  BIO_clear_retry_flags(bio);
  pipeOf(bio)->output.append(bytes, len);
  *done = len;
  return 1;
}

long pipeCtrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(pipeOf(bio)->input.size());
    case BIO_CTRL_WPENDING:
      return static_cast<long>(pipeOf(bio)->output.size());
    default:
      return 0;
  }
}

int pipeCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// One method table for the process, built on first use (thread-safe static).
const BIO_METHOD* pipeMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mailark pipe");
    if (m == nullptr) return m;
    BIO_meth_set_read_ex(m, pipeRead);
    BIO_meth_set_write_ex(m, pipeWrite);
    BIO_meth_set_ctrl(m, pipeCtrl);
    BIO_meth_set_create(m, pipeCreate);
    return m;
  }();
  return method;
}

}  // namespace

TlsSession::TlsSession(std::shared_ptr<TlsContext> context, const std::string& host)
    : context_(std::move(context)), host_(host) {}

TlsSession::~TlsSession() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees the BIO too
}

Status TlsSession::start() {
  ssl_ = SSL_new(context_->raw());
  if (ssl_ == nullptr) return internalError("SSL_new failed: " + drainOpenSslErrors());
  const BIO_METHOD* method = pipeMethod();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) return internalError("BIO_new failed: " + drainOpenSslErrors());
  BIO_set_data(bio, &pipe_);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; the SSL owns it
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
  pipe_.input = ciphertext;
  Status s = readAll(sink);
  // OpenSSL stops reading only when the input is drained (it keeps a partial
  // record itself), unless an error ended the session; either way the
  // caller's buffer must not be referenced after this returns.
  const bool left_over = !pipe_.input.empty();
  pipe_.input = {};
  if (s.isOk() && left_over) return internalError("TLS left received bytes unread");
  return s;
}

// Advances the handshake, then decrypts until OpenSSL wants more input.
Status TlsSession::readAll(const PlaintextSink& sink) {
  if (!handshake_done_) {
    MAILARK_RETURN_IF_ERROR(handshake());
    if (!handshake_done_) return Status::ok();
  }
  char buf[16 * 1024];  // one TLS record's worth of plaintext
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
  return flushPending();
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
  out.swap(pipe_.output);
  return out;
}

}  // namespace mailark::tls
