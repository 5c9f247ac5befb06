// The simulator's speed: events generated per second, against the baseline
// the issue names — the engine ingesting that same stream — so that ingest
// benchmarks measure the engine, not the generator (goal: >= 5x).
//   build/bin/bench_sim --benchmark_filter=BM_Sim
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/sim/simulation.hpp"
#include "xiaoxiang/track/tracker.hpp"

namespace {

using namespace xiaoxiang;

constexpr duration_ms kWarmupMs = 10 * 60'000;  // riders out on trips, orders in every state
constexpr duration_ms kStepMs = 100;            // a consumer's poll: ~2,000 events at 300k riders

sim_options options_for(std::int64_t riders) {
  sim_options o;
  o.riders = static_cast<int>(riders);
  // About 1,500 riders per warehouse, as many warehouses as that takes.
  o.warehouses = static_cast<int>(std::max<std::int64_t>(1, riders / 1500));
  return o;
}

// One warmed-up simulation per size, shared by the runs of a benchmark.
simulation& warmed(std::int64_t riders) {
  static std::map<std::int64_t, std::unique_ptr<simulation>> cache;
  auto& slot = cache[riders];
  if (!slot) {
    slot = std::make_unique<simulation>(options_for(riders));
    std::vector<sim_event> out;
    for (duration_ms t = 0; t < kWarmupMs; t += 1000) {
      out.clear();
      slot->step(1000, out);
    }
  }
  return *slot;
}

// Events generated per second: step 100 ms of simulated time into a reused
// vector (what a benchmark driver or the demo does).
void BM_SimGenerate(benchmark::State& state) {
  simulation& sim = warmed(state.range(0));
  std::vector<sim_event> out;
  out.reserve(8192);
  std::int64_t events = 0;
  for (auto _ : state) {
    out.clear();
    sim.step(kStepMs, out);
    events += static_cast<std::int64_t>(out.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(events);
  state.counters["events_per_sim_second"] = benchmark::Counter(
      static_cast<double>(events) / (static_cast<double>(state.iterations()) * kStepMs / 1000.0));
}
BENCHMARK(BM_SimGenerate)->ArgName("riders")->Arg(3'000)->Arg(300'000);

// Generation plus JSON lines (what `xiaoxiang sim` writes).
void BM_SimGenerateJsonl(benchmark::State& state) {
  simulation& sim = warmed(state.range(0));
  std::vector<sim_event> out;
  std::string text;
  std::int64_t events = 0;
  for (auto _ : state) {
    out.clear();
    text.clear();
    sim.step(kStepMs, out);
    for (const auto& item : out) append_jsonl(item, text);
    events += static_cast<std::int64_t>(out.size());
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(events);
}
BENCHMARK(BM_SimGenerateJsonl)->ArgName("riders")->Arg(300'000);

// Baseline: the engine ingesting the same stream (no storage, no push), its
// clock following the queue. Only ingest() is timed; the warm-up history is
// ingested untimed first so that orders and assignments exist.
void BM_SimTrackerIngestBaseline(benchmark::State& state) {
  simulation sim(options_for(state.range(0)));
  manual_clock clock(sim.now());
  tracker engine(tracker_options{}, nullptr, nullptr, &clock);
  std::vector<sim_event> out;
  const auto feed = [&] {
    for (const auto& item : out) {
      clock.set(item.delivered_at);
      benchmark::DoNotOptimize(engine.ingest(item.ev));
    }
  };
  for (duration_ms t = 0; t < kWarmupMs; t += 1000) {
    out.clear();
    sim.step(1000, out);
    feed();
  }
  std::int64_t events = 0;
  for (auto _ : state) {
    out.clear();
    sim.step(kStepMs, out);
    const auto start = std::chrono::steady_clock::now();
    feed();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    events += static_cast<std::int64_t>(out.size());
  }
  state.SetItemsProcessed(events);
}
BENCHMARK(BM_SimTrackerIngestBaseline)->ArgName("riders")->Arg(300'000)->UseManualTime();

}  // namespace
BENCHMARK_MAIN();
