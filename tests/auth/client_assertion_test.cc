#include "src/auth/client_assertion.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <simdjson.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "src/auth/jwt_claims.h"

namespace mailark::auth {
namespace {

// A throw-away RSA key and self-signed certificate written as PEM files.
struct KeyPair {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string key_file, cert_file;
  ~KeyPair() {
    EVP_PKEY_free(key);
    X509_free(cert);
  }
};

void makeKeyPair(const std::string& dir, const std::string& name, KeyPair& kp) {
  kp.key = EVP_RSA_gen(2048);
  ASSERT_NE(kp.key, nullptr);
  kp.cert = X509_new();
  ASSERT_NE(kp.cert, nullptr);
  ASN1_INTEGER_set(X509_get_serialNumber(kp.cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(kp.cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(kp.cert), 3600);
  X509_set_pubkey(kp.cert, kp.key);
  X509_NAME* n = X509_get_subject_name(kp.cert);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("mailark test"), -1, -1, 0);
  X509_set_issuer_name(kp.cert, n);
  ASSERT_GT(X509_sign(kp.cert, kp.key, EVP_sha256()), 0);
  kp.key_file = dir + "/" + name + ".key";
  kp.cert_file = dir + "/" + name + ".pem";
  FILE* f = std::fopen(kp.key_file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, kp.key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen(kp.cert_file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, kp.cert);
  std::fclose(f);
}

std::string thumbprint(X509* cert, const EVP_MD* md) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(der, static_cast<size_t>(len), out, &n, md, nullptr);
  OPENSSL_free(der);
  return base64UrlEncode(std::string_view(reinterpret_cast<char*>(out), n));
}

bool verifies(const std::string& jwt, EVP_PKEY* key, bool pss) {
  size_t dot = jwt.rfind('.');
  std::string input = jwt.substr(0, dot);
  Result<std::string> sig = base64UrlDecode(jwt.substr(dot + 1));
  if (!sig) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, key) == 1;
  if (ok && pss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;  // PS256: salt = 32 bytes
  }
  ok = ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                              reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string part(const std::string& jwt, int i) {
  size_t a = 0;
  for (int k = 0; k < i; ++k) a = jwt.find('.', a) + 1;
  size_t b = jwt.find('.', a);
  Result<std::string> d = base64UrlDecode(jwt.substr(a, b - a));
  return d ? *d : "";
}

class ClientAssertionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mailark-assert-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    makeKeyPair(dir_, "app", app_);
    makeKeyPair(dir_, "other", other_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  KeyPair app_, other_;
};

constexpr const char* kAud = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";

TEST_F(ClientAssertionTest, Ps256AssertionVerifiesAndCarriesTheRequiredClaims) {
  Result<CertificateCredentialPtr> cred = CertificateCredential::load(app_.cert_file, app_.key_file, AssertionAlg::Ps256);
  ASSERT_TRUE(cred.isOk()) << cred.status().toString();
  auto now = std::chrono::system_clock::now();
  Result<std::string> jwt = (*cred)->makeAssertion("client-1", kAud, now);
  ASSERT_TRUE(jwt.isOk()) << jwt.status().toString();
  EXPECT_TRUE(verifies(*jwt, app_.key, true));
  EXPECT_FALSE(verifies(*jwt, other_.key, true));
  EXPECT_FALSE(verifies(*jwt, app_.key, false));  // not PKCS#1 v1.5

  simdjson::dom::parser parser;
  simdjson::dom::element header, claims;
  ASSERT_EQ(parser.parse(part(*jwt, 0)).get(header), simdjson::SUCCESS);
  std::string_view alg, typ, x5t;
  EXPECT_EQ(header["alg"].get(alg), simdjson::SUCCESS);
  EXPECT_EQ(alg, "PS256");
  EXPECT_EQ(header["typ"].get(typ), simdjson::SUCCESS);
  EXPECT_EQ(typ, "JWT");
  EXPECT_EQ(header["x5t#S256"].get(x5t), simdjson::SUCCESS);
  EXPECT_EQ(x5t, thumbprint(app_.cert, EVP_sha256()));

  simdjson::dom::parser parser2;
  ASSERT_EQ(parser2.parse(part(*jwt, 1)).get(claims), simdjson::SUCCESS);
  std::string_view aud, iss, sub, jti;
  int64_t nbf = 0, exp = 0;
  EXPECT_EQ(claims["aud"].get(aud), simdjson::SUCCESS);
  EXPECT_EQ(aud, kAud);
  EXPECT_EQ(claims["iss"].get(iss), simdjson::SUCCESS);
  EXPECT_EQ(claims["sub"].get(sub), simdjson::SUCCESS);
  EXPECT_EQ(iss, "client-1");
  EXPECT_EQ(sub, "client-1");
  EXPECT_EQ(claims["jti"].get(jti), simdjson::SUCCESS);
  EXPECT_EQ(jti.size(), 36u);
  EXPECT_EQ(claims["nbf"].get(nbf), simdjson::SUCCESS);
  EXPECT_EQ(claims["exp"].get(exp), simdjson::SUCCESS);
  EXPECT_EQ(nbf, std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  EXPECT_EQ(exp - nbf, 600);
}

TEST_F(ClientAssertionTest, Rs256UsesTheSha1Thumbprint) {
  Result<CertificateCredentialPtr> cred = CertificateCredential::load(app_.cert_file, app_.key_file, AssertionAlg::Rs256);
  ASSERT_TRUE(cred.isOk()) << cred.status().toString();
  Result<std::string> jwt = (*cred)->makeAssertion("c", kAud, std::chrono::system_clock::now());
  ASSERT_TRUE(jwt.isOk());
  EXPECT_TRUE(verifies(*jwt, app_.key, false));
  std::string header = part(*jwt, 0);
  EXPECT_NE(header.find("\"alg\":\"RS256\""), std::string::npos) << header;
  EXPECT_NE(header.find("\"x5t\":\"" + thumbprint(app_.cert, EVP_sha1()) + "\""), std::string::npos) << header;
  EXPECT_EQ(header.find("x5t#S256"), std::string::npos) << header;
}

TEST_F(ClientAssertionTest, EveryAssertionHasAFreshJtiAndLifetimeIsCappedAtTenMinutes) {
  Result<CertificateCredentialPtr> cred = CertificateCredential::load(app_.cert_file, app_.key_file, AssertionAlg::Ps256);
  ASSERT_TRUE(cred.isOk());
  std::set<std::string> jtis;
  for (int i = 0; i < 20; ++i) {
    Result<std::string> jwt = (*cred)->makeAssertion("c", kAud, std::chrono::system_clock::now(), std::chrono::hours(2));
    ASSERT_TRUE(jwt.isOk());
    std::string claims = part(*jwt, 1);
    size_t at = claims.find("\"jti\":\"");
    ASSERT_NE(at, std::string::npos);
    jtis.insert(claims.substr(at + 7, 36));
    simdjson::dom::parser p;
    simdjson::dom::element e;
    ASSERT_EQ(p.parse(claims).get(e), simdjson::SUCCESS);
    int64_t nbf = 0, exp = 0;
    ASSERT_EQ(e["nbf"].get(nbf), simdjson::SUCCESS);
    ASSERT_EQ(e["exp"].get(exp), simdjson::SUCCESS);
    EXPECT_EQ(exp - nbf, 600);
  }
  EXPECT_EQ(jtis.size(), 20u);
}

TEST_F(ClientAssertionTest, KeyOfAnotherCertificateIsAConfigError) {
  Result<CertificateCredentialPtr> cred = CertificateCredential::load(app_.cert_file, other_.key_file, AssertionAlg::Ps256);
  ASSERT_FALSE(cred.isOk());
  EXPECT_EQ(cred.status().code(), StatusCode::Config);
  EXPECT_NE(cred.status().message().find("does not belong to certificate_file"), std::string::npos)
      << cred.status().message();
}

TEST_F(ClientAssertionTest, UnreadableOrNonPemFilesAreNamed) {
  Result<CertificateCredentialPtr> r = CertificateCredential::load(dir_ + "/none.pem", app_.key_file, AssertionAlg::Ps256);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("none.pem cannot be read"), std::string::npos) << r.status().message();
  r = CertificateCredential::load(app_.key_file, app_.key_file, AssertionAlg::Ps256);  // a key is no certificate
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("holds no PEM certificate"), std::string::npos) << r.status().message();
  r = CertificateCredential::load(app_.cert_file, app_.cert_file, AssertionAlg::Ps256);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("holds no unencrypted PEM private key"), std::string::npos)
      << r.status().message();
}

TEST(AssertionAlg, ParsesBothNamesOnly) {
  EXPECT_EQ(*parseAssertionAlg("PS256"), AssertionAlg::Ps256);
  EXPECT_EQ(*parseAssertionAlg("rs256"), AssertionAlg::Rs256);
  Result<AssertionAlg> bad = parseAssertionAlg("HS256");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), StatusCode::Config);
}

TEST(Base64Url, NoPaddingAndUrlAlphabet) {
  EXPECT_EQ(base64UrlEncode(""), "");
  EXPECT_EQ(base64UrlEncode("f"), "Zg");
  EXPECT_EQ(base64UrlEncode("\xfb\xff\xbf"), "-_-_");
}

}  // namespace
}  // namespace mailark::auth
