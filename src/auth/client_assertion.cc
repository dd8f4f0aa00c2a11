#include "src/auth/client_assertion.h"

#include <strings.h>

#include <algorithm>
#include <cstdio>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "src/base/base64.h"
#include "src/base/json_escape.h"

namespace mailark::auth {

namespace {

// Refuses to prompt for a passphrase: an encrypted key fails to load.
int noPassphrase(char*, int, int, void*) { return -1; }

std::string opensslReason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string digestOf(const EVP_MD* md, const unsigned char* der, int len) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(der, static_cast<size_t>(len), out, &n, md, nullptr) != 1) return {};
  return base64UrlEncode(std::string_view(reinterpret_cast<const char*>(out), n));
}

}  // namespace

Result<AssertionAlg> parseAssertionAlg(std::string_view name) {
  std::string n(name);
  if (strcasecmp(n.c_str(), "PS256") == 0) return AssertionAlg::Ps256;
  if (strcasecmp(n.c_str(), "RS256") == 0) return AssertionAlg::Rs256;
  return configError("assertion_alg \"" + n + "\" must be \"PS256\" (default) or \"RS256\"");
}

const char* assertionAlgName(AssertionAlg alg) { return alg == AssertionAlg::Ps256 ? "PS256" : "RS256"; }

std::string base64UrlEncode(std::string_view bytes) {
  std::string out = base64Encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

Result<std::string> randomUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return internalError("no randomness for a jti: " + opensslReason());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string(text);
}

Result<CertificateCredentialPtr> CertificateCredential::load(const std::string& certificate_file,
                                                             const std::string& private_key_file,
                                                             AssertionAlg alg) {
  FilePtr cf(std::fopen(certificate_file.c_str(), "r"));
  if (!cf) return configError("certificate_file " + certificate_file + " cannot be read");
  std::unique_ptr<X509, X509Free> cert(PEM_read_X509(cf.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return configError("certificate_file " + certificate_file +
                       " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }
  FilePtr kf(std::fopen(private_key_file.c_str(), "r"));
  if (!kf) return configError("private_key_file " + private_key_file + " cannot be read");
  EVP_PKEY* key = PEM_read_PrivateKey(kf.get(), nullptr, &noPassphrase, nullptr);
  if (key == nullptr) {
    ERR_clear_error();
    return configError("private_key_file " + private_key_file +
                       " holds no unencrypted PEM private key (encrypted keys are not supported: "
                       "openssl pkey -in KEY -out KEY.plain)");
  }
  auto cred = std::shared_ptr<CertificateCredential>(new CertificateCredential());
  cred->key_ = key;
  cred->alg_ = alg;
  if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA)
    return configError("private_key_file " + private_key_file +
                       " is not an RSA key: PS256/RS256 client assertions need RSA");
  if (X509_check_private_key(cert.get(), key) != 1) {
    ERR_clear_error();
    return configError("private_key_file " + private_key_file +
                       " does not belong to certificate_file " + certificate_file +
                       " (Entra would refuse with AADSTS700027)");
  }
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  if (len <= 0) return internalError("cannot encode certificate " + certificate_file);
  cred->x5t_s256_ = digestOf(EVP_sha256(), der, len);
  cred->x5t_ = digestOf(EVP_sha1(), der, len);
  OPENSSL_free(der);
  if (cred->x5t_s256_.empty() || cred->x5t_.empty())
    return internalError("cannot hash certificate " + certificate_file + ": " + opensslReason());
  return CertificateCredentialPtr(std::move(cred));
}

CertificateCredential::~CertificateCredential() { EVP_PKEY_free(key_); }

Result<std::string> CertificateCredential::makeAssertion(std::string_view client_id,
                                                         std::string_view audience,
                                                         std::chrono::system_clock::time_point now,
                                                         std::chrono::seconds lifetime) const {
  lifetime = std::clamp<std::chrono::seconds>(lifetime, std::chrono::seconds(1), std::chrono::minutes(10));
  Result<std::string> jti = randomUuid();
  if (!jti) return jti.status();
  int64_t nbf = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();

  std::string header = std::string("{\"alg\":\"") + assertionAlgName(alg_) + "\",\"typ\":\"JWT\",";
  header += alg_ == AssertionAlg::Ps256 ? "\"x5t#S256\":" : "\"x5t\":";
  appendJsonString(header, alg_ == AssertionAlg::Ps256 ? x5t_s256_ : x5t_);
  header += '}';
  std::string claims = "{\"aud\":";
  appendJsonString(claims, audience);
  claims += ",\"iss\":";
  appendJsonString(claims, client_id);
  claims += ",\"sub\":";
  appendJsonString(claims, client_id);
  claims += ",\"jti\":";
  appendJsonString(claims, *jti);
  claims += ",\"nbf\":" + std::to_string(nbf) + ",\"iat\":" + std::to_string(nbf) +
            ",\"exp\":" + std::to_string(nbf + lifetime.count()) + "}";
  std::string input = base64UrlEncode(header) + "." + base64UrlEncode(claims);

  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key_) != 1)
    return internalError("cannot sign the client assertion: " + opensslReason());
  if (alg_ == AssertionAlg::Ps256 &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
    return internalError("cannot set up PS256 signing: " + opensslReason());
  size_t sig_len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &sig_len, data, input.size()) != 1)
    return internalError("cannot sign the client assertion: " + opensslReason());
  std::string sig(sig_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len, data,
                     input.size()) != 1)
    return internalError("cannot sign the client assertion: " + opensslReason());
  sig.resize(sig_len);
  return input + "." + base64UrlEncode(sig);
}

}  // namespace mailark::auth
