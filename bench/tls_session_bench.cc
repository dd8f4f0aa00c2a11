// TlsSession receive path: ciphertext in, plaintext to a sink.
//
// BM_TlsReceive/<record>/<chunk>: an in-process OpenSSL server (memory BIOs,
// its own self-signed P-256 certificate, the library's default TLS 1.3 suite)
// sends 4 MiB per iteration in records of <record> plaintext bytes (Dovecot
// sends 4 KiB records, 16 KiB is the TLS maximum); the client's
// TlsSession::feed() gets them in pieces of <chunk> bytes, as TcpStream hands
// over socket reads (64 KiB is its buffer), and the sink only counts. Only the client is timed:
// what is measured is mailark's per-byte cost of TLS (BIO copies, record
// buffers, AES-GCM), the part of an archive run that is neither the socket
// nor the store.
#include <benchmark/benchmark.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <unistd.h>

#include "src/tls/tls_context.h"
#include "src/tls/tls_session.h"

namespace mailark::tls {
namespace {

constexpr char kHost[] = "bench.example";
constexpr size_t kBytesPerIteration = 4 << 20;

// Server side: certificate, key and one SSL in accept state over memory BIOs.
class BenchServer {
 public:
  BenchServer() {
    key_ = EVP_EC_gen("P-256");
    cert_ = X509_new();
    X509_set_version(cert_, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert_), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert_), 24 * 3600);
    X509_NAME* name = X509_get_subject_name(cert_);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(kHost), -1, -1, 0);
    X509_set_issuer_name(cert_, name);
    X509_set_pubkey(cert_, key_);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert_, cert_, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:bench.example");
    X509_add_ext(cert_, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(cert_, key_, EVP_sha256());

    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx_, cert_);
    SSL_CTX_use_PrivateKey(ctx_, key_);
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    BIO_set_mem_eof_return(out_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_accept_state(ssl_);
  }
  ~BenchServer() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    X509_free(cert_);
    EVP_PKEY_free(key_);
  }

  // Writes the certificate as the client's trust anchor.
  bool writeCertificate(const std::string& path) const {
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return false;
    const bool ok = PEM_write_X509(f, cert_) == 1;
    return std::fclose(f) == 0 && ok;
  }

  void feed(const std::string& ciphertext) {
    size_t n = 0;
    if (!ciphertext.empty()) BIO_write_ex(in_, ciphertext.data(), ciphertext.size(), &n);
    if (!SSL_is_init_finished(ssl_)) SSL_do_handshake(ssl_);
    char sink[4096];
    while (SSL_read_ex(ssl_, sink, sizeof sink, &n) == 1) {
    }
  }

  void write(const std::string& plaintext) {
    size_t n = 0;
    SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &n);
  }

  // Everything the server has sent so far, read in place; valid until
  // dropSent().
  std::span<const char> sent() const {
    char* data = nullptr;
    const long n = BIO_get_mem_data(out_, &data);
    return std::span<const char>(data, n > 0 ? static_cast<size_t>(n) : 0);
  }
  void dropSent() { BIO_reset(out_); }

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
};

void BM_TlsReceive(benchmark::State& state) {
  const size_t record = static_cast<size_t>(state.range(0));
  const size_t chunk = static_cast<size_t>(state.range(1));
  BenchServer server;
  char ca_path[] = "/tmp/mailark-tls-bench-XXXXXX";
  const int fd = mkstemp(ca_path);
  if (fd < 0 || close(fd) != 0 || !server.writeCertificate(ca_path)) {
    state.SkipWithError("cannot write the certificate");
    return;
  }
  Result<std::shared_ptr<TlsContext>> context = TlsContext::create(ca_path);
  std::remove(ca_path);
  if (!context.isOk()) {
    state.SkipWithError(context.status().message().c_str());
    return;
  }
  TlsSession client(*context, kHost);
  uint64_t received = 0;
  const TlsSession::PlaintextSink sink = [&received](std::span<const char> bytes) {
    received += bytes.size();
    return Status::ok();
  };
  Status s = client.start();
  for (int round = 0; s.isOk() && round < 10 && !client.handshakeDone(); ++round) {
    server.feed(client.takeCiphertext());
    s = client.feed(server.sent(), sink);
    server.dropSent();
  }
  if (!s.isOk() || !client.handshakeDone()) {
    state.SkipWithError("handshake failed");
    return;
  }
  server.feed(client.takeCiphertext());

  const std::string plaintext(record, 'm');
  for (auto _ : state) {
    state.PauseTiming();
    for (size_t sent = 0; sent < kBytesPerIteration; sent += record) server.write(plaintext);
    const std::span<const char> wire = server.sent();
    state.ResumeTiming();
    for (size_t off = 0; off < wire.size() && s.isOk(); off += chunk) {
      s = client.feed(wire.subspan(off, std::min(chunk, wire.size() - off)), sink);
    }
    state.PauseTiming();
    server.dropSent();
    state.ResumeTiming();
  }
  if (!s.isOk()) state.SkipWithError(s.message().c_str());
  state.SetBytesProcessed(static_cast<int64_t>(received));
}
BENCHMARK(BM_TlsReceive)->Args({4096, 64 * 1024})->Args({16 * 1024, 16 * 1024})->Args({16 * 1024, 64 * 1024});

}  // namespace
}  // namespace mailark::tls
