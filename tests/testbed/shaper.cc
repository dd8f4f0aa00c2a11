// testbed_shaper: a per-connection latency and bandwidth shaper, a plain
// TCP proxy for benchmarks and tests.
//
//   testbed_shaper --listen 127.0.0.1:0 --target 127.0.0.1:993
//                  --rtt-ms 40 --mbit 16 --port-file F --stats-file S
//
// Every accepted connection gets its own upstream connection, opened after
// one simulated round trip (the TCP handshake), and in each direction its
// own link (ShaperLink): at most --mbit Mbit/s, arriving --rtt-ms/2 later.
// Bytes are never looked at, so TLS passes through and clients still verify
// the server's certificate (connect to "localhost").
//
// Exchange Online limits throughput per mailbox connection rather than per
// client, so a single-connection client is bound by rtt and the per-
// connection rate while one with many connections is not: that is what this
// proxy lets a benchmark show.
//
// --queue-kib (default twice the bandwidth-delay product, at least 256) is
// what may wait per direction before the proxy stops reading (TCP back-
// pressure). --cut-after-kib N resets both sides of the first
// --cut-connections connections once the server has sent N KiB on them.
// --port-file gets the port once bound; on SIGTERM/SIGINT --stats-file gets
// JSON (connections, peak concurrent, bytes each way, cuts) and it exits 0.
//
// It replaced a Python asyncio proxy, whose own CPU (~1 s per shaped
// 24-mailbox run, against ~0.4 s for this one) competed with the client
// and the server for the two cores of the benchmark machine.
#include <signal.h>
#include <netdb.h>
#include <uv.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "tests/testbed/shaper_link.h"

namespace mailark::testbed {
namespace {

struct Options {
  std::string listen = "127.0.0.1:0";
  std::string target;
  double rtt_ms = 40;
  double mbit = 16;
  int64_t queue_kib = 0;
  int64_t cut_after_kib = 0;
  int64_t cut_connections = 1;
  std::string port_file;
  std::string stats_file;
};

struct Stats {
  uint64_t accepted = 0;
  uint64_t active = 0;
  uint64_t peak = 0;
  uint64_t upstream_failures = 0;
  uint64_t bytes_up = 0;    // client -> server
  uint64_t bytes_down = 0;  // server -> client
  int64_t cuts = 0;         // connections reset on purpose (--cut-after-kib)
};

struct Proxy {
  uv_loop_t* loop;
  Options options;
  ShaperLinkSettings link;
  sockaddr_storage target;
  Stats stats;
};

// HOST:PORT split at the last colon, as "::1:993" has to be.
bool splitHostPort(const std::string& text, std::string& host, std::string& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool resolve(const std::string& text, sockaddr_storage& out) {
  std::string host, port;
  if (!splitHostPort(text, host, port)) return false;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return false;
  std::memcpy(&out, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  return true;
}

// Readers poll for the file: they must never see it half written.
bool writeFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string number(double value) {
  char text[32];
  auto end = std::to_chars(text, text + sizeof text, value).ptr;
  return std::string(text, end);
}

std::string statsJson(const Proxy& proxy) {
  const Stats& s = proxy.stats;
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return "{\"connections\": " + std::to_string(s.accepted) + ", \"peak_concurrent\": " + std::to_string(s.peak) +
         ", \"upstream_failures\": " + std::to_string(s.upstream_failures) +
         ", \"bytes_client_to_server\": " + std::to_string(s.bytes_up) +
         ", \"bytes_server_to_client\": " + std::to_string(s.bytes_down) + ", \"cuts\": " + std::to_string(s.cuts) +
         ", \"rtt_ms\": " + number(proxy.options.rtt_ms) + ", \"mbit\": " + number(proxy.options.mbit) +
         ", \"stopped\": " + number(now) + "}\n";
}

// One accepted connection and its upstream. Frees itself once every handle
// it owns is closed (libuv runs pending write callbacks before that).
class Connection : public ShaperLinkCallbacks {
 public:
  explicit Connection(Proxy& proxy)
      : proxy_(proxy), up_(proxy.loop, proxy.link, *this), down_(proxy.loop, proxy.link, *this) {
    uv_tcp_init(proxy.loop, &client_);
    uv_tcp_init(proxy.loop, &upstream_);
    uv_timer_init(proxy.loop, &handshake_);
    client_.data = upstream_.data = handshake_.data = connect_.data = this;
  }

  void accept(uv_stream_t* server) {
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&client_)) < 0) {
      tearDown(false);
      return;
    }
    Stats& s = proxy_.stats;
    ++s.accepted;
    s.peak = std::max(s.peak, ++s.active);
    counted_ = true;
    uint64_t rtt_ms = static_cast<uint64_t>(std::llround(proxy_.options.rtt_ms));
    uv_timer_start(&handshake_, [](uv_timer_t* t) { static_cast<Connection*>(t->data)->connectUpstream(); },
                   rtt_ms, 0);
  }

  bool onReceived(ShaperLink& link, size_t bytes) override {
    Stats& s = proxy_.stats;
    if (&link == &up_) {
      s.bytes_up += bytes;
      return true;
    }
    s.bytes_down += bytes;
    received_ += bytes;
    const Options& o = proxy_.options;
    if (o.cut_after_kib > 0 && s.cuts < o.cut_connections &&
        received_ >= static_cast<uint64_t>(o.cut_after_kib) * 1024) {
      ++s.cuts;  // a connection dropped mid-transfer: both sides reset at once
      tearDown(true);
      return false;
    }
    return true;
  }

  void onDrained(ShaperLink&) override {
    if (++drained_ == 2) tearDown(false);
  }
  void onBroken(ShaperLink&) override { tearDown(false); }
  void onClosed(ShaperLink&) override { handleClosed(); }

 private:
  void connectUpstream() {
    auto* addr = reinterpret_cast<const sockaddr*>(&proxy_.target);
    if (uv_tcp_connect(&connect_, &upstream_, addr, [](uv_connect_t* req, int status) {
          static_cast<Connection*>(req->data)->onConnected(status);
        }) < 0)
      onConnected(-1);
  }

  void onConnected(int status) {
    if (status < 0) {
      ++proxy_.stats.upstream_failures;
      tearDown(false);
      return;
    }
    // Small IMAP commands and responses must not wait for Nagle.
    uv_tcp_nodelay(&client_, 1);
    uv_tcp_nodelay(&upstream_, 1);
    auto* client = reinterpret_cast<uv_stream_t*>(&client_);
    auto* upstream = reinterpret_cast<uv_stream_t*>(&upstream_);
    up_.start(client, upstream);
    down_.start(upstream, client);
  }

  void tearDown(bool reset) {
    if (closing_) return;
    closing_ = true;
    if (counted_) --proxy_.stats.active;
    up_.abandon();
    down_.abandon();
    closeStream(&client_, reset);
    closeStream(&upstream_, reset);
    uv_close(reinterpret_cast<uv_handle_t*>(&handshake_), onHandleClosed);
    up_.close();
    down_.close();
  }

  // The data pointers go back to this connection: the links had them.
  void closeStream(uv_tcp_t* tcp, bool reset) {
    tcp->data = this;
    // close_reset refuses a socket whose write side is being shut down.
    if (reset && uv_tcp_close_reset(tcp, onHandleClosed) == 0) return;
    uv_close(reinterpret_cast<uv_handle_t*>(tcp), onHandleClosed);
  }

  static void onHandleClosed(uv_handle_t* handle) { static_cast<Connection*>(handle->data)->handleClosed(); }

  void handleClosed() {
    if (++closed_ == 5) delete this;  // two streams, handshake timer, two link timers
  }

  Proxy& proxy_;
  uv_tcp_t client_;
  uv_tcp_t upstream_;
  uv_timer_t handshake_;
  uv_connect_t connect_;
  ShaperLink up_;    // client -> server
  ShaperLink down_;  // server -> client
  uint64_t received_ = 0;
  int drained_ = 0;
  int closed_ = 0;
  bool counted_ = false;
  bool closing_ = false;
};

void onAccept(uv_stream_t* server, int status) {
  if (status < 0) return;
  (new Connection(*static_cast<Proxy*>(server->data)))->accept(server);
}

void onStopSignal(uv_signal_t* signal, int) {
  auto* proxy = static_cast<Proxy*>(signal->data);
  const std::string& path = proxy->options.stats_file;
  if (!path.empty() && !writeFileAtomically(path, statsJson(*proxy)))
    std::fprintf(stderr, "shaper: cannot write %s\n", path.c_str());
  uv_stop(proxy->loop);
}

int run(Proxy& proxy) {
  const Options& o = proxy.options;
  sockaddr_storage listen_addr{};
  if (!resolve(o.listen, listen_addr) || !resolve(o.target, proxy.target)) {
    std::fprintf(stderr, "shaper: cannot resolve %s or %s\n", o.listen.c_str(), o.target.c_str());
    return 2;
  }
  uv_tcp_t server;
  uv_tcp_init(proxy.loop, &server);
  server.data = &proxy;
  int rc = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&listen_addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), 1024, onAccept);
  sockaddr_storage bound{};
  int bound_len = sizeof bound;
  if (rc == 0) rc = uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  if (rc < 0) {
    std::fprintf(stderr, "shaper: cannot listen on %s: %s\n", o.listen.c_str(), uv_strerror(rc));
    return 1;
  }
  int port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (!o.port_file.empty() && !writeFileAtomically(o.port_file, std::to_string(port) + "\n")) {
    std::fprintf(stderr, "shaper: cannot write %s\n", o.port_file.c_str());
    return 1;
  }
  std::string host, unused;
  splitHostPort(o.listen, host, unused);
  std::fprintf(stderr, "shaper: %s:%d -> %s rtt %g ms, %g Mbit/s per connection and direction\n", host.c_str(), port,
               o.target.c_str(), o.rtt_ms, o.mbit);

  uv_signal_t term, interrupt;
  for (auto [handle, signum] : {std::pair{&term, SIGTERM}, std::pair{&interrupt, SIGINT}}) {
    uv_signal_init(proxy.loop, handle);
    handle->data = &proxy;
    uv_signal_start(handle, onStopSignal, signum);
  }
  uv_run(proxy.loop, UV_RUN_DEFAULT);
  return 0;  // connections still open die with the process
}

}  // namespace
}  // namespace mailark::testbed

int main(int argc, char** argv) {
  using mailark::testbed::Options;
  Options o;
  CLI::App app{"per-connection latency/bandwidth TCP proxy"};
  auto host_port = CLI::Validator(
      [](std::string& text) {
        std::string host, port;
        return mailark::testbed::splitHostPort(text, host, port) ? std::string() : "expected HOST:PORT, got " + text;
      },
      "HOST:PORT");
  auto not_negative = CLI::Validator(
      [](std::string& text) { return text.starts_with('-') ? "must not be negative" : std::string(); }, "");
  app.add_option("--listen", o.listen, "address to accept on")->check(host_port)->capture_default_str();
  app.add_option("--target", o.target, "server to forward to")->check(host_port)->required();
  app.add_option("--rtt-ms", o.rtt_ms, "round trip time added (ms)")->check(not_negative)->capture_default_str();
  app.add_option("--mbit", o.mbit, "per-connection, per-direction rate in Mbit/s (0: unlimited)")
      ->check(not_negative)
      ->capture_default_str();
  app.add_option("--queue-kib", o.queue_kib, "bytes held per direction before back-pressure (default 2 x BDP, >= 256)");
  app.add_option("--cut-after-kib", o.cut_after_kib,
                 "reset a connection once the server sent it this many KiB (fault injection)");
  app.add_option("--cut-connections", o.cut_connections, "how many connections --cut-after-kib resets")
      ->capture_default_str();
  app.add_option("--port-file", o.port_file, "gets the listening port once bound");
  app.add_option("--stats-file", o.stats_file, "gets JSON statistics on SIGTERM/SIGINT");
  CLI11_PARSE(app, argc, argv);

  if (o.queue_kib <= 0) {
    double bdp = o.mbit * 1e6 / 8 * o.rtt_ms / 1000.0;
    o.queue_kib = std::max<int64_t>(256, static_cast<int64_t>(2 * bdp / 1024));
  }
  // A peer that vanishes must surface as a write error, not kill the proxy.
  signal(SIGPIPE, SIG_IGN);

  mailark::testbed::Proxy proxy{uv_default_loop(), o, {}, {}, {}};
  proxy.link.ns_per_byte = o.mbit > 0 ? 8e3 / o.mbit : 0;  // 8 bits / (mbit * 1e6 bit/s), in ns
  proxy.link.delay_ns = static_cast<uint64_t>(o.rtt_ms * 1e6 / 2);
  proxy.link.queue_limit = static_cast<size_t>(o.queue_kib) * 1024;
  return mailark::testbed::run(proxy);
}
