// Tests for TlsSession + TlsContext against an in-process OpenSSL server that
// also runs over memory BIOs. Each test mints its own CA and server
// certificate, so nothing depends on files outside the temp directory.
#include "src/tls/tls_session.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/tls/tls_context.h"
#include "tests/store/test_dirs.h"

namespace mailark::tls {
namespace {

struct OpenSslFree {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
};
using X509Ptr = std::unique_ptr<X509, OpenSslFree>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree>;
using CtxPtr = std::unique_ptr<SSL_CTX, OpenSslFree>;
using SslPtr = std::unique_ptr<SSL, OpenSslFree>;

constexpr char kHost[] = "imap.test.example";

struct CertSpec {
  std::string cn;
  std::string san;  // X509v3 config syntax, e.g. "DNS:a.example,IP:127.0.0.1"; empty for none
  bool ca = false;
  long valid_from = -3600;  // seconds from now
  long valid_to = 24 * 3600;
};

bool addExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Builds a certificate for `key`, signed by `issuer`/`issuer_key` (or
// self-signed when issuer is null). Returns null on any OpenSSL failure.
X509Ptr makeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  static long serial = 1;
  X509Ptr cert(X509_new());
  if (!cert) return nullptr;
  X509* x = cert.get();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), spec.valid_from);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.valid_to);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  if (X509_set_pubkey(x, key) != 1) return nullptr;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : x, x, nullptr, nullptr, 0);
  bool ok = addExtension(x, &ctx, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE") &&
            addExtension(x, &ctx, NID_key_usage,
                         spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment") &&
            addExtension(x, &ctx, NID_subject_key_identifier, "hash");
  if (ok && issuer != nullptr) ok = addExtension(x, &ctx, NID_authority_key_identifier, "keyid:always");
  if (ok && !spec.ca) ok = addExtension(x, &ctx, NID_ext_key_usage, "serverAuth");
  if (ok && !spec.san.empty()) ok = addExtension(x, &ctx, NID_subject_alt_name, spec.san);
  if (!ok || X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

bool writePem(const std::string& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  bool ok = PEM_write_X509(f, cert) == 1;
  return std::fclose(f) == 0 && ok;
}

// The server half: an SSL in accept state over two memory BIOs.
class TestServer {
 public:
  // `max_version` 0 means the library default.
  TestServer(X509* cert, EVP_PKEY* key, int max_version = 0) {
    ctx_.reset(SSL_CTX_new(TLS_server_method()));
    if (!ctx_) return;
    if (max_version != 0) {
      SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
      if (max_version < TLS1_2_VERSION) {
        // Old protocol versions are only offered at security level 0.
        SSL_CTX_set_security_level(ctx_.get(), 0);
        SSL_CTX_set_min_proto_version(ctx_.get(), 0);
        SSL_CTX_set_cipher_list(ctx_.get(), "DEFAULT:@SECLEVEL=0");
      }
    }
    if (SSL_CTX_use_certificate(ctx_.get(), cert) != 1 || SSL_CTX_use_PrivateKey(ctx_.get(), key) != 1) return;
    ssl_.reset(SSL_new(ctx_.get()));
    if (!ssl_) return;
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in, -1);
    BIO_set_mem_eof_return(out, -1);
    SSL_set_bio(ssl_.get(), in, out);
    SSL_set_accept_state(ssl_.get());
    in_ = in;
    out_ = out;
  }

  bool ready() const { return ssl_ != nullptr; }
  SSL* ssl() const { return ssl_.get(); }

  // Takes ciphertext from the client and advances the handshake or reads.
  void feed(std::string_view ciphertext) {
    size_t written = 0;
    if (!ciphertext.empty()) BIO_write_ex(in_, ciphertext.data(), ciphertext.size(), &written);
    advance();
  }

  void advance() {
    if (failed_) return;
    if (!SSL_is_init_finished(ssl_.get())) {
      int rc = SSL_do_handshake(ssl_.get());
      if (rc != 1) {
        note(rc);
        return;
      }
    }
    char buf[7001];  // odd size on purpose
    for (;;) {
      size_t n = 0;
      int rc = SSL_read_ex(ssl_.get(), buf, sizeof buf, &n);
      if (rc != 1) {
        note(rc);
        return;
      }
      received_.append(buf, n);
    }
  }

  void write(std::string_view plaintext) {
    size_t n = 0;
    ASSERT_EQ(SSL_write_ex(ssl_.get(), plaintext.data(), plaintext.size(), &n), 1) << drainOpenSslErrors();
    ASSERT_EQ(n, plaintext.size());
  }

  std::string takeCiphertext() {
    std::string out(BIO_ctrl_pending(out_), '\0');
    size_t n = 0;
    if (!out.empty()) BIO_read_ex(out_, out.data(), out.size(), &n);
    out.resize(n);
    return out;
  }

  // SNI the client sent, or "" for none.
  std::string servername() const {
    const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
    return name != nullptr ? name : "";
  }

  std::string received_;
  bool failed_ = false;
  std::string error_;

 private:
  void note(int rc) {
    int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
    failed_ = true;
    // Keep the shared error queue clean for the client's messages.
    error_ = drainOpenSslErrors();
  }

  CtxPtr ctx_;
  SslPtr ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
};

// Moves ciphertext both ways until neither side has anything to send. The
// server's bytes reach the client in pieces cycling through `chunks`.
Status pump(TlsSession& client, TestServer& server, std::string* client_plain,
            const std::vector<size_t>& chunks = {SIZE_MAX}) {
  const TlsSession::PlaintextSink sink = [client_plain](std::span<const char> bytes) {
    if (bytes.empty()) return internalError("sink got an empty write");
    client_plain->append(bytes.data(), bytes.size());
    return Status::ok();
  };
  size_t next_chunk = 0;
  for (int round = 0; round < 10000; ++round) {
    const std::string to_server = client.takeCiphertext();
    server.feed(to_server);
    const std::string to_client = server.takeCiphertext();
    if (to_server.empty() && to_client.empty()) return Status::ok();
    for (size_t off = 0; off < to_client.size();) {
      size_t n = std::min(chunks[next_chunk++ % chunks.size()], to_client.size() - off);
      MAILARK_RETURN_IF_ERROR(client.feed(std::span<const char>(to_client.data() + off, n), sink));
      off += n;
    }
  }
  return internalError("pump did not settle");
}

std::string randomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

class TlsSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // RSA generation is slow; one CA key and one server key serve every test.
    ca_key_ = EVP_RSA_gen(2048);
    server_key_ = EVP_RSA_gen(2048);
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(ca_key_);
    EVP_PKEY_free(server_key_);
    ca_key_ = server_key_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(ca_key_, nullptr);
    ASSERT_NE(server_key_, nullptr);
    ASSERT_TRUE(dir_.ok());
    ca_ = makeCert({"mailark unit test CA", "", true}, ca_key_, nullptr, nullptr);
    ASSERT_TRUE(ca_) << drainOpenSslErrors();
    ca_file_ = dir_.path() + "/ca.pem";
    ASSERT_TRUE(writePem(ca_file_, ca_.get()));
  }

  X509Ptr serverCert(const std::string& san, long valid_from = -3600, long valid_to = 24 * 3600) {
    X509Ptr cert = makeCert({"mailark test server", san, false, valid_from, valid_to}, server_key_, ca_.get(), ca_key_);
    EXPECT_TRUE(cert) << drainOpenSslErrors();
    return cert;
  }

  std::shared_ptr<TlsContext> context(const std::string& ca_file) {
    Result<std::shared_ptr<TlsContext>> ctx = TlsContext::create(ca_file);
    EXPECT_TRUE(ctx.isOk()) << ctx.status().toString();
    return ctx.isOk() ? *ctx : nullptr;
  }

  // Runs a handshake of a fresh client for `host` against `server`.
  Status handshake(TlsSession& client, TestServer& server) {
    MAILARK_RETURN_IF_ERROR(client.start());
    std::string plain;
    MAILARK_RETURN_IF_ERROR(pump(client, server, &plain));
    if (!plain.empty()) return internalError("plaintext during the handshake");
    return Status::ok();
  }

  static EVP_PKEY* ca_key_;
  static EVP_PKEY* server_key_;
  testing::TempDir dir_;
  X509Ptr ca_;
  std::string ca_file_;
};

EVP_PKEY* TlsSessionTest::ca_key_ = nullptr;
EVP_PKEY* TlsSessionTest::server_key_ = nullptr;

TEST_F(TlsSessionTest, HandshakeAndDataBothWays) {
  X509Ptr cert = serverCert(std::string("DNS:") + kHost);
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  ASSERT_TRUE(server.ready());
  TlsSession client(context(ca_file_), kHost);
  EXPECT_FALSE(client.handshakeDone());
  Status s = handshake(client, server);
  ASSERT_TRUE(s.isOk()) << s.toString() << " / server: " << server.error_;
  EXPECT_TRUE(client.handshakeDone());
  EXPECT_FALSE(server.failed_) << server.error_;
  EXPECT_EQ(server.servername(), kHost);  // SNI sent for a DNS name

  ASSERT_TRUE(client.write(std::string_view("A1 CAPABILITY\r\n")).isOk());
  std::string client_plain;
  ASSERT_TRUE(pump(client, server, &client_plain).isOk());
  EXPECT_EQ(server.received_, "A1 CAPABILITY\r\n");

  server.write("* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\nA1 OK done\r\n");
  ASSERT_TRUE(pump(client, server, &client_plain).isOk());
  EXPECT_EQ(client_plain, "* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\nA1 OK done\r\n");
}

TEST_F(TlsSessionTest, OneMegabyteEachWayInOddChunks) {
  X509Ptr cert = serverCert(std::string("DNS:") + kHost);
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  ASSERT_TRUE(server.ready());
  TlsSession client(context(ca_file_), kHost);
  // Odd ciphertext pieces from the start: the handshake must resume too.
  const std::vector<size_t> chunks = {1, 3, 7, 1021, 13, 16411, 2, 4099, 65537};
  ASSERT_TRUE(client.start().isOk());
  std::string client_plain;
  Status s = pump(client, server, &client_plain, chunks);
  ASSERT_TRUE(s.isOk()) << s.toString();
  ASSERT_TRUE(client.handshakeDone());

  // Client -> server, written in odd-size pieces with pumps in between.
  const std::string up = randomBytes(1 << 20, 1);
  const std::vector<size_t> writes = {1, 8191, 17, 65536, 3, 123457, 999};
  size_t k = 0;
  for (size_t off = 0; off < up.size(); ++k) {
    size_t n = std::min(writes[k % writes.size()], up.size() - off);
    ASSERT_TRUE(client.write(std::span<const char>(up.data() + off, n)).isOk());
    off += n;
    if (k % 3 == 0) {
      ASSERT_TRUE(pump(client, server, &client_plain, chunks).isOk());
    }
  }
  ASSERT_TRUE(pump(client, server, &client_plain, chunks).isOk());
  EXPECT_EQ(server.received_.size(), up.size());
  EXPECT_TRUE(server.received_ == up) << "client -> server bytes differ";

  // Server -> client, one big write fed to the client in odd pieces.
  const std::string down = randomBytes(1 << 20, 2);
  server.write(down);
  ASSERT_TRUE(pump(client, server, &client_plain, chunks).isOk());
  EXPECT_EQ(client_plain.size(), down.size());
  EXPECT_TRUE(client_plain == down) << "server -> client bytes differ";
  EXPECT_FALSE(server.failed_) << server.error_;
}

TEST_F(TlsSessionTest, CertificateForAnotherHostIsRefused) {
  X509Ptr cert = serverCert("DNS:other.example");
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  TlsSession client(context(ca_file_), kHost);
  Status s = handshake(client, server);
  ASSERT_EQ(s.code(), StatusCode::Tls) << s.toString();
  EXPECT_NE(s.message().find(kHost), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("hostname mismatch"), std::string::npos) << s.message();
  EXPECT_FALSE(client.handshakeDone());
}

TEST_F(TlsSessionTest, PartialWildcardIsRefused) {
  // "imap*.test.example" would match under OpenSSL's default rules.
  X509Ptr cert = serverCert("DNS:im*.test.example");
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  TlsSession client(context(ca_file_), kHost);
  Status s = handshake(client, server);
  EXPECT_EQ(s.code(), StatusCode::Tls) << s.toString();
}

TEST_F(TlsSessionTest, FullWildcardMatches) {
  X509Ptr cert = serverCert("DNS:*.test.example");
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  TlsSession client(context(ca_file_), kHost);
  Status s = handshake(client, server);
  EXPECT_TRUE(s.isOk()) << s.toString();
  EXPECT_TRUE(client.handshakeDone());
}

TEST_F(TlsSessionTest, UntrustedCaMentionsCaFile) {
  X509Ptr cert = serverCert(std::string("DNS:") + kHost);
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  TlsSession client(context(""), kHost);  // system trust store only
  Status s = handshake(client, server);
  ASSERT_EQ(s.code(), StatusCode::Tls) << s.toString();
  EXPECT_NE(s.message().find("ca_file"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(kHost), std::string::npos) << s.message();
  EXPECT_FALSE(client.handshakeDone());
}

TEST_F(TlsSessionTest, ExpiredCertificateIsRefused) {
  X509Ptr cert = serverCert(std::string("DNS:") + kHost, -7200, -3600);
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  TlsSession client(context(ca_file_), kHost);
  Status s = handshake(client, server);
  ASSERT_EQ(s.code(), StatusCode::Tls) << s.toString();
  EXPECT_NE(s.message().find("expired"), std::string::npos) << s.message();
}

TEST_F(TlsSessionTest, IpLiteralVerifiedAgainstIpSan) {
  X509Ptr cert = serverCert("DNS:localhost,IP:127.0.0.1,IP:::1");
  ASSERT_TRUE(cert);
  for (const char* host : {"127.0.0.1", "::1"}) {
    SCOPED_TRACE(host);
    TestServer server(cert.get(), server_key_);
    TlsSession client(context(ca_file_), host);
    Status s = handshake(client, server);
    ASSERT_TRUE(s.isOk()) << s.toString() << " / server: " << server.error_;
    EXPECT_TRUE(client.handshakeDone());
    EXPECT_EQ(server.servername(), "");  // RFC 6066: no IP literals in SNI
  }
  TestServer server(cert.get(), server_key_);
  TlsSession client(context(ca_file_), "127.0.0.2");
  Status s = handshake(client, server);
  ASSERT_EQ(s.code(), StatusCode::Tls) << s.toString();
  EXPECT_NE(s.message().find("127.0.0.2"), std::string::npos) << s.message();
}

TEST_F(TlsSessionTest, IpLiteralDoesNotMatchDnsSan) {
  // A DNS entry spelling the address is not an IP SAN.
  X509Ptr cert = serverCert("DNS:127.0.0.1");
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  TlsSession client(context(ca_file_), "127.0.0.1");
  Status s = handshake(client, server);
  EXPECT_EQ(s.code(), StatusCode::Tls) << s.toString();
}

TEST_F(TlsSessionTest, ProtocolOlderThanTls12IsRefused) {
  X509Ptr cert = serverCert(std::string("DNS:") + kHost);
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_, TLS1_1_VERSION);
  ASSERT_TRUE(server.ready());
  TlsSession client(context(ca_file_), kHost);
  Status s = handshake(client, server);
  ASSERT_EQ(s.code(), StatusCode::Tls) << s.toString();
  EXPECT_NE(s.message().find(kHost), std::string::npos) << s.message();
  EXPECT_FALSE(client.handshakeDone());
}

TEST_F(TlsSessionTest, CorruptRecordIsAProtocolError) {
  X509Ptr cert = serverCert(std::string("DNS:") + kHost);
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  TlsSession client(context(ca_file_), kHost);
  ASSERT_TRUE(handshake(client, server).isOk());
  server.write("* OK still here\r\n");
  std::string record = server.takeCiphertext();
  ASSERT_FALSE(record.empty());
  record.back() = static_cast<char>(record.back() ^ 0x01);  // breaks the AEAD tag
  std::string plain;
  Status s = client.feed(std::span<const char>(record.data(), record.size()), [&](std::span<const char> b) {
    plain.append(b.data(), b.size());
    return Status::ok();
  });
  EXPECT_EQ(s.code(), StatusCode::ProtocolError) << s.toString();
  EXPECT_EQ(plain, "");
}

TEST_F(TlsSessionTest, CloseNotifyIsTransient) {
  X509Ptr cert = serverCert(std::string("DNS:") + kHost);
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  TlsSession client(context(ca_file_), kHost);
  ASSERT_TRUE(handshake(client, server).isOk());
  server.write("* BYE\r\n");
  SSL_shutdown(server.ssl());
  std::string plain;
  Status s = pump(client, server, &plain);
  EXPECT_EQ(plain, "* BYE\r\n");
  EXPECT_EQ(s.code(), StatusCode::Transient) << s.toString();
  EXPECT_NE(s.message().find(kHost), std::string::npos) << s.message();
}

TEST_F(TlsSessionTest, SinkErrorIsReturned) {
  X509Ptr cert = serverCert(std::string("DNS:") + kHost);
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_);
  TlsSession client(context(ca_file_), kHost);
  ASSERT_TRUE(handshake(client, server).isOk());
  server.write("data");
  std::string record = server.takeCiphertext();
  Status s = client.feed(std::span<const char>(record.data(), record.size()),
                         [](std::span<const char>) { return Status(StatusCode::StorageFull, "disk full"); });
  EXPECT_EQ(s.code(), StatusCode::StorageFull) << s.toString();
}

// Regression: plaintext written while a TLS 1.2 renegotiation is in flight
// is kept and sent once the handshake finishes, never dropped.
TEST_F(TlsSessionTest, WriteDuringRenegotiationIsNotLost) {
  X509Ptr cert = serverCert(std::string("DNS:") + kHost);
  ASSERT_TRUE(cert);
  TestServer server(cert.get(), server_key_, TLS1_2_VERSION);
  TlsSession client(context(ca_file_), kHost);
  ASSERT_TRUE(handshake(client, server).isOk());
  ASSERT_EQ(SSL_version(server.ssl()), TLS1_2_VERSION);

  // The server asks for a new handshake; the client answers with its
  // ClientHello and now waits for the server's reply.
  ASSERT_EQ(SSL_renegotiate(server.ssl()), 1) << drainOpenSslErrors();
  SSL_do_handshake(server.ssl());
  std::string hello_request = server.takeCiphertext();
  ASSERT_FALSE(hello_request.empty());
  std::string plain;
  ASSERT_TRUE(client.feed(std::span<const char>(hello_request.data(), hello_request.size()),
                          [&](std::span<const char> b) {
                            plain.append(b.data(), b.size());
                            return Status::ok();
                          })
                  .isOk());
  std::string client_hello = client.takeCiphertext();
  ASSERT_FALSE(client_hello.empty()) << "client did not start renegotiating";

  // A command written in that window must not vanish.
  const std::string command = "A7 NOOP\r\n";
  Status w = client.write(std::span<const char>(command.data(), command.size()));
  server.feed(client_hello);
  Status p = pump(client, server, &plain);
  ASSERT_TRUE(p.isOk()) << p.toString() << " / server: " << server.error_;
  if (w.isOk()) {
    // Ok means "sent": after the renegotiation the server must have it.
    EXPECT_EQ(server.received_, command) << "write() returned Ok but the bytes never reached the server";
    // The connection itself goes on working, so the loss is silent: the
    // next command arrives and the first one is simply missing.
    const std::string next = "A8 NOOP\r\n";
    ASSERT_TRUE(client.write(std::span<const char>(next.data(), next.size())).isOk());
    ASSERT_TRUE(pump(client, server, &plain).isOk());
    EXPECT_EQ(server.received_, command + next);
  }
}

TEST(TlsContextTest, UnreadableCaFileIsAConfigError) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string garbage = dir.path() + "/garbage.pem";
  FILE* f = std::fopen(garbage.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("this is not a certificate\n", f);
  std::fclose(f);
  for (const std::string& path : {garbage, dir.path() + "/missing.pem"}) {
    SCOPED_TRACE(path);
    Result<std::shared_ptr<TlsContext>> ctx = TlsContext::create(path);
    ASSERT_FALSE(ctx.isOk());
    EXPECT_EQ(ctx.status().code(), StatusCode::Config) << ctx.status().toString();
    EXPECT_NE(ctx.status().message().find(path), std::string::npos) << ctx.status().message();
    EXPECT_NE(ctx.status().message().find("ca_file"), std::string::npos) << ctx.status().message();
  }
}

}  // namespace
}  // namespace mailark::tls
