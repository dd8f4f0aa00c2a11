#include "src/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace mailark::tls {

std::string drainOpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Result<std::shared_ptr<TlsContext>> TlsContext::create(const std::string& extra_ca_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return internalError("cannot create TLS context: " + drainOpenSslErrors());
  std::shared_ptr<TlsContext> holder(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // The library default, stated because TlsConnection::expectPlaintext()
  // relies on it: without compression a record is never shorter on the wire
  // than its plaintext.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
  // Frees a connection's record buffers (~17 KiB each way) whenever they are
  // empty: hundreds of connections need not hold them. Keeping them saves one
  // malloc per record, ~3 % of the TLS receive path (tls_session_bench).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // TlsSession retries a write from a buffer that may have moved.
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_set_default_verify_paths(ctx) != 1)
    return tlsError("cannot load the system trust store: " + drainOpenSslErrors());
  if (!extra_ca_file.empty() && SSL_CTX_load_verify_locations(ctx, extra_ca_file.c_str(), nullptr) != 1) {
    drainOpenSslErrors();
    return configError("cannot load ca_file " + extra_ca_file +
                       ": not a readable PEM certificate file (check [server] ca_file)");
  }
  return holder;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace mailark::tls
