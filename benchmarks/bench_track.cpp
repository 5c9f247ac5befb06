// The engine end to end: position ingest (validate, filters, apply with a
// version bump, rider index, delta encoded once, pushed to 2 in-process
// subscribers per order) at 100,000 active orders, on 1 and 2 threads; the
// same persisted to SQLite by the write-behind writer; and memory per order.
//
//   build/bin/bench_track --benchmark_filter=BM_Track
#include <benchmark/benchmark.h>
#include <malloc.h>

// The counting operator new/delete below pair malloc with free on purpose.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

// Counting allocator: bytes live and allocations made, to measure memory per
// order and to show that the hot path allocates nothing.
namespace {
std::atomic<std::int64_t> g_live_bytes{0};
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (!p) throw std::bad_alloc();
  g_live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  g_live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace xiaoxiang {
namespace {

constexpr timestamp_ms kStart = 1'764'000'000'000;
constexpr double kLon0 = 116.2, kLat0 = 39.8;

id numbered(char prefix, std::uint64_t n) {
  char text[24];
  text[0] = prefix;
  const auto end = std::to_chars(text + 1, text + sizeof text, n).ptr;
  return *id::make(std::string_view(text, static_cast<std::size_t>(end - text)));
}

geo_point home(std::uint64_t i) {
  // Spread over the Beijing box (lon 116.2..116.6, lat 39.8..40.1).
  return {kLon0 + 0.4 * static_cast<double>((i * 7919) % 100'000) / 100'000.0,
          kLat0 + 0.3 * static_cast<double>((i * 104'729) % 100'000) / 100'000.0};
}

// One step of order i's way to Delivering: 0 created, 1 paid, 2 assigned to
// rider i with a planned route.
void open_order_step(tracker& t, std::uint64_t i, int step) {
  event e;
  e.kind = event_kind::order_created;
  e.id = numbered('C', i);
  e.time = kStart;
  e.order = numbered('O', i);
  e.user = numbered('U', i);
  e.warehouse = numbered('W', i % 40);
  e.origin = home(i);
  e.destination = home(i + 1);
  if (step == 0) {
    t.ingest(e);
    return;
  }
  if (step == 1) {
    e.kind = event_kind::order_paid;
    e.id = numbered('P', i);
    t.ingest(e);
    return;
  }
  e.kind = event_kind::rider_assigned;
  e.id = numbered('A', i);
  e.rider = numbered('R', i);
  // A planned route of 20 segments due east, 2 km, along which the rider
  // moves (the ETA and route deviation project every fix on it).
  for (int v = 0; v <= 20; ++v) e.route.push_back({home(i).lon + 0.00117 * v, home(i).lat});
  t.ingest(e);
}

// Drives `orders` orders to Delivering, order i carried by rider i; with
// `after_step`, one step (created, paid, assigned) for every order at a time,
// calling after_step(step) after each.
void open_orders(tracker& t, std::uint64_t orders, void (*after_step)(int, void*) = nullptr,
                 void* context = nullptr) {
  if (after_step) {
    for (int step = 0; step < 3; ++step) {
      for (std::uint64_t i = 0; i < orders; ++i) open_order_step(t, i, step);
      after_step(step, context);
    }
    return;
  }
  for (std::uint64_t i = 0; i < orders; ++i)
    for (int step = 0; step < 3; ++step) open_order_step(t, i, step);
}

// Rounds of positions: one every 15 s of device time, numbered across all
// streams and runs so that every rider's fixes keep moving forward in time.
std::atomic<std::uint64_t> g_round{1};

// Each thread reports positions of its own riders, 10 m further east per
// round (2.4 km/h whatever the gap), and moves the clock along.
class position_stream {
 public:
  position_stream(manual_clock& clock, std::uint64_t riders, std::uint64_t thread,
                  std::uint64_t threads)
      : clock_(clock), riders_(riders), next_(thread), step_(threads), thread_(thread) {
    e_.kind = event_kind::rider_position;
    e_.has_position = true;
    new_round();
  }

  const event& next() {
    if (next_ >= riders_) {
      next_ = thread_;
      new_round();
    }
    const std::uint64_t i = next_;
    next_ += step_;
    e_.id = numbered('E', ++serial_ * 4096 + round_ % 4096);
    e_.rider = numbered('R', i);
    e_.time = kStart + round_ * 15'000;
    const geo_point p = home(i);
    e_.position = {p.lon + 0.000117 * static_cast<double>(round_), p.lat};
    return e_;
  }

 private:
  void new_round() {
    round_ = g_round.fetch_add(1);
    clock_.set(kStart + static_cast<timestamp_ms>(round_) * 15'000 + 1000);
  }

  manual_clock& clock_;
  std::uint64_t riders_, next_, step_, thread_, round_ = 0, serial_ = 0;
  event e_;
};

struct city {
  manual_clock clock{kStart};
  broker pub;
  std::vector<subscription> subscriptions;
  std::unique_ptr<tracker> engine;
  std::atomic<std::uint64_t> delivered{0};

  explicit city(std::uint64_t orders, bool subscribe, bool monitors = true) {
    tracker_options options;
    options.eta = options.detectors = monitors;
    engine = std::make_unique<tracker>(options, nullptr, subscribe ? &pub : nullptr, &clock);
    open_orders(*engine, orders);
    if (!subscribe) return;
    subscriptions.reserve(orders * 2);
    for (std::uint64_t i = 0; i < orders; ++i) {
      for (int s = 0; s < 2; ++s) {
        auto sub = pub.subscribe(order_topic(numbered('O', i)), std::nullopt,
                                 [](const message_view& m) { benchmark::DoNotOptimize(m.body.data()); });
        subscriptions.push_back(std::move(*sub));
      }
    }
  }
};

// Built on first use only, so that a filtered run (and a profile of it)
// does not pay for the other city's setup.
city& shared_city(bool subscribe, bool monitors = true) {
  if (subscribe && !monitors) {
    static city no_monitors(100'000, true, false);
    return no_monitors;
  }
  if (subscribe) {
    static city with_subscribers(100'000, true);
    return with_subscribers;
  }
  static city without(100'000, false);
  return without;
}

void run_positions(benchmark::State& state, bool subscribe, bool monitors = true) {
  city& c = shared_city(subscribe, monitors);
  const auto threads = static_cast<std::uint64_t>(state.threads());
  position_stream stream(c.clock, 100'000, static_cast<std::uint64_t>(state.thread_index()), threads);
  std::uint64_t rejected = 0;
  const std::uint64_t allocations_before = g_allocations.load();
  for (auto _ : state) {
    const ingest_result r = c.engine->ingest(stream.next());
    rejected += r.accepted() ? 0 : 1;
    benchmark::DoNotOptimize(r.version);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["rejected"] = static_cast<double>(rejected);
  if (state.thread_index() == 0) {
    state.counters["allocs_per_position"] = benchmark::Counter(
        static_cast<double>(g_allocations.load() - allocations_before) /
        static_cast<double>(state.iterations() * threads));
  }
}

// End to end with 2 subscribers per order: the 1,000,000/s goal.
void BM_TrackIngestPosition(benchmark::State& state) { run_positions(state, true); }
BENCHMARK(BM_TrackIngestPosition)->Name("BM_TrackIngestPosition/orders:100000/subscribers:2")
    ->Threads(1)->Threads(2)->UseRealTime();

// The same without the ETA and the detectors (tracker_options::eta and
// ::detectors off): issue 7 asks that with them on ingest stays >= 70% as fast.
void BM_TrackIngestPositionNoMonitors(benchmark::State& state) { run_positions(state, true, false); }
BENCHMARK(BM_TrackIngestPositionNoMonitors)
    ->Name("BM_TrackIngestPositionNoMonitors/orders:100000/subscribers:2")
    ->Threads(1)->UseRealTime();

// The engine alone (no publisher): what the broker costs is the difference.
void BM_TrackIngestPositionNoPush(benchmark::State& state) { run_positions(state, false); }
BENCHMARK(BM_TrackIngestPositionNoPush)->Name("BM_TrackIngestPositionNoPush/orders:100000")
    ->Threads(1)->Threads(2)->UseRealTime();

// Persisted: the producer ingests on this thread, the write-behind writer
// commits to SQLite on the other core; timed until everything is durable.
void BM_TrackIngestSqlite(benchmark::State& state) {
  const auto orders = static_cast<std::uint64_t>(state.range(0));
  const auto dir = std::filesystem::temp_directory_path() / "xiaoxiang-bench-track";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::uint64_t records = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove(dir / "track.db");
    auto db = std::make_unique<sqlite_storage>((dir / "track.db").string());
    manual_clock clock{kStart};
    tracker_options options;
    options.storage_queue.capacity_records = 1 << 18;
    auto engine = std::make_unique<tracker>(options, db.get(), nullptr, &clock);
    open_orders(*engine, orders);
    engine->flush();
    position_stream stream(clock, orders, 0, 1);
    const std::uint64_t before = engine->metrics().records;
    state.ResumeTiming();
    for (std::uint64_t i = 0; i < 4 * orders;) {
      const ingest_result r = engine->ingest(stream.next());
      if (r.code == errc::queue_full) continue;  // back-pressure: retry, as a host would
      ++i;
    }
    engine->flush();
    state.PauseTiming();
    records += engine->metrics().records - before;
    engine.reset();
    db.reset();
    state.ResumeTiming();
  }
  state.counters["records_per_second"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_TrackIngestSqlite)->Arg(100'000)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->Iterations(2);

// Bytes of hot state per active order (engine only: order row, watcher view,
// event fingerprints, its rider's state and index entry; the broker's resume
// history is measured separately), and what each step adds: the order's
// creation (its slot), payment (the ETA and detector state), the assignment
// (its rider, the planned route) and the rider's first fix.
void BM_TrackMemoryPerOrder(benchmark::State& state) {
  const auto orders = static_cast<std::uint64_t>(state.range(0));
  double engine_bytes = 0, broker_bytes = 0;
  for (auto _ : state) {
    manual_clock clock{kStart};
    const std::int64_t before = g_live_bytes.load();
    {
      auto engine = std::make_unique<tracker>(tracker_options{}, nullptr, nullptr, &clock);
      // Where the bytes go: live bytes after each step of every order.
      std::array<std::int64_t, 3> after{};
      open_orders(
          *engine, orders,
          [](int step, void* out) { (*static_cast<std::array<std::int64_t, 3>*>(out))[step] = g_live_bytes.load(); },
          &after);
      position_stream stream(clock, orders, 0, 1);
      for (std::uint64_t i = 0; i < orders; ++i) engine->ingest(stream.next());
      const std::int64_t end = g_live_bytes.load();
      const auto per = [&](std::int64_t from, std::int64_t to) {
        return static_cast<double>(to - from) / static_cast<double>(orders);
      };
      engine_bytes = per(before, end);
      state.counters["created_bytes"] = per(before, after[0]);
      state.counters["paid_bytes"] = per(after[0], after[1]);
      state.counters["assigned_bytes"] = per(after[1], after[2]);
      state.counters["first_fix_bytes"] = per(after[2], end);
    }
    const std::int64_t before_broker = g_live_bytes.load();
    {
      broker pub;
      auto engine = std::make_unique<tracker>(tracker_options{}, nullptr, &pub, &clock);
      const std::int64_t start = g_live_bytes.load();
      open_orders(*engine, orders);
      position_stream stream(clock, orders, 0, 1);
      for (std::uint64_t i = 0; i < 20 * orders; ++i) engine->ingest(stream.next());
      broker_bytes = static_cast<double>(g_live_bytes.load() - start) / static_cast<double>(orders) -
                     engine_bytes;
      (void)before_broker;
    }
  }
  state.counters["engine_bytes_per_order"] = engine_bytes;
  state.counters["broker_bytes_per_order"] = broker_bytes;
}
BENCHMARK(BM_TrackMemoryPerOrder)->Arg(100'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xiaoxiang

BENCHMARK_MAIN();
