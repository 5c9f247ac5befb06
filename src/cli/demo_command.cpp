// xiaoxiang demo: the simulated city driven through the Tracker with SQLite
// storage and the in-process broker, in accelerated time, shown live in the
// terminal (or summarised with --headless, for CI).
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <unordered_map>

#include "command.hpp"
#include "xiaoxiang/sim/simulation.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang::cli {
namespace {

constexpr const char* kHelp =
    "usage: xiaoxiang demo [options]\n"
    "\n"
    "Runs a simulated front-warehouse city (warehouses, riders, orders, GPS noise,\n"
    "offline uploads, duplicates, injected anomalies) through the tracking engine\n"
    "with SQLite storage and the in-process push broker, in accelerated time, and\n"
    "shows it live: orders by status, throughput, injected anomalies as they start.\n"
    "Ctrl-C stops cleanly; the SQLite file stays consistent (replay it with\n"
    "'xiaoxiang replay --db FILE --order ID').\n"
    "\n"
    "options:\n"
    "  --duration S   wall-clock seconds to run (default 120)\n"
    "  --speed X      simulated seconds per wall second (default 60; 0 = as fast as possible)\n"
    "  --seed S       simulation seed (default 1)\n"
    "  --riders N     riders in the city (default 60)\n"
    "  --db FILE      SQLite file (default: xiaoxiang-demo.sqlite in the temp folder;\n"
    "                 an existing file is replaced)\n"
    "  --headless     no live view: run, then print a summary (for CI)\n"
    "  --help         this text\n";

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

// Tees every change into the broker and keeps what the view shows: each
// order's status, and how many changes watchers received.
class demo_publisher final : public publisher {
 public:
  explicit demo_publisher(broker& inner) : inner_(inner) {}

  void publish(const tracking_state& state, std::uint32_t changed) override {
    inner_.publish(state, changed);
    if (changed & field::status) {
      std::lock_guard lock(mu_);
      status_[state.order] = state.status;
    }
  }
  void publish_rider(const rider_id& rider, const position_fix& fix) override {
    inner_.publish_rider(rider, fix);
  }
  std::map<order_status, std::size_t> by_status() const {
    std::lock_guard lock(mu_);
    std::map<order_status, std::size_t> out;
    for (const auto& [order, status] : status_) ++out[status];
    return out;
  }
  // Some order that reached Completed, for the replay hint.
  std::optional<order_id> a_completed_order() const {
    std::lock_guard lock(mu_);
    for (const auto& [order, status] : status_)
      if (status == order_status::completed) return order;
    return std::nullopt;
  }

 private:
  broker& inner_;
  mutable std::mutex mu_;
  std::unordered_map<order_id, order_status> status_;
};

struct tally {
  std::uint64_t events = 0, accepted = 0, duplicates = 0, rejected = 0;
  std::map<std::string, std::uint64_t> rejected_by_code;
};

std::string bar(double fraction, int width) {
  const int filled = static_cast<int>(fraction * width + 0.5);
  std::string out = "[";
  for (int i = 0; i < width; ++i) out += i < filled ? "#" : ".";
  return out + "]";
}

void print_statuses(std::ostream& out, const std::map<order_status, std::size_t>& counts) {
  for (int code = 1; code <= 5; ++code) {
    const auto s = static_cast<order_status>(code);
    const auto it = counts.find(s);
    out << "  " << code << " " << std::left << std::setw(15) << status_name(s) << status_label(s)
        << "  " << (it == counts.end() ? 0 : it->second) << "\n";
  }
}

int run(invocation& call) {
  options opts({"headless"}, {"duration", "speed", "seed", "riders", "db"});
  if (!opts.parse(call.args)) {
    call.err << "xiaoxiang demo: " << opts.error() << "\n" << kHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kHelp;
    return exit_ok;
  }
  const auto duration = opts.get_double("duration", 120, 0.1, 86400);
  const auto speed = opts.get_double("speed", 60, 0, 1e6);
  const auto seed = opts.get_int("seed", 1, 0, INT64_MAX);
  const auto riders = opts.get_int("riders", 60, 1, 300000);
  if (!duration || !speed || !seed || !riders) {
    call.err << "xiaoxiang demo: " << opts.error() << "\n";
    return exit_usage;
  }
  // Ctrl-C from here on stops cleanly (the loop checks g_stop, then flushes).
  g_stop.store(false);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const bool headless = opts.has("headless");
  const std::string db_path = opts.get("db").value_or(
      (std::filesystem::temp_directory_path() / "xiaoxiang-demo.sqlite").string());
  {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path + suffix, ec);
    const auto parent = std::filesystem::path(db_path).parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent)) {
      call.err << "xiaoxiang demo: --db: folder '" << parent.string() << "' does not exist\n";
      return exit_usage;
    }
  }

  sim_options sim_opts;
  sim_opts.seed = static_cast<std::uint64_t>(*seed);
  sim_opts.riders = static_cast<int>(*riders);
  simulation city(sim_opts);

  sqlite_storage db(db_path);
  manual_clock clock(city.now());
  broker hub(broker_options{.time_source = &clock});
  demo_publisher pub(hub);
  tracker engine(tracker_options{}, &db, &pub, &clock);

  // A watcher per order, as the customer's app would be: subscribed to the
  // order's topic from its creation; the view shows the latest message.
  std::atomic<std::uint64_t> received{0};
  std::mutex last_mu;
  std::string last_message;
  std::vector<subscription> watchers;  // declared last: unsubscribed first
  auto watch = [&](const order_id& order) {
    auto sub = hub.subscribe(order_topic(order), std::nullopt, [&](const message_view& m) {
      received.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(last_mu);
      last_message.assign(m.body.substr(0, 160));
    });
    if (sub) watchers.push_back(std::move(*sub));
  };

  tally counts;
  std::vector<std::string> anomalies;  // lines for the view, newest last
  std::size_t truth_seen = 0;
  std::vector<sim_event> batch;
  const auto wall_start = std::chrono::steady_clock::now();
  const timestamp_ms sim_start = city.now();
  auto next_frame = wall_start;
  constexpr duration_ms kStepMs = 1000;  // simulated time per step
  const bool tty = !headless && ::isatty(STDOUT_FILENO);

  while (!g_stop.load()) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    if (elapsed >= *duration) break;
    if (*speed > 0) {
      // Pace the simulation: do not run ahead of wall time x speed.
      const double sim_seconds = static_cast<double>(city.now() - sim_start) / 1000.0;
      const double ahead = sim_seconds / *speed - elapsed;
      if (ahead > 0) std::this_thread::sleep_for(std::chrono::duration<double>(std::min(ahead, 0.05)));
      if (ahead > 0) continue;
    }
    batch.clear();
    city.step(kStepMs, batch);
    for (const sim_event& item : batch) {
      clock.set(item.delivered_at);
      ingest_result r = engine.ingest(item.ev);
      while (r.code == errc::queue_full && !g_stop.load()) {
        // Back-pressure: a host's consumer waits for the writer and retries.
        engine.flush();
        r = engine.ingest(item.ev);
      }
      ++counts.events;
      if (r.accepted() && item.ev.kind == event_kind::order_created) watch(item.ev.order);
      switch (r.status) {
        case ingest_status::accepted: ++counts.accepted; break;
        case ingest_status::duplicate: ++counts.duplicates; break;
        case ingest_status::rejected:
          ++counts.rejected;
          ++counts.rejected_by_code[errc_name(static_cast<errc>(r.code.value()))];
          break;
      }
    }
    clock.set(city.now());
    engine.tick(city.now());  // rider silence and lateness run on the clock
    const auto& truth = city.ground_truth();
    for (; truth_seen < truth.size(); ++truth_seen) {
      const anomaly_truth& a = truth[truth_seen];
      std::ostringstream line;
      line << format_iso8601(a.start_ms).substr(11, 8) << "  " << std::left << std::setw(16)
           << anomaly_kind_name(a.kind) << " order " << a.order.view();
      if (!a.rider.empty()) line << "  rider " << a.rider.view();
      anomalies.push_back(line.str());
    }
    if (tty && std::chrono::steady_clock::now() >= next_frame) {
      next_frame = std::chrono::steady_clock::now() + std::chrono::milliseconds(250);
      const double fraction = std::min(1.0, elapsed / *duration);
      std::ostringstream frame;
      frame << "\x1b[H\x1b[2J";
      frame << "xiaoxiang demo — simulated city, seed " << *seed << ", " << *riders << " riders\n\n";
      frame << bar(fraction, 40) << " " << static_cast<int>(fraction * 100) << "%   sim time "
            << format_iso8601(city.now()).substr(11, 8) << " UTC\n\n";
      frame << "orders by status:\n";
      print_statuses(frame, pub.by_status());
      frame << "\nevents " << counts.events << "  accepted " << counts.accepted << "  duplicates "
            << counts.duplicates << "  rejected " << counts.rejected << "   "
            << static_cast<std::uint64_t>(static_cast<double>(counts.events) / std::max(elapsed, 1e-3))
            << " events/s\n";
      frame << "watchers " << watchers.size() << "   messages pushed " << received.load()
            << "   durable seq " << engine.durable_sequence() << "   backlog "
            << engine.metrics().storage_backlog << " records\n";
      {
        std::lock_guard lock(last_mu);
        frame << "last pushed: " << last_message << "\n\n";
      }
      const tracker_metrics tm = engine.metrics();
      frame << "detector alerts raised " << tm.alerts_raised << ", cleared " << tm.alerts_cleared
            << " (scored against the truth by 'xiaoxiang anomaly-eval')\n";
      frame << "injected anomalies (simulator ground truth):\n";
      const std::size_t first = anomalies.size() > 8 ? anomalies.size() - 8 : 0;
      for (std::size_t i = first; i < anomalies.size(); ++i) frame << "  " << anomalies[i] << "\n";
      frame << "\nCtrl-C stops.\n";
      call.out << frame.str() << std::flush;
    }
  }
  engine.flush();

  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::ostream& out = call.out;
  out << (g_stop.load() ? "\nstopped.\n" : "\n") << "xiaoxiang demo summary\n";
  out << "  simulated " << (city.now() - sim_start) / 1000 << " s in " << std::fixed
      << std::setprecision(1) << wall << " s of wall time, seed " << *seed << ", " << *riders
      << " riders\n"
      << std::defaultfloat;
  out << "  events " << counts.events << ": accepted " << counts.accepted << ", duplicates "
      << counts.duplicates << ", rejected " << counts.rejected << "\n";
  for (const auto& [code, n] : counts.rejected_by_code) out << "    rejected " << code << ": " << n << "\n";
  const tracker_metrics m = engine.metrics();
  out << "  versions produced " << m.order_updates << ", records stored " << m.records
      << ", fixes dropped from batches " << m.fixes_rejected << "\n";
  out << "  watchers " << watchers.size() << ", messages pushed to them " << received.load()
      << ", encoded " << hub.metrics().encodes << "\n";
  out << "  injected anomalies " << city.ground_truth().size() << ", detector alerts raised "
      << m.alerts_raised << ", cleared " << m.alerts_cleared << "\n";
  out << "orders by status:\n";
  print_statuses(out, pub.by_status());
  out << "storage: " << db_path << " (durable sequence " << engine.durable_sequence() << ")\n";
  if (const auto order = pub.a_completed_order())
    out << "replay a delivered order: xiaoxiang replay --db " << db_path << " --order "
        << order->view() << "\n";
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return exit_ok;
}

const bool registered = register_command(
    {"demo", "run the simulated city through the tracker, live in the terminal", run});

}  // namespace
}  // namespace xiaoxiang::cli
