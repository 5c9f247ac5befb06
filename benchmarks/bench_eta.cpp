// ETA benchmarks: the per-fix update the engine runs on every position (with
// and without a planned route), the work at assignment (timing a route) and
// learning one completed trip; beside them the naive baseline per fix
// (straight-line distance / mean speed).
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "xiaoxiang/eta/trip_eta.hpp"
#include "xiaoxiang/geo/distance.hpp"

namespace {

using namespace xiaoxiang;

constexpr timestamp_ms kT0 = 1'764'036'000'000;
const geo_point kStart{116.397, 39.908};
const cheap_ruler kRuler(39.908);

// A zig-zag street route of `vertices` points, 100 m apart (east, north, ...).
std::vector<geo_point> make_route(int vertices) {
  std::vector<geo_point> pts;
  double e = 0, n = 0;
  for (int i = 0; i < vertices; ++i) {
    pts.push_back({kStart.lon + e / kRuler.kx(), kStart.lat + n / kRuler.ky()});
    (i / 4) % 2 == 0 ? e += 100 : n += 100;
  }
  return pts;
}

// Fixes every 15 s along the route at 5 m/s, 3 m off to one side.
std::vector<position_fix> ride(const polyline& line) {
  std::vector<position_fix> fixes;
  for (double d = 0, t = 0; d <= line.length_m(); d += 75, t += 15) {
    // Walk to the point d metres along.
    std::size_t s = 0;
    while (s + 2 < line.points().size() && line.along_at(s + 1) < d) ++s;
    const double len = line.along_at(s + 1) - line.along_at(s);
    const double f = len > 0 ? std::min(1.0, (d - line.along_at(s)) / len) : 0;
    const geo_point a = line.points()[s], b = line.points()[s + 1];
    fixes.push_back({kT0 + static_cast<timestamp_ms>(t * 1000),
                     {a.lon + (b.lon - a.lon) * f, a.lat + (b.lat - a.lat) * f + 3 / kRuler.ky()}});
  }
  return fixes;
}

std::unique_ptr<eta_model> trained_model(const std::vector<geo_point>& route,
                                         const std::vector<position_fix>& fixes) {
  auto model = eta_model::make().value();
  completed_trip trip;
  trip.route = route;
  trip.fixes = fixes;
  trip.assigned_at = kT0;
  trip.delivered_at = fixes.back().time + 60'000;
  for (int i = 0; i < 20; ++i) (void)learn_trip(*model, trip);
  return model;
}

// One fix of a Delivering order as the engine does it: the hinted
// projection (its cost is the geo layer's, shown apart in bench_geo) and
// trip_eta::on_fix with learning on. Arg: route vertices.
void BM_EtaFixUpdate(benchmark::State& state) {
  const auto route_points = make_route(static_cast<int>(state.range(0)));
  const eta_route route = eta_route::make(*eta_model::make().value(), route_points, kT0).value();
  const auto fixes = ride(route.line());
  auto model = trained_model(route_points, fixes);
  trip_eta eta;
  std::size_t i = 0;
  projection_hint hint;
  for (auto _ : state) {
    if (i == fixes.size()) {
      // A new trip on the same route: start_delivery is O(1), no allocation.
      (void)eta.start_delivery(*model, kT0, &route, {}, {});
      i = 0;
      hint = {};
    }
    const polyline_projection p = route.line().project(fixes[i].point, hint);
    hint.segment = p.segment >= 2 ? p.segment - 2 : 0;
    benchmark::DoNotOptimize(eta.on_fix(*model, fixes[i].time, fixes[i].point, &route, &p));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EtaFixUpdate)->Arg(50)->Arg(500);

// trip_eta::on_fix alone, the projections computed beforehand: the ETA's
// own share of a fix. Arg: route vertices.
void BM_EtaOnFixOnly(benchmark::State& state) {
  const auto route_points = make_route(static_cast<int>(state.range(0)));
  const eta_route route = eta_route::make(*eta_model::make().value(), route_points, kT0).value();
  const auto fixes = ride(route.line());
  std::vector<polyline_projection> projections;
  for (const position_fix& f : fixes) projections.push_back(route.line().project(f.point));
  auto model = trained_model(route_points, fixes);
  trip_eta eta;
  std::size_t i = fixes.size();
  for (auto _ : state) {
    if (i == fixes.size()) {
      (void)eta.start_delivery(*model, kT0, &route, {}, {});
      i = 0;
    }
    benchmark::DoNotOptimize(eta.on_fix(*model, fixes[i].time, fixes[i].point, &route, &projections[i]));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EtaOnFixOnly)->Arg(50)->Arg(500);

// The same without a route: straight line x detour at up to 8 cells' speeds.
void BM_EtaFixUpdateNoRoute(benchmark::State& state) {
  const auto route_points = make_route(static_cast<int>(state.range(0)));
  const auto line = polyline::make(route_points).value();
  const auto fixes = ride(line);
  auto model = trained_model(route_points, fixes);
  trip_eta eta;
  std::size_t i = fixes.size();
  for (auto _ : state) {
    if (i == fixes.size()) {
      (void)eta.start_delivery(*model, kT0, nullptr, route_points.front(), route_points.back());
      i = 0;
    }
    benchmark::DoNotOptimize(eta.on_fix(*model, fixes[i].time, fixes[i].point, nullptr, nullptr));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EtaFixUpdateNoRoute)->Arg(50);

// The naive baseline per fix: straight-line distance / mean speed.
void BM_EtaBaselineFix(benchmark::State& state) {
  const auto route_points = make_route(static_cast<int>(state.range(0)));
  const auto fixes = ride(polyline::make(route_points).value());
  const geo_point dest = route_points.back();
  const double mean_speed_mps = 4.7;
  std::size_t i = 0;
  for (auto _ : state) {
    if (i == fixes.size()) i = 0;
    benchmark::DoNotOptimize(haversine_m(fixes[i].point, dest) / mean_speed_mps);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EtaBaselineFix)->Arg(50);

// At assignment: timing a route of N vertices (one cell lookup per 100 m).
void BM_EtaRouteBuild(benchmark::State& state) {
  const auto route_points = make_route(static_cast<int>(state.range(0)));
  const auto fixes = ride(polyline::make(route_points).value());
  auto model = trained_model(route_points, fixes);
  for (auto _ : state) benchmark::DoNotOptimize(eta_route::make(*model, route_points, kT0));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EtaRouteBuild)->Arg(50)->Arg(500);

// Learning one completed trip of N route vertices (offline, learn_trip: the
// route timed, every fix replayed with learning on, the delivery learned).
void BM_EtaLearnTrip(benchmark::State& state) {
  const auto route_points = make_route(static_cast<int>(state.range(0)));
  const auto fixes = ride(polyline::make(route_points).value());
  auto model = eta_model::make().value();
  completed_trip trip;
  trip.route = route_points;
  trip.fixes = fixes;
  trip.assigned_at = kT0;
  trip.delivered_at = fixes.back().time + 60'000;
  for (auto _ : state) benchmark::DoNotOptimize(learn_trip(*model, trip));
  state.SetItemsProcessed(state.iterations());
  state.counters["fixes"] = static_cast<double>(fixes.size());
}
BENCHMARK(BM_EtaLearnTrip)->Arg(50)->Arg(500);

}  // namespace

BENCHMARK_MAIN();
