// The Redis adapters (docs/scaling.md) against a real redis-server that this
// program starts with scripts/redis-server.sh (skipped with a message when it
// cannot): simulated events through Redis Streams into a tracker (consume,
// ingest, acknowledge after durable) next to the same events ingested
// directly (the baseline: what the queue costs); the producer's XADD rate;
// and the latency from XADD on node A to a client's callback on node B
// through the consumer, the tracker, the fan-out and the other node's broker.
//
//   build/bin/bench_redis
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "xiaoxiang/cache/redis_fanout.hpp"
#include "xiaoxiang/cache/redis_order_cache.hpp"
#include "xiaoxiang/queue/redis_stream_consumer.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/queue/redis_stream_producer.hpp"
#include "xiaoxiang/redis/partition.hpp"
#include "xiaoxiang/sim/simulation.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {
namespace {

// The server of this run: started on first use, stopped at exit.
struct bench_server {
  std::string dir, error;
  redis_endpoint endpoint;
  bench_server() {
    char tmpl[] = "/tmp/xiaoxiang-bench-redis-XXXXXX";
    if (!mkdtemp(tmpl)) {
      error = "mkdtemp failed";
      return;
    }
    dir = tmpl;
    const std::string cmd = std::string(XIAOXIANG_SOURCE_DIR) + "/scripts/redis-server.sh start " +
                            dir + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      error = "redis-server could not be started (scripts/redis-server.sh; is redis-server installed?)";
      return;
    }
    std::ifstream in(dir + "/port");
    int port = 0;
    in >> port;
    endpoint.port = static_cast<std::uint16_t>(port);
  }
  ~bench_server() {
    if (dir.empty()) return;
    const std::string cmd = std::string(XIAOXIANG_SOURCE_DIR) + "/scripts/redis-server.sh stop " +
                            dir + " >/dev/null 2>&1; rm -rf " + dir;
    [[maybe_unused]] const int rc = std::system(cmd.c_str());
  }
};

bench_server& server() {
  static bench_server s;
  return s;
}

redis_connection_options connection() {
  redis_connection_options o;
  o.endpoint = server().endpoint;
  return o;
}

// The first `n` events of a simulated city (one hour ago, so the tracker's
// position filters accept them on the system clock).
const std::vector<event>& sim_events(std::size_t n) {
  static std::vector<event> events;
  if (events.size() < n) {
    events.clear();
    sim_options so;
    so.seed = 5;
    so.riders = 200;
    so.start = now_ms() - 4 * 3600 * 1000;
    simulation city(so);
    std::vector<sim_event> items;
    while (events.size() < n) {
      items.clear();
      city.step(60'000, items);
      for (const sim_event& item : items) events.push_back(item.ev);
    }
  }
  return events;
}

std::string unique_prefix() {
  static int n = 0;
  return "bench" + std::to_string(++n) + ":";
}

tracker_options bench_tracker_options() {
  tracker_options o;
  o.eta_learning = false;
  return o;
}

void BM_RedisStreamProduce(benchmark::State& state) {
  if (!server().error.empty()) return state.SkipWithError(server().error.c_str());
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& events = sim_events(n);
  for (auto _ : state) {
    redis_stream_producer_options o;
    o.connection = connection();
    o.streams.stream_prefix = unique_prefix() + "events:";
    o.streams.partitions = 8;
    redis_stream_producer producer(o);
    for (std::size_t i = 0; i < n; ++i) producer.add(events[i]);
    producer.flush();
    benchmark::DoNotOptimize(producer.entries());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_RedisStreamProduce)->Arg(20'000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Baseline: the same events straight into the tracker, no queue.
void BM_RedisDirectIngestBaseline(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& events = sim_events(n);
  for (auto _ : state) {
    state.PauseTiming();
    auto store = std::make_unique<memory_storage>();
    auto engine = std::make_unique<tracker>(bench_tracker_options(), store.get());
    state.ResumeTiming();
    for (std::size_t i = 0; i < n; ++i) benchmark::DoNotOptimize(engine->ingest(events[i]));
    engine->flush();
    state.PauseTiming();
    engine.reset();
    store.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_RedisDirectIngestBaseline)->Arg(20'000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Consume (XREADGROUP), ingest, XACK after durable: one tracker node reading
// 8 partitions (arg 1 = 0: memory storage, 1: SQLite in /tmp).
void BM_RedisStreamConsume(benchmark::State& state) {
  if (!server().error.empty()) return state.SkipWithError(server().error.c_str());
  const auto n = static_cast<std::size_t>(state.range(0));
  const bool sqlite = state.range(1) == 1;
  const auto& events = sim_events(n);
  std::uint64_t entries = 0;
  for (auto _ : state) {
    state.PauseTiming();
    redis_stream_options streams;
    streams.stream_prefix = unique_prefix() + "events:";
    streams.partitions = 8;
    {
      redis_stream_producer_options po;
      po.connection = connection();
      po.streams = streams;
      redis_stream_producer producer(po);
      for (std::size_t i = 0; i < n; ++i) producer.add(events[i]);
      producer.flush();
      entries = producer.entries();
    }
    const std::string db = server().dir + "/bench.db";
    std::filesystem::remove(db);
    std::unique_ptr<storage> store;
    if (sqlite) store = std::make_unique<sqlite_storage>(db);
    else store = std::make_unique<memory_storage>();
    auto engine = std::make_unique<tracker>(bench_tracker_options(), store.get());
    redis_stream_consumer_options co;
    co.connection = connection();
    co.streams = streams;
    co.block_ms = 5;
    redis_stream_consumer consumer(*engine, co);
    state.ResumeTiming();
    std::uint64_t read = 0;
    while (read < entries) read += consumer.poll();
    consumer.drain();
    state.PauseTiming();
    if (consumer.metrics().acked != entries) state.SkipWithError("not every entry was acknowledged");
    engine.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["entries"] = static_cast<double>(entries);
}
BENCHMARK(BM_RedisStreamConsume)
    ->Args({20'000, 0})
    ->Args({20'000, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// XADD on node A -> consumer -> tracker -> fan-out PUBLISH -> node B's
// subscriber -> broker -> client callback, for `n` new orders sent at
// `rate` per second; p50/p99/max latency in microseconds.
void BM_RedisFanoutLatency(benchmark::State& state) {
  if (!server().error.empty()) return state.SkipWithError(server().error.c_str());
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto rate = static_cast<double>(state.range(1));
  std::vector<double> latencies_us;
  for (auto _ : state) {
    const std::string prefix = unique_prefix();
    redis_stream_options streams;
    streams.stream_prefix = prefix + "events:";
    streams.partitions = 8;
    redis_fanout_channels channels{prefix + "changes:", 8};

    // Node B: a broker fed by the fan-out, a client per order.
    broker hub_b;
    redis_fanout_subscriber_options so;
    so.connection = connection();
    so.channels = channels;
    so.node = "B";
    so.cache_key_prefix = prefix + "order:";
    redis_fanout_subscriber sub_b(so, hub_b);
    std::vector<std::chrono::steady_clock::time_point> sent(n), received(n);
    std::vector<std::atomic<bool>> got(n);
    std::vector<subscription> subs;
    std::vector<event> orders;
    for (std::size_t i = 0; i < n; ++i) {
      event e;
      e.kind = event_kind::order_created;
      e.id = *id::make("LE" + std::to_string(i));
      e.time = now_ms();
      e.order = *id::make("LO" + std::to_string(i));
      e.user = *id::make("U1");
      e.warehouse = *id::make("W1");
      e.amount = 1999;
      e.origin = {116.40, 39.90};
      e.destination = {116.42, 39.91};
      e.address = "address";
      e.promised_time = e.time + 1800'000;
      orders.push_back(e);
      auto s = hub_b.subscribe(order_topic(e.order), 0, [&, i](const message_view&) {
        received[i] = std::chrono::steady_clock::now();
        got[i].store(true, std::memory_order_release);
      });
      subs.push_back(std::move(*s));
    }

    // Node A: cache + fan-out chain, a tracker, a consumer thread.
    broker hub_a;
    redis_order_cache_options cache_o;
    cache_o.connection = connection();
    cache_o.key_prefix = prefix + "order:";
    redis_order_cache cache_a(cache_o, &hub_a);
    redis_fanout_publisher_options fo;
    fo.connection = connection();
    fo.channels = channels;
    fo.node = "A";
    redis_fanout_publisher fanout_a(fo, &cache_a);
    memory_storage store;
    tracker engine(bench_tracker_options(), &store, &fanout_a);
    redis_stream_consumer_options co;
    co.connection = connection();
    co.streams = streams;
    co.block_ms = 100;
    redis_stream_consumer consumer(engine, co);
    std::atomic<bool> stop{false};
    std::thread consumer_thread([&] { consumer.run(stop); });

    redis_connection producer(connection());
    std::string json;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(
                                                static_cast<std::int64_t>(1e6 * static_cast<double>(i) / rate)));
      json.clear();
      event_to_json(orders[i], json);
      const std::string stream = event_stream_name(streams, partition_of(orders[i].order.view(), 8));
      sent[i] = std::chrono::steady_clock::now();
      producer.command({"XADD", stream, "*", "e", json});
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (std::size_t i = 0; i < n; ++i)
      while (!got[i].load(std::memory_order_acquire) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    stop.store(true);
    consumer_thread.join();
    for (std::size_t i = 0; i < n; ++i) {
      if (!got[i].load()) {
        state.SkipWithError("a change did not arrive on node B within 10 s");
        break;
      }
      latencies_us.push_back(
          std::chrono::duration<double, std::micro>(received[i] - sent[i]).count());
    }
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty()
               ? 0.0
               : latencies_us[std::min(latencies_us.size() - 1,
                                       static_cast<std::size_t>(p * static_cast<double>(latencies_us.size())))];
  };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.counters["max_us"] = latencies_us.empty() ? 0.0 : latencies_us.back();
}
BENCHMARK(BM_RedisFanoutLatency)
    ->Args({2'000, 1'000})
    ->Args({5'000, 5'000})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace xiaoxiang

BENCHMARK_MAIN();
