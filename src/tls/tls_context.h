// TlsContext: client-side TLS settings shared by every connection of a run.
//
// Verification is always on (peer certificate chain + host name) with the
// system trust store, plus an optional extra CA file. TLS 1.2 minimum.
#pragma once

#include <memory>
#include <string>

#include "mailark/status.h"

struct ssl_ctx_st;

namespace mailark::tls {

class TlsContext {
 public:
  // `extra_ca_file` may be empty. Fails with Config when the file cannot be
  // loaded.
  static Result<std::shared_ptr<TlsContext>> create(const std::string& extra_ca_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* raw() const { return ctx_; }

 private:
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

// Drains OpenSSL's thread-local error queue into one line of text.
std::string drainOpenSslErrors();

}  // namespace mailark::tls
