// xiaoxiang serve: the ready server — a tracker (SQLite or in-memory
// storage), the push broker, STOMP over SockJS / WebSocket at /ws, the HTTP
// API at /api, the live page from --web-root and, with --sim, the simulated
// city running in real time x speed so that the page has moving riders.
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "command.hpp"
#include "serve_auth.hpp"
#include "xiaoxiang/queue/partition_storage.hpp"
#include "xiaoxiang/queue/redis_node.hpp"
#include "db_key_file.hpp"
#include "xiaoxiang/server/metrics_endpoint.hpp"
#include "xiaoxiang/server/stomp_session.hpp"
#include "xiaoxiang/server/tracking_api.hpp"
#include "xiaoxiang/server/web_server.hpp"
#include "xiaoxiang/sim/simulation.hpp"
#include "xiaoxiang/postgres/postgres_storage.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang::cli {
namespace {

constexpr const char* kHelp =
    "usage: xiaoxiang serve [options]\n"
    "\n"
    "Runs the tracking server: STOMP 1.2 over SockJS at /ws (sockjs-client 1.6,\n"
    "every transport) and over a raw WebSocket at /ws/websocket (subprotocols\n"
    "v12.stomp, v11.stomp, v10.stomp), the HTTP API at /api (docs/server.md) and\n"
    "the live page from --web-root. Prints its URL; Ctrl-C (or SIGTERM) stops\n"
    "it cleanly.\n"
    "\n"
    "options:\n"
    "  --port P                 TCP port (default 8080; 0: an ephemeral port)\n"
    "  --address A              address to listen on (default 127.0.0.1)\n"
    "  --threads N              I/O threads (default: hardware concurrency)\n"
    "  --db FILE                SQLite storage (kept across restarts); default: in memory\n"
    "  --pg CONNINFO            PostgreSQL storage instead (libpq conninfo, e.g.\n"
    "                           \"host=127.0.0.1 port=5432 dbname=tracking\"; docs/storage.md)\n"
    "  --db-key-file F          encrypt --db's location columns (AES-256-GCM); F has lines\n"
    "                           'id:64-hex-digits', the first is current (docs/storage.md)\n"
    "  --no-metrics             do not serve GET /metrics (Prometheus; docs/operations.md)\n"
    "  --web-root DIR           static files of the page (default web/dist or build/web/dist if present)\n"
    "  --sim                    run the simulated city, feeding the tracker\n"
    "  --sim-speed X            simulated seconds per wall second (default 1)\n"
    "  --seed N                 simulation seed (default 1)\n"
    "  --riders N               simulated riders (default 60)\n"
    "  --sockjs-test-services   also mount /echo, /close, /disabled_websocket_echo,\n"
    "                           /cookie_needed_echo (sockjs-protocol's test services)\n"
    "  --duration S             stop after S wall seconds (default: run until Ctrl-C)\n"
    "  --tls-cert F --tls-key K serve https:// and wss:// with this PEM certificate chain and key\n"
    "  --blocklist F            refuse client IPs in F's CIDR ranges; re-read on SIGHUP or change\n"
    "  --conn-rate R --conn-burst B  new connections per client IP: R/s, bursts of B (default off)\n"
    "  --msg-rate R --msg-burst B    WebSocket messages per connection: R/s, bursts of B (default off)\n"
    "  --idle-timeout S         close WebSockets silent for S seconds (default: never)\n"
    "  --redis HOST:PORT        join a cluster on Redis (docs/scaling.md): changes fan out\n"
    "                           to every node, active orders cached with a 1 h TTL\n"
    "  --partitions LIST        consume these ingest-queue partitions (0-3, 0,2 or all)\n"
    "  --partition-count N      partitions of the cluster (default 8)\n"
    "  --node NAME              this node's name (default node-LIST; keep it across restarts)\n"
    "  --help                   this text\n"
    "\n"
    "authentication (JSON Web Tokens; docs/security.md):\n";

std::atomic<bool> g_stop{false};
extern "C" void serve_on_signal(int) { g_stop.store(true); }
std::atomic<bool> g_reload{false};  // SIGHUP: re-read the blocklist
extern "C" void serve_on_hup(int) { g_reload.store(true); }

// The clock the tracker and broker see: the simulated time with --sim (it
// runs ahead of the wall clock by the speed), the system clock otherwise.
class switchable_clock final : public clock {
 public:
  timestamp_ms now() const noexcept override {
    const auto t = sim_time_.load(std::memory_order_relaxed);
    return t > 0 ? t : system_.now();
  }
  void set(timestamp_ms t) { sim_time_.store(t, std::memory_order_relaxed); }

 private:
  system_clock system_;
  std::atomic<timestamp_ms> sim_time_{0};
};

// --tls-cert/--tls-key, --blocklist and the rate limits into the server's
// options; false (after a message) on a usage error.
bool apply_limit_options(options& opts, web_server_options& wo, std::ostream& err) {
  const auto cert = opts.get("tls-cert"), key = opts.get("tls-key");
  if (cert.has_value() != key.has_value()) {
    err << "xiaoxiang serve: --tls-cert and --tls-key go together\n";
    return false;
  }
  if (cert) wo.tls = {*cert, *key};
  const auto conn_rate = opts.get_double("conn-rate", 0, 0, 1e6);
  const auto conn_burst = opts.get_int("conn-burst", 100, 1, 1'000'000);
  const auto msg_rate = opts.get_double("msg-rate", 0, 0, 1e6);
  const auto msg_burst = opts.get_int("msg-burst", 200, 1, 1'000'000);
  const auto idle = opts.get_int("idle-timeout", 0, 0, 86'400 * 365);
  if (!conn_rate || !conn_burst || !msg_rate || !msg_burst || !idle) {
    err << "xiaoxiang serve: " << opts.error() << "\n";
    return false;
  }
  wo.limits.connections_per_ip = {*conn_rate, static_cast<std::uint32_t>(*conn_burst)};
  wo.limits.messages_per_connection = {*msg_rate, static_cast<std::uint32_t>(*msg_burst)};
  wo.limits.websocket_idle_timeout = std::chrono::seconds(*idle);
  if (const auto file = opts.get("blocklist")) {
    try {
      wo.blocklist = std::make_shared<ip_blocklist_file>(*file);
    } catch (const error& e) {
      err << "xiaoxiang serve: --blocklist: " << e.what() << "\n";
      return false;
    }
  }
  wo.log = [&err](std::string_view line) { err << "xiaoxiang serve: " << line << std::endl; };
  return true;
}

int run(invocation& call) {
  options opts({"sim", "sockjs-test-services", "no-metrics"},
               {"port", "address", "threads", "db", "pg", "db-key-file", "web-root", "sim-speed", "seed", "riders", "duration",
                "tls-cert", "tls-key", "blocklist", "conn-rate", "conn-burst", "msg-rate", "msg-burst", "idle-timeout",
                "redis", "partitions", "partition-count", "node"});
  serve_auth security = take_serve_auth(call.args);  // the repeatable --jwt-* options
  if (!opts.parse(call.args)) {
    call.err << "xiaoxiang serve: " << opts.error() << "\n" << kHelp << kServeAuthHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kHelp << kServeAuthHelp;
    return exit_ok;
  }
  if (!security.error.empty()) {
    call.err << "xiaoxiang serve: " << security.error << "\n";
    return exit_usage;
  }
  if (!opts.positional().empty()) {
    call.err << "xiaoxiang serve: unexpected argument '" << opts.positional().front() << "'\n";
    return exit_usage;
  }
  const auto port = opts.get_int("port", 8080, 0, 65535);
  const auto threads = opts.get_int("threads", 0, 0, 256);
  const auto speed = opts.get_double("sim-speed", 1, 0.01, 10000);
  const auto seed = opts.get_int("seed", 1, 0, INT64_MAX);
  const auto riders = opts.get_int("riders", 60, 1, 300000);
  const auto duration = opts.get_double("duration", 0, 0, 365.0 * 86400);
  if (!port || !threads || !speed || !seed || !riders || !duration) {
    call.err << "xiaoxiang serve: " << opts.error() << "\n";
    return exit_usage;
  }
  std::string web_root = opts.get("web-root").value_or("");
  if (web_root.empty()) {
    for (const char* candidate : {"web/dist", "build/web/dist"})
      if (std::filesystem::is_regular_file(std::filesystem::path(candidate) / "index.html")) {
        web_root = candidate;
        break;
      }
  } else if (!std::filesystem::is_directory(web_root)) {
    call.err << "xiaoxiang serve: --web-root: '" << web_root << "' is not a folder\n";
    return exit_usage;
  }
  const auto db_path = opts.get("db");
  if (db_path) {
    const auto parent = std::filesystem::path(*db_path).parent_path();
    if (db_path->empty() || (!parent.empty() && !std::filesystem::is_directory(parent))) {
      call.err << "xiaoxiang serve: --db: folder of '" << *db_path << "' does not exist\n";
      return exit_usage;
    }
  }

  g_stop.store(false);
  std::signal(SIGINT, serve_on_signal);
  std::signal(SIGTERM, serve_on_signal);
  std::signal(SIGHUP, serve_on_hup);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    std::unique_ptr<storage> store;
    sqlite_options db_options;
    if (!db_path && opts.has("db-key-file")) {
      call.err << "xiaoxiang serve: --db-key-file needs --db (the in-memory storage is not encrypted)\n";
      return exit_usage;
    }
    if (!apply_db_key_file(opts.get("db-key-file"), db_options, call.err, "xiaoxiang serve"))
      return exit_usage;
    if (const auto pg = opts.get("pg")) {
      if (db_path) {
        call.err << "xiaoxiang serve: --pg and --db are two storages; give one\n";
        return exit_usage;
      }
      store = std::make_unique<postgres_storage>(*pg);
    } else if (db_path) store = std::make_unique<sqlite_storage>(*db_path, db_options);
    else store = std::make_unique<memory_storage>();

    const bool with_sim = opts.has("sim");
    std::unique_ptr<simulation> sim;
    switchable_clock time;
    if (with_sim) {
      sim_options so;
      so.seed = static_cast<std::uint64_t>(*seed);
      so.riders = static_cast<int>(*riders);
      // The simulated day starts now, so that times on the page are today's.
      so.start = system_clock().now();
      sim = std::make_unique<simulation>(so);
      time.set(sim->now());
    }
    broker hub(broker_options{.time_source = &time});
    std::unique_ptr<redis_node> cluster;  // --redis: a node of a cluster
    if (auto spec = redis_node_spec(opts.get("redis"), opts.get("partitions"),
                                    opts.get("partition-count"), opts.get("node"));
        !spec) {
      call.err << "xiaoxiang serve: --" << spec.message() << "\n";
      return exit_usage;
    } else if (*spec) {
      cluster = std::make_unique<redis_node>(**spec, hub);
    }
    // A node of a cluster recovers only the orders of its partitions from a
    // database the other nodes share (none for a WebSocket-only node).
    std::unique_ptr<partition_storage> owned_store;
    if (cluster)
      owned_store = std::make_unique<partition_storage>(*store, cluster->options().partitions,
                                                        cluster->options().owned);
    tracker engine(tracker_options{}, owned_store ? static_cast<storage*>(owned_store.get()) : store.get(),
                   cluster ? &cluster->chain() : static_cast<publisher*>(&hub), &time);

    web_server_options wo;
    wo.address = opts.get("address").value_or("127.0.0.1");
    wo.port = static_cast<std::uint16_t>(*port);
    wo.threads = static_cast<unsigned>(*threads);
    wo.static_root = web_root;
    if (!apply_limit_options(opts, wo, call.err)) return exit_usage;
    metrics_registry metrics;  // outlives the server, which serves it
    channel_metrics ws_metrics("/ws");
    web_server server(wo);

    stomp_session_options so;
    // Coalesce well before the channel's hard cap closes the connection.
    so.send_queue_bound_bytes = wo.limits.channel_queue_bytes / 2;
    so.auth = security.auth;
    server.mount_sockjs("/ws", ws_metrics.wrap([&hub, &engine, so](message_channel& channel) {
      return std::make_unique<stomp_session>(so, hub, &engine, channel);
    }));
    tracking_api_options api_options;
    api_options.auth = security.auth;
    tracking_api api(engine, hub, store.get(), api_options);
    if (sim) api.set_city_geojson(sim->city().to_geojson());
    api.mount(server);
    if (opts.has("sockjs-test-services")) mount_sockjs_test_services(server);
    if (!opts.has("no-metrics")) {
      for (auto collector : {tracker_collector(engine), web_server_collector(server),
                             broker_collector(hub), ws_metrics.collector()})
        metrics.add(std::move(collector));
      metrics.mount(server);
    }
    server.start();
    if (cluster) cluster->start(engine);

    call.out << "xiaoxiang serve: listening on " << server.url() << "/ (STOMP at " << server.url()
             << "/ws, API at " << server.url() << "/api"
             << (web_root.empty() ? ", no web root" : ", page from " + web_root) << ")" << std::endl;
    if (security.auth) call.out << "xiaoxiang serve: " << security.describe << std::endl;

    const auto wall_start = std::chrono::steady_clock::now();
    const timestamp_ms sim_start = sim ? sim->now() : 0;
    std::vector<sim_event> batch;
    std::uint64_t events = 0, accepted = 0;
    while (!g_stop.load()) {
      if (g_reload.exchange(false) && wo.blocklist) {
        const auto reloaded = wo.blocklist->reload();
        call.err << "xiaoxiang serve: SIGHUP: blocklist " << wo.blocklist->path().string() << ": "
                 << (reloaded ? std::to_string(wo.blocklist->current()->size()) + " ranges"
                              : reloaded.message() + " (line " + std::to_string(wo.blocklist->last_bad_line()) +
                                    "; the previous list stays)")
                 << std::endl;
      }
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
      if (*duration > 0 && elapsed >= *duration) break;
      if (!sim) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      // Real time x speed: step the city in 1 s of simulated time at most,
      // never ahead of the wall clock.
      const double sim_seconds = static_cast<double>(sim->now() - sim_start) / 1000.0;
      const double ahead = sim_seconds / *speed - elapsed;
      if (ahead > 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(std::min(ahead, 0.05)));
        continue;
      }
      batch.clear();
      sim->step(1000, batch);
      for (const sim_event& item : batch) {
        time.set(item.delivered_at);
        ingest_result r = engine.ingest(item.ev);
        while (r.code == errc::queue_full && !g_stop.load()) {
          engine.flush();
          r = engine.ingest(item.ev);
        }
        ++events;
        if (r.accepted()) ++accepted;
      }
      time.set(sim->now());
    }
    if (cluster) {
      cluster->stop();
      call.out << "xiaoxiang serve: " << cluster->describe() << std::endl;
    }
    server.stop();
    engine.flush();
    call.out << "xiaoxiang serve: stopped";
    if (sim) call.out << " (" << events << " simulated events, " << accepted << " accepted)";
    call.out << std::endl;
  } catch (const std::exception& e) {
    call.err << "xiaoxiang serve: " << e.what() << "\n";
    return exit_failure;
  }
  return exit_ok;
}

const bool registered =
    register_command({"serve", "run the tracking server (STOMP/SockJS, HTTP API, live page)", run});

}  // namespace
}  // namespace xiaoxiang::cli
