// Geo layer speed, side by side with its baselines on the same 1,000,000
// random Beijing points (lon 116.2..116.6, lat 39.8..40.1):
//   GeoHash encode / decode  vs GeographicLib::Geohash::Forward / Reverse
//   haversine_m              vs boost::geometry::strategy::distance::haversine
//   cheap_ruler              vs haversine_m
//   polyline::project on a 200-vertex route (whole scan and hinted).
#include <GeographicLib/Geohash.hpp>
#include <benchmark/benchmark.h>

#include <boost/geometry.hpp>
#include <random>
#include <string>
#include <vector>

#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/geo/geohash.hpp"
#include "xiaoxiang/geo/polyline.hpp"

namespace {

using namespace xiaoxiang;
namespace bg = boost::geometry;
using spherical_point = bg::model::point<double, 2, bg::cs::spherical_equatorial<bg::degree>>;

constexpr std::size_t kPoints = 1'000'000;

const std::vector<geo_point>& beijing_points() {
  static const std::vector<geo_point> points = [] {
    std::mt19937_64 rng(20240601);
    std::uniform_real_distribution<double> lon(116.2, 116.6), lat(39.8, 40.1);
    std::vector<geo_point> v(kPoints);
    for (auto& p : v) p = {lon(rng), lat(rng)};
    return v;
  }();
  return points;
}

const std::vector<geohash>& beijing_hashes() {
  static const std::vector<geohash> hashes = [] {
    std::vector<geohash> v;
    v.reserve(kPoints);
    for (const auto& p : beijing_points()) v.push_back(*point_to_geohash(p, 12));
    return v;
  }();
  return hashes;
}

const std::vector<std::string>& beijing_hash_strings() {
  static const std::vector<std::string> strings = [] {
    std::vector<std::string> v;
    v.reserve(kPoints);
    for (const auto& h : beijing_hashes()) v.push_back(h.str());
    return v;
  }();
  return strings;
}

// Cycles through the first `n` items, one per iteration.
struct cursor {
  std::size_t i = 0, n;
  explicit cursor(std::size_t count) : n(count) {}
  std::size_t next() {
    const std::size_t k = i;
    if (++i == n) i = 0;
    return k;
  }
};

void BM_GeoGeohashEncode(benchmark::State& state) {
  const auto& points = beijing_points();
  cursor c(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto h = point_to_geohash(points[c.next()], 12);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_GeoGeohashEncode)->Arg(kPoints);

// The bulk form over columns of coordinates (what the NumPy binding calls),
// per point: the same work without a call per point.
void BM_GeoGeohashEncodeMany(benchmark::State& state) {
  const auto& points = beijing_points();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<double> lon(n), lat(n);
  for (std::size_t i = 0; i < n; ++i) {
    lon[i] = points[i].lon;
    lat[i] = points[i].lat;
  }
  std::vector<geohash> out(n);
  for (auto _ : state) {
    auto refused = points_to_geohashes(lon, lat, 12, out);
    benchmark::DoNotOptimize(refused);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_GeoGeohashEncodeMany)->Arg(1024)->Arg(kPoints);

void BM_GeoGeographicLibForward(benchmark::State& state) {
  const auto& points = beijing_points();
  cursor c(static_cast<std::size_t>(state.range(0)));
  std::string out;  // reused: GeographicLib's best case
  for (auto _ : state) {
    const geo_point& p = points[c.next()];
    GeographicLib::Geohash::Forward(p.lat, p.lon, 12, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_GeoGeographicLibForward)->Arg(kPoints);

void BM_GeoGeohashIntEncode(benchmark::State& state) {
  const auto& points = beijing_points();
  cursor c(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto h = point_to_geohash_int(points[c.next()], 60);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_GeoGeohashIntEncode)->Arg(kPoints);

void BM_GeoGeohashDecode(benchmark::State& state) {
  const auto& hashes = beijing_hashes();
  cursor c(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto cell = decode_geohash(hashes[c.next()].view());
    benchmark::DoNotOptimize(cell);
  }
}
BENCHMARK(BM_GeoGeohashDecode)->Arg(kPoints);

void BM_GeoGeographicLibReverse(benchmark::State& state) {
  const auto& strings = beijing_hash_strings();
  cursor c(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    double lat = 0, lon = 0;
    int len = 0;
    GeographicLib::Geohash::Reverse(strings[c.next()], lat, lon, len, true);
    benchmark::DoNotOptimize(lat);
    benchmark::DoNotOptimize(lon);
  }
}
BENCHMARK(BM_GeoGeographicLibReverse)->Arg(kPoints);

void BM_GeoHaversine(benchmark::State& state) {
  const auto& points = beijing_points();
  cursor c(static_cast<std::size_t>(state.range(0)) - 1);
  for (auto _ : state) {
    const std::size_t i = c.next();
    benchmark::DoNotOptimize(haversine_m(points[i], points[i + 1]));
  }
}
BENCHMARK(BM_GeoHaversine)->Arg(kPoints);

void BM_GeoBoostHaversine(benchmark::State& state) {
  static const std::vector<spherical_point> points = [] {
    std::vector<spherical_point> v;
    v.reserve(kPoints);
    for (const auto& p : beijing_points()) v.emplace_back(p.lon, p.lat);
    return v;
  }();
  const bg::strategy::distance::haversine<double> strategy(earth_radius_m);
  cursor c(static_cast<std::size_t>(state.range(0)) - 1);
  for (auto _ : state) {
    const std::size_t i = c.next();
    benchmark::DoNotOptimize(bg::distance(points[i], points[i + 1], strategy));
  }
}
BENCHMARK(BM_GeoBoostHaversine)->Arg(kPoints);

void BM_GeoCheapRuler(benchmark::State& state) {
  const auto& points = beijing_points();
  const cheap_ruler ruler(39.95);
  cursor c(static_cast<std::size_t>(state.range(0)) - 1);
  for (auto _ : state) {
    const std::size_t i = c.next();
    benchmark::DoNotOptimize(ruler.distance_m(points[i], points[i + 1]));
  }
}
BENCHMARK(BM_GeoCheapRuler)->Arg(kPoints);

// A 200-vertex route through the Beijing box: a random walk heading east.
polyline beijing_route(std::size_t vertices) {
  std::mt19937_64 rng(77);
  std::normal_distribution<double> turn(0.0, 0.5);
  const cheap_ruler ruler(39.95);
  std::vector<geo_point> points{{116.25, 39.95}};
  double heading = 1.57;
  for (std::size_t i = 1; i < vertices; ++i) {
    heading = std::clamp(heading + turn(rng), 0.3, 2.8);
    const geo_point last = points.back();
    points.push_back({last.lon + 100 * std::sin(heading) / ruler.kx(),
                      last.lat + 100 * std::cos(heading) / ruler.ky()});
  }
  return *polyline::make(std::move(points));
}

void BM_GeoPolylineProject(benchmark::State& state) {
  const polyline route = beijing_route(static_cast<std::size_t>(state.range(0)));
  const auto& points = beijing_points();
  cursor c(kPoints);
  for (auto _ : state) {
    auto r = route.project(points[c.next()]);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_GeoPolylineProject)->Arg(200);

void BM_GeoBoostPointToLinestring(benchmark::State& state) {
  // The same work in Boost.Geometry: distance from a point to a cartesian
  // linestring in the same local metres (distance only, no progress).
  using xy = bg::model::d2::point_xy<double>;
  const polyline route = beijing_route(static_cast<std::size_t>(state.range(0)));
  const geo_point o = route.points().front();
  const double kx = route.ruler().kx(), ky = route.ruler().ky();
  bg::model::linestring<xy> line;
  for (const auto& p : route.points()) line.emplace_back((p.lon - o.lon) * kx, (p.lat - o.lat) * ky);
  const auto& points = beijing_points();
  cursor c(kPoints);
  for (auto _ : state) {
    const geo_point& p = points[c.next()];
    benchmark::DoNotOptimize(bg::distance(xy((p.lon - o.lon) * kx, (p.lat - o.lat) * ky), line));
  }
}
BENCHMARK(BM_GeoBoostPointToLinestring)->Arg(200);

void BM_GeoPolylineProjectHinted(benchmark::State& state) {
  // A rider advancing along the route: each fix 25 m further, the previous
  // segment passed back as the hint.
  const polyline route = beijing_route(static_cast<std::size_t>(state.range(0)));
  std::vector<geo_point> fixes;
  for (std::size_t i = 0; i + 1 < route.points().size(); ++i)
    for (int k = 0; k < 4; ++k) {
      const geo_point a = route.points()[i], b = route.points()[i + 1];
      fixes.push_back({a.lon + (b.lon - a.lon) * k / 4 + 2e-5, a.lat + (b.lat - a.lat) * k / 4});
    }
  cursor c(fixes.size());
  projection_hint hint;
  for (auto _ : state) {
    const std::size_t i = c.next();
    if (i == 0) hint.segment = 0;
    const auto r = route.project(fixes[i], hint);
    hint.segment = r.segment;
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_GeoPolylineProjectHinted)->Arg(200);

void BM_GeoCover(benchmark::State& state) {
  // Cells of 30 bits (about 0.94 km x 0.61 km here) covering a 3 km circle.
  std::vector<geohash_int> out;
  out.reserve(1024);
  const auto& points = beijing_points();
  cursor c(kPoints);
  for (auto _ : state) {
    out.clear();
    auto n = cover(points[c.next()], static_cast<double>(state.range(0)), 30, out);
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_GeoCover)->Arg(3000);

}  // namespace

BENCHMARK_MAIN();
