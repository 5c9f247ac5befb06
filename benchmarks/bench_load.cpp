// Load benchmark of the push path (issue 6): N WebSocket STOMP connections on
// 127.0.0.1 (raw /ws/websocket, v12.stomp), each subscribed to one order
// whose rider reports positions; positions are ingested through the tracker
// at R per second; each client measures the latency from ingest to receipt of
// the MESSAGE. Server and clients share this process (two io_contexts, one
// thread each, plus the ingest thread) on the same 2 cores, so CPU figures
// include the clients. Counters: p50/p99/max latency (ms), messages lost,
// CPU per position (µs, whole process), resident memory per connection (KiB,
// server + client side). Run: build/bin/bench_load (ulimit -n is raised to
// the hard limit; 2 fds per connection in one process).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "xiaoxiang/server/stomp_session.hpp"
#include "xiaoxiang/server/web_server.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using namespace xiaoxiang;
using steady = std::chrono::steady_clock;

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

std::size_t rss_kib() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) / 1024;
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// What the ingest thread stamps per order before ingesting its next version.
struct stamp_table {
  explicit stamp_table(std::size_t n) : version(n), t_ns(n) {}
  std::vector<std::atomic<std::uint64_t>> version;
  std::vector<std::atomic<long long>> t_ns;
};

struct client_stats {
  std::atomic<std::size_t> ready{0}, failed{0};
  std::atomic<std::uint64_t> deltas{0}, unmatched{0};
  std::vector<std::uint32_t> latency_us;  // client thread only
};

class load_client : public std::enable_shared_from_this<load_client> {
 public:
  load_client(net::io_context& io, std::size_t index, stamp_table& stamps, client_stats& stats)
      : ws_(io), index_(index), stamps_(stamps), stats_(stats) {}

  void start(std::uint16_t port) {
    beast::get_lowest_layer(ws_).async_connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
        [self = shared_from_this()](beast::error_code ec) {
          if (ec) return self->fail();
          self->ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
            req.set(beast::http::field::sec_websocket_protocol, "v12.stomp");
          }));
          self->ws_.async_handshake("127.0.0.1", "/ws/websocket", [self](beast::error_code e) {
            if (e) return self->fail();
            self->out_ = std::string("CONNECT\naccept-version:1.2\nhost:127.0.0.1\nheart-beat:0,0\n\n") +
                         '\0' + "SUBSCRIBE\nid:0\ndestination:/topic/orders/L" + std::to_string(self->index_) +
                         "\n\n" + '\0';
            self->ws_.async_write(net::buffer(self->out_), [self](beast::error_code e2, std::size_t) {
              if (e2) return self->fail();
              self->read();
            });
          });
        });
  }

 private:
  void fail() { stats_.failed.fetch_add(1); }
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      const auto data = self->buffer_.cdata();
      self->on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()));
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }
  void on_frame(std::string_view f) {
    const long long now = now_ns();
    if (f.substr(0, 8) != "MESSAGE\n") return;
    if (!subscribed_) {
      subscribed_ = true;  // the snapshot
      stats_.ready.fetch_add(1);
      return;
    }
    const auto pos = f.find("\"version\":");
    if (pos == std::string_view::npos) return;
    std::uint64_t v = 0;
    for (std::size_t i = pos + 10; i < f.size() && f[i] >= '0' && f[i] <= '9'; ++i)
      v = v * 10 + static_cast<std::uint64_t>(f[i] - '0');
    stats_.deltas.fetch_add(1, std::memory_order_relaxed);
    if (stamps_.version[index_].load(std::memory_order_acquire) != v) {
      stats_.unmatched.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const long long t = stamps_.t_ns[index_].load(std::memory_order_relaxed);
    stats_.latency_us.push_back(static_cast<std::uint32_t>(std::max(0LL, now - t) / 1000));
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::size_t index_;
  stamp_table& stamps_;
  client_stats& stats_;
  std::string out_;
  bool subscribed_ = false;
};

void raise_fd_limit() {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
}

// Args: connections, positions per second, seconds of load.
void BM_ServerLoad(benchmark::State& state) {
  raise_fd_limit();
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto rate = static_cast<double>(state.range(1));
  const auto seconds = static_cast<double>(state.range(2));
  for (auto _ : state) {
    const std::size_t rss_before = rss_kib();
    broker hub;
    tracker engine(tracker_options{}, nullptr, &hub);
    const timestamp_ms t0 = system_clock().now();
    std::vector<geo_point> where(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::string order = "L" + std::to_string(i), rider = "R" + std::to_string(i);
      event e;
      e.order = *id::make(order);
      e.time = t0 - 60'000;
      e.kind = event_kind::order_created;
      e.id = *id::make("C" + std::to_string(i));
      e.user = *id::make("U1");
      e.warehouse = *id::make("W1");
      e.origin = {116.40, 39.90};
      e.destination = {116.42, 39.91};
      engine.ingest(e);
      e.kind = event_kind::order_paid;
      e.id = *id::make("P" + std::to_string(i));
      engine.ingest(e);
      e.kind = event_kind::rider_assigned;
      e.id = *id::make("A" + std::to_string(i));
      e.rider = *id::make(rider);
      engine.ingest(e);
      where[i] = {116.30 + static_cast<double>(i % 100) * 0.002, 39.85 + static_cast<double>(i / 100) * 0.0005};
    }
    stamp_table stamps(n);
    for (std::size_t i = 0; i < n; ++i) stamps.version[i].store(3);

    web_server_options o;
    o.port = 0;
    o.threads = 1;
    o.limits.max_connections = n + 100;
    web_server server(o);
    stomp_session_options so;
    so.heartbeat_send_ms = 0;
    so.heartbeat_receive_ms = 0;
    server.mount_sockjs("/ws", [&](message_channel& ch) {
      return std::make_unique<stomp_session>(so, hub, &engine, ch);
    });
    server.start();

    net::io_context client_io;
    client_stats stats;
    stats.latency_us.reserve(static_cast<std::size_t>(rate * seconds) + 16);
    std::vector<std::shared_ptr<load_client>> clients;
    clients.reserve(n);
    for (std::size_t i = 0; i < n; ++i) clients.push_back(std::make_shared<load_client>(client_io, i, stamps, stats));
    std::thread client_thread([&] {
      auto guard = net::make_work_guard(client_io);
      client_io.run();
    });
    // Connect in waves so that the listen backlog never overflows.
    const auto connect_deadline = steady::now() + std::chrono::seconds(120);
    for (std::size_t i = 0; i < n; ++i) {
      net::post(client_io, [c = clients[i], port = server.port()] { c->start(port); });
      if (i % 500 == 499)
        while (stats.ready.load() + stats.failed.load() + 200 < i && steady::now() < connect_deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    while (stats.ready.load() + stats.failed.load() < n && steady::now() < connect_deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::size_t rss_connected = rss_kib();

    // Paced ingest: position k at start + k / rate, riders round-robin.
    const double cpu0 = cpu_seconds();
    const auto start = steady::now();
    const auto total = static_cast<std::size_t>(rate * seconds);
    std::size_t accepted = 0;
    for (std::size_t k = 0; k < total; ++k) {
      const auto due = start + std::chrono::nanoseconds(static_cast<long long>(static_cast<double>(k) * 1e9 / rate));
      if (steady::now() < due) std::this_thread::sleep_until(due);
      const std::size_t i = k % n;
      where[i].lon += 0.00001;
      event p;
      p.kind = event_kind::rider_position;
      p.id = *id::make("X" + std::to_string(k));
      p.rider = *id::make("R" + std::to_string(i));
      p.time = system_clock().now();
      p.position = where[i];
      p.has_position = true;
      const std::uint64_t next = stamps.version[i].load(std::memory_order_relaxed) + 1;
      stamps.t_ns[i].store(now_ns(), std::memory_order_relaxed);
      stamps.version[i].store(next, std::memory_order_release);
      const auto r = engine.ingest(p);
      if (r.accepted()) ++accepted;
      else stamps.version[i].store(next - 1, std::memory_order_release);
    }
    const double ingest_wall = std::chrono::duration<double>(steady::now() - start).count();
    // Let the last messages arrive.
    const auto drain_deadline = steady::now() + std::chrono::seconds(5);
    while (stats.deltas.load() < accepted && steady::now() < drain_deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const double cpu = cpu_seconds() - cpu0;
    const double wall = std::chrono::duration<double>(steady::now() - start).count();

    server.stop();
    client_io.stop();
    client_thread.join();

    auto& lat = stats.latency_us;
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double q) {
      return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<std::size_t>(q * static_cast<double>(lat.size())))] / 1000.0;
    };
    state.counters["conns_ready"] = static_cast<double>(stats.ready.load());
    state.counters["conns_failed"] = static_cast<double>(stats.failed.load());
    state.counters["positions"] = static_cast<double>(accepted);
    state.counters["achieved_pos_per_s"] = static_cast<double>(total) / ingest_wall;
    state.counters["received"] = static_cast<double>(stats.deltas.load());
    state.counters["lost"] = static_cast<double>(accepted) - static_cast<double>(stats.deltas.load());
    state.counters["p50_ms"] = pct(0.50);
    state.counters["p99_ms"] = pct(0.99);
    state.counters["max_ms"] = lat.empty() ? 0.0 : lat.back() / 1000.0;
    state.counters["cpu_us_per_pos"] = accepted ? cpu * 1e6 / static_cast<double>(accepted) : 0;
    state.counters["cpu_cores"] = cpu / wall;
    state.counters["rss_kib_per_conn"] = static_cast<double>(rss_connected - std::min(rss_connected, rss_before)) /
                                         static_cast<double>(std::max<std::size_t>(1, stats.ready.load()));
    state.SetIterationTime(wall);
  }
}

// {connections, positions/s, seconds}
BENCHMARK(BM_ServerLoad)
    ->Args({1000, 2000, 5})
    ->Args({1000, 20000, 5})
    ->Args({2000, 20000, 5})
    ->Args({5000, 5000, 5})
    ->Args({5000, 20000, 5})
    ->Args({9000, 5000, 5})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
