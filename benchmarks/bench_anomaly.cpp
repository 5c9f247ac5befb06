// bench_anomaly: per-fix cost of each detector (ns per fix, the engine calls
// them on every position), and offline stop detection on the real
// skmob_geolife_sample file (217,653 fixes, 2 tracks) in MovingPandas mode,
// beside a naive port of the same algorithm (hull rebuilt from the whole
// window on every fix, exact geodesic every time) and the streaming mode.
// The baseline, MovingPandas itself, is Python:
// benchmarks/movingpandas_stops_baseline.py times it (docs/benchmarks.md).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "xiaoxiang/anomaly/delivery_timeout.hpp"
#include "xiaoxiang/anomaly/detail/min_rect.hpp"
#include "xiaoxiang/anomaly/geodesic.hpp"
#include "xiaoxiang/anomaly/rider_silent.hpp"
#include "xiaoxiang/anomaly/route_deviation.hpp"
#include "xiaoxiang/anomaly/standstill.hpp"
#include "xiaoxiang/anomaly/stop_detector.hpp"
#include "xiaoxiang/geo/distance.hpp"

namespace {
using namespace xiaoxiang;

struct track {
  std::vector<timestamp_ms> t;
  std::vector<geo_point> p;
};

std::filesystem::path data_dir() {
  if (const char* env = std::getenv("XIAOXIANG_REAL_DATA")) return env;
  return XIAOXIANG_REAL_DATA_DIR;
}

const std::vector<track>& skmob() {
  static const std::vector<track> tracks = [] {
    std::map<std::string, track> by_id;
    std::ifstream in(data_dir() / "skmob_geolife_sample.normalized.csv");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      const auto c1 = line.find(','), c2 = line.find(',', c1 + 1), c3 = line.find(',', c2 + 1);
      track& tr = by_id[line.substr(0, c1)];
      tr.t.push_back(std::stoll(line.substr(c1 + 1, c2 - c1 - 1)));
      tr.p.push_back({std::stod(line.substr(c2 + 1, c3 - c2 - 1)), std::stod(line.substr(c3 + 1))});
    }
    std::vector<track> out;
    for (auto& [id, tr] : by_id) out.push_back(std::move(tr));
    return out;
  }();
  return tracks;
}

// The Python loop of TrajectoryStopDetector ported as written: slices, a
// box from scratch and a hull from the whole window on every fix.
std::size_t naive_stops(const track& tr, double max_d, duration_ms min_dur) {
  std::vector<timestamp_ms> ts;
  std::vector<geo_point> ps, scratch, hull;
  std::size_t stops = 0;
  bool stopped = false, previously = false;
  for (std::size_t i = 0; i < tr.t.size(); ++i) {
    if (!ts.empty() && ts.back() == tr.t[i]) continue;
    ts.push_back(tr.t[i]);
    ps.push_back(tr.p[i]);
    if (!stopped) {
      std::size_t first = 0;
      while (ts.size() - first > 2 && ts.back() - ts[first] >= min_dur) ++first;
      ts.erase(ts.begin(), ts.begin() + static_cast<std::ptrdiff_t>(first));
      ps.erase(ps.begin(), ps.begin() + static_cast<std::ptrdiff_t>(first));
    }
    double min_x = 1e9, min_y = 1e9, max_x = -1e9, max_y = -1e9;
    for (const geo_point& q : ps)
      min_x = std::min(min_x, q.lon), max_x = std::max(max_x, q.lon), min_y = std::min(min_y, q.lat),
      max_y = std::max(max_y, q.lat);
    stopped = false;
    if (ps.size() > 1 && geodesic_distance_m({min_x, min_y}, {max_x, max_y}) < 1.5 * max_d) {
      double diag = 0;
      if (ps.size() == 2) {
        diag = geodesic_distance_m(ps[0], ps[1]);
      } else {
        detail::convex_hull(ps, scratch, hull);
        diag = detail::hull_rect_diagonal_m(hull);
      }
      stopped = diag < max_d;
    }
    if (!stopped && previously && ps.size() > 1 && ts[ts.size() - 2] - ts[0] >= min_dur) {
      ++stops;
      ts.erase(ts.begin(), ts.end() - 1);
      ps.erase(ps.begin(), ps.end() - 1);
    }
    previously = stopped;
  }
  if (stopped && ts.back() - ts.front() >= min_dur) ++stops;
  return stops;
}

void report_points(benchmark::State& state, std::size_t stops) {
  std::size_t points = 0;
  for (const track& tr : skmob()) points += tr.t.size();
  state.counters["points"] = static_cast<double>(points);
  state.counters["stops"] = static_cast<double>(stops);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * points));
}

// Both modes of stop_detector over the file; arg: max diameter in metres
// (min duration 60 s).
void run_detector(benchmark::State& state, stop_mode mode) {
  stop_detector detector;
  stop_options o;
  o.max_diameter_m = static_cast<double>(state.range(0));
  o.mode = mode;
  std::size_t stops = 0;
  skmob();  // parse the file before the timing
  for (auto _ : state) {
    stops = 0;
    for (const track& tr : skmob()) {
      auto r = detector.detect(tr.t, tr.p, o);
      stops += r->size();
      benchmark::DoNotOptimize(r);
    }
  }
  report_points(state, stops);
}

void BM_AnomalyStopsMovingPandas(benchmark::State& state) { run_detector(state, stop_mode::movingpandas); }
BENCHMARK(BM_AnomalyStopsMovingPandas)->Arg(30)->Unit(benchmark::kMillisecond);

void BM_AnomalyStopsNaivePort(benchmark::State& state) {
  std::size_t stops = 0;
  skmob();
  for (auto _ : state) {
    stops = 0;
    for (const track& tr : skmob()) stops += naive_stops(tr, static_cast<double>(state.range(0)), 60'000);
    benchmark::DoNotOptimize(stops);
  }
  report_points(state, stops);
}
BENCHMARK(BM_AnomalyStopsNaivePort)->Arg(30)->Unit(benchmark::kMillisecond);

void BM_AnomalyStopsStreaming(benchmark::State& state) { run_detector(state, stop_mode::streaming); }
BENCHMARK(BM_AnomalyStopsStreaming)->Arg(30)->Unit(benchmark::kMillisecond);

// ---- per-fix cost: one order's detector fed a trip of `fixes` fixes ----

struct trip {
  std::vector<timestamp_ms> t;
  std::vector<geo_point> p;
  std::vector<double> off_route_m;
};

// A rider riding, standing, deviating: 15 s fixes with 5 m noise.
trip make_trip(std::size_t fixes) {
  trip tr;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(0, 5);
  const cheap_ruler r(39.9);
  double x = 0;
  for (std::size_t i = 0; i < fixes; ++i) {
    const std::size_t phase = (i / 40) % 3;  // ride, stand, ride off the route
    if (phase != 1) x += 75;
    tr.t.push_back(1'700'000'000'000 + static_cast<timestamp_ms>(i) * 15'000);
    tr.p.push_back({116.39 + (x + noise(rng)) / r.kx(), 39.9 + noise(rng) / r.ky()});
    tr.off_route_m.push_back(phase == 2 ? 150 + noise(rng) : std::abs(noise(rng)));
  }
  return tr;
}

void per_fix(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * state.range(0)));
  state.counters["ns_per_fix"] = benchmark::Counter(
      static_cast<double>(state.iterations() * state.range(0)),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}

void BM_AnomalyStreamingStopObserve(benchmark::State& state) {
  const trip tr = make_trip(static_cast<std::size_t>(state.range(0)));
  const streaming_stop_options o;
  for (auto _ : state) {
    streaming_stop s;
    for (std::size_t i = 0; i < tr.t.size(); ++i) benchmark::DoNotOptimize(s.observe(tr.t[i], tr.p[i], o));
  }
  per_fix(state);
}
BENCHMARK(BM_AnomalyStreamingStopObserve)->Arg(4096);

void BM_AnomalyStandstillObserve(benchmark::State& state) {
  const trip tr = make_trip(static_cast<std::size_t>(state.range(0)));
  const standstill_options o;
  for (auto _ : state) {
    standstill_detector d;
    for (std::size_t i = 0; i < tr.t.size(); ++i)
      benchmark::DoNotOptimize(d.observe(tr.t[i], tr.p[i], false, o));
  }
  per_fix(state);
}
BENCHMARK(BM_AnomalyStandstillObserve)->Arg(4096);

void BM_AnomalyRouteDeviationObserve(benchmark::State& state) {
  const trip tr = make_trip(static_cast<std::size_t>(state.range(0)));
  const route_deviation_options o;
  for (auto _ : state) {
    route_deviation_detector d;
    for (std::size_t i = 0; i < tr.t.size(); ++i)
      benchmark::DoNotOptimize(d.observe(tr.t[i], tr.off_route_m[i], o));
  }
  per_fix(state);
}
BENCHMARK(BM_AnomalyRouteDeviationObserve)->Arg(4096);

void BM_AnomalyDeliveryTimeoutObserve(benchmark::State& state) {
  const trip tr = make_trip(static_cast<std::size_t>(state.range(0)));
  const timestamp_ms promised = tr.t[tr.t.size() / 2];
  const delivery_timeout_options o;
  for (auto _ : state) {
    delivery_timeout_detector d;
    for (std::size_t i = 0; i < tr.t.size(); ++i)
      benchmark::DoNotOptimize(d.observe(tr.t[i], promised, tr.t[i] + 600'000, o));
  }
  per_fix(state);
}
BENCHMARK(BM_AnomalyDeliveryTimeoutObserve)->Arg(4096);

void BM_AnomalyRiderSilentFixAndTick(benchmark::State& state) {
  const trip tr = make_trip(static_cast<std::size_t>(state.range(0)));
  const rider_silent_options o;
  for (auto _ : state) {
    rider_silent_detector d;
    d.start(tr.t[0]);
    for (std::size_t i = 0; i < tr.t.size(); ++i) {
      benchmark::DoNotOptimize(d.on_fix(tr.t[i], tr.t[i] + 100));
      benchmark::DoNotOptimize(d.on_tick(tr.t[i] + 100, o));
    }
  }
  per_fix(state);
}
BENCHMARK(BM_AnomalyRiderSilentFixAndTick)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
