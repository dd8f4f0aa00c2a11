// Certificate credentials for the client-credentials grant: a signed JWT
// ("client assertion", RFC 7523) sent instead of a client secret.
//
// The assertion is what Microsoft's identity platform documents: header
// {alg, typ: JWT, x5t#S256 | x5t}, claims aud = the token URL, iss = sub =
// the client id, a fresh random jti, nbf = now and exp = nbf + 10 min at
// most. PS256 (RSASSA-PSS, SHA-256, salt = digest length) with x5t#S256 is
// the current form; RS256 (PKCS#1 v1.5) with the SHA-1 thumbprint x5t is the
// older one, still accepted.
//
// The private key is held in memory (OpenSSL EVP_PKEY) and never printed.
// Objects are immutable after load(); share them freely on one thread.
#pragma once

#include <openssl/evp.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "mailark/status.h"

namespace mailark::auth {

enum class AssertionAlg { Ps256, Rs256 };

// "PS256" or "RS256" (case-insensitive). Config error otherwise.
Result<AssertionAlg> parseAssertionAlg(std::string_view name);
const char* assertionAlgName(AssertionAlg alg);

// RFC 4648 section 5 base64url without padding.
std::string base64UrlEncode(std::string_view bytes);

// A random (version 4) UUID in its 36-character text form.
Result<std::string> randomUuid();

class CertificateCredential;
using CertificateCredentialPtr = std::shared_ptr<const CertificateCredential>;

class CertificateCredential {
 public:
  // Reads the PEM certificate and the PEM private key (PKCS#1 or PKCS#8,
  // unencrypted). Returns Config naming the file when a file is unreadable,
  // not PEM, encrypted, not RSA, or when the key does not belong to the
  // certificate (Entra would refuse every assertion with AADSTS700027).
  static Result<CertificateCredentialPtr> load(const std::string& certificate_file,
                                               const std::string& private_key_file,
                                               AssertionAlg alg);
  ~CertificateCredential();
  CertificateCredential(const CertificateCredential&) = delete;
  CertificateCredential& operator=(const CertificateCredential&) = delete;

  // A signed assertion for `client_id`, valid from `now` for `lifetime`
  // (clamped to 1 s..10 min). `audience` is the token URL
  // ({authority}/{tenant}/oauth2/v2.0/token). Internal error when OpenSSL
  // cannot sign (out of memory, no randomness).
  Result<std::string> makeAssertion(std::string_view client_id, std::string_view audience,
                                    std::chrono::system_clock::time_point now,
                                    std::chrono::seconds lifetime = std::chrono::minutes(10)) const;

  AssertionAlg alg() const { return alg_; }
  // base64url thumbprints of the certificate's DER encoding.
  const std::string& sha256Thumbprint() const { return x5t_s256_; }
  const std::string& sha1Thumbprint() const { return x5t_; }

 private:
  CertificateCredential() = default;

  EVP_PKEY* key_ = nullptr;
  AssertionAlg alg_ = AssertionAlg::Ps256;
  std::string x5t_s256_;
  std::string x5t_;
};

}  // namespace mailark::auth
