// Broker publish with many active orders and 2 subscribers per order, beside
// a naive baseline that serialises the JSON once per subscriber with
// Boost.JSON (what a straightforward fan-out does). Allocations per publish
// are counted with a counting operator new.
//
//   build-x/bin/bench_broker --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "xiaoxiang/transport/binary_codec.hpp"
#include "xiaoxiang/transport/broker.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

// ------------------------------------------------------------ counting new

// GCC sees malloc/free inside the replaced operators and warns about a
// mismatch that replacing them makes correct.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace xiaoxiang {
namespace {

thread_local std::uint64_t tl_sink = 0;

void consume(std::string_view body) {
  tl_sink += body.size();
  benchmark::DoNotOptimize(body.data());
}

std::vector<tracking_state> make_orders(std::size_t n) {
  std::vector<tracking_state> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    tracking_state& s = v[i];
    s.order = *id::make("O20261125-" + std::to_string(100000 + i));
    s.user = *id::make("U" + std::to_string(i % 5000));
    s.warehouse = *id::make("W" + std::to_string(i % 40));
    s.rider = *id::make("R" + std::to_string(i % 20000));
    s.operator_id = s.rider;
    s.op_type = operator_type::rider;
    s.status = order_status::delivering;
    s.address = "北京市朝阳区建国路88号";
    s.position = {116.2 + static_cast<double>(i % 4000) * 1e-4, 39.8 + static_cast<double>(i % 3000) * 1e-4};
    s.has_position = true;
    s.version = 1;
  }
  return v;
}

void move_rider(tracking_state& s) {
  ++s.version;
  s.position.lon += 1.3e-5;
  s.position.lat += 0.7e-5;
  s.create_time = 1764071100000 + static_cast<timestamp_ms>(s.version) * 15000;
}

std::size_t heap_in_use() { return mallinfo2().uordblks; }

// ------------------------------------------------------------ xiaoxiang

struct broker_world {
  std::vector<tracking_state> orders;
  std::unique_ptr<broker> b;
  std::vector<subscription> subs;
  double bytes_per_order = 0;

  broker_world(std::size_t n, int subscribers, std::size_t warm_rounds) {
    orders = make_orders(n);
    const std::size_t before = heap_in_use();
    b = std::make_unique<broker>();
    subs.reserve(n * static_cast<std::size_t>(subscribers));
    for (const auto& s : orders) {
      b->publish(s, field::all);
      for (int k = 0; k < subscribers; ++k)
        subs.push_back(std::move(
            b->subscribe(order_topic(s.order), s.version, [](const message_view& m) { consume(m.body); })
                .value()));
    }
    // Fill every order's history to its bound, so the timed loop is the
    // steady state (history slots reused, buffers at capacity).
    for (std::size_t r = 0; r < warm_rounds; ++r)
      for (auto& s : orders) {
        move_rider(s);
        b->publish(s, field::position | field::create_time);
      }
    bytes_per_order = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
  }
};

broker_world& world(std::size_t n) {
  // Built once per process: 100,000 orders with a full history take seconds.
  static std::unique_ptr<broker_world> w;
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (!w || w->orders.size() != n) {
    w.reset();
    w = std::make_unique<broker_world>(n, 2, broker_options{}.history_messages + 2);
  }
  return *w;
}

void BM_BrokerPublish(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  broker_world& w = world(n);
  // Each thread publishes its own slice of orders (one order, one thread).
  const std::size_t threads = static_cast<std::size_t>(state.threads());
  const std::size_t slice = n / threads;
  const std::size_t first = slice * static_cast<std::size_t>(state.thread_index());
  std::size_t i = 0;
  const std::uint64_t allocs0 = g_allocations.load();
  const broker_metrics m0 = w.b->metrics();
  for (auto _ : state) {
    tracking_state& s = w.orders[first + i];
    if (++i == slice) i = 0;
    move_rider(s);
    w.b->publish(s, field::position | field::create_time);
  }
  const std::uint64_t allocs = g_allocations.load() - allocs0;
  const broker_metrics m1 = w.b->metrics();
  if (state.thread_index() == 0) {
    state.counters["allocs_per_publish"] = benchmark::Counter(
        static_cast<double>(allocs) / static_cast<double>(state.iterations() * threads));
    state.counters["encodes_per_publish"] = benchmark::Counter(
        static_cast<double>(m1.encodes - m0.encodes) / static_cast<double>(m1.published - m0.published));
    state.counters["deliveries_per_publish"] = benchmark::Counter(
        static_cast<double>(m1.deliveries - m0.deliveries) / static_cast<double>(m1.published - m0.published));
    state.counters["heap_bytes_per_order"] = w.bytes_per_order;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BrokerPublish)->ArgName("orders")->Arg(1000)->Threads(1)->UseRealTime();
BENCHMARK(BM_BrokerPublish)->ArgName("orders")->Arg(100000)->Threads(1)->UseRealTime();
BENCHMARK(BM_BrokerPublish)->ArgName("orders")->Arg(100000)->Threads(2)->UseRealTime();

// ------------------------------------------------------------ naive baseline

// One map under one mutex, the state kept, and for every subscriber a
// Boost.JSON object built from the changed keys and serialised.
class naive_broker {
 public:
  using callback = std::function<void(std::string_view)>;

  void subscribe(const order_id& o, callback cb) {
    std::lock_guard lock(mu_);
    orders_[o].subs.push_back(std::move(cb));
  }

  void publish(const tracking_state& s, std::uint32_t changed) {
    std::lock_guard lock(mu_);
    entry& e = orders_[s.order];
    e.state = s;
    for (const callback& cb : e.subs) {
      boost::json::object o;
      o["type"] = "delta";
      o["orderId"] = boost::json::string_view(s.order.view().data(), s.order.size());
      o["version"] = s.version;
      if (changed & field::status) o["status"] = to_code(s.status);
      if (changed & field::position) {
        o["longitude"] = s.position.lon;
        o["latitude"] = s.position.lat;
      }
      if (changed & field::create_time) o["createTime"] = s.create_time;
      if (changed & field::eta) {
        o["etaSeconds"] = s.eta_seconds;
        o["etaP90Seconds"] = s.eta_p90_seconds;
      }
      const std::string text = boost::json::serialize(o);
      cb(text);
    }
  }

 private:
  struct entry {
    tracking_state state;
    std::vector<callback> subs;
  };
  std::mutex mu_;
  std::unordered_map<order_id, entry> orders_;
};

void BM_BrokerPublishNaiveBoostJson(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  static std::unique_ptr<naive_broker> nb;
  static std::vector<tracking_state> orders;
  if (!nb) {
    orders = make_orders(n);
    nb = std::make_unique<naive_broker>();
    for (const auto& s : orders) {
      nb->subscribe(s.order, [](std::string_view body) { consume(body); });
      nb->subscribe(s.order, [](std::string_view body) { consume(body); });
      nb->publish(s, field::all);
    }
  }
  std::size_t i = 0;
  const std::uint64_t allocs0 = g_allocations.load();
  for (auto _ : state) {
    tracking_state& s = orders[i];
    if (++i == n) i = 0;
    move_rider(s);
    nb->publish(s, field::position | field::create_time);
  }
  state.counters["allocs_per_publish"] = benchmark::Counter(
      static_cast<double>(g_allocations.load() - allocs0) / static_cast<double>(state.iterations()));
  state.counters["encodes_per_publish"] = 2;
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BrokerPublishNaiveBoostJson)->ArgName("orders")->Arg(100000)->Threads(1)->UseRealTime();

// ------------------------------------------------------------ codecs alone

void BM_BrokerEncodeDeltaJson(benchmark::State& state) {
  auto orders = make_orders(1);
  std::string out;
  for (auto _ : state) {
    move_rider(orders[0]);
    out.clear();
    encode_delta(orders[0], field::position | field::create_time, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_BrokerEncodeDeltaJson);

void BM_BrokerEncodeDeltaBoostJson(benchmark::State& state) {
  auto orders = make_orders(1);
  for (auto _ : state) {
    move_rider(orders[0]);
    const tracking_state& s = orders[0];
    boost::json::object o;
    o["type"] = "delta";
    o["orderId"] = boost::json::string_view(s.order.view().data(), s.order.size());
    o["version"] = s.version;
    o["longitude"] = s.position.lon;
    o["latitude"] = s.position.lat;
    o["createTime"] = s.create_time;
    std::string text = boost::json::serialize(o);
    benchmark::DoNotOptimize(text.data());
  }
}
BENCHMARK(BM_BrokerEncodeDeltaBoostJson);

void BM_BrokerEncodeDeltaBinary(benchmark::State& state) {
  auto orders = make_orders(1);
  std::string out;
  for (auto _ : state) {
    move_rider(orders[0]);
    out.clear();
    encode_delta_binary(orders[0], field::position | field::create_time, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_BrokerEncodeDeltaBinary);

void BM_BrokerDecodeSnapshotJson(benchmark::State& state) {
  auto orders = make_orders(1);
  std::string text;
  encode_snapshot(orders[0], text);
  for (auto _ : state) {
    auto d = decode_update_json(text);
    benchmark::DoNotOptimize(d.ok());
  }
}
BENCHMARK(BM_BrokerDecodeSnapshotJson);

}  // namespace
}  // namespace xiaoxiang

BENCHMARK_MAIN();
