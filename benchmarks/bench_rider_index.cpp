// Rider index at 100,000 riders uniformly in the Beijing box (lon 116.2..116.6,
// lat 39.8..40.1), side by side with boost::geometry::index::rtree
// (quadratic<16>, rstar<16>; points in degrees) and S2PointIndex +
// S2ClosestPointQuery. Figures and method: docs/benchmarks.md, ## rider index.
//
// Fairness notes: the peers are keyed by a dense integer (no id lookup) and
// keep each rider's current point beside them for the remove of a move; ours
// is keyed by rider id and finds everything itself. Ours returns rider ids,
// the peers return integers.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <new>
#include <numbers>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <s2/s1chord_angle.h>
#include <s2/s2closest_point_query.h>
#include <s2/s2latlng.h>
#include <s2/s2point_index.h>

#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/geo/rider_index.hpp"

// ---- heap accounting: live bytes as malloc_usable_size reports them ----------
// Only switched on while an index is built for the memory benchmark, so the
// timed loops pay one predictable branch per allocation and nothing more.
namespace {
bool g_counting = false;
std::int64_t g_live_bytes = 0;

void* counted_alloc(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  if (g_counting) g_live_bytes += static_cast<std::int64_t>(malloc_usable_size(p));
  return p;
}
void* counted_aligned_alloc(std::size_t n, std::align_val_t a) {
  const auto align = static_cast<std::size_t>(a);
  void* p = std::aligned_alloc(align, (std::max<std::size_t>(n, 1) + align - 1) / align * align);
  if (p == nullptr) throw std::bad_alloc();
  if (g_counting) g_live_bytes += static_cast<std::int64_t>(malloc_usable_size(p));
  return p;
}
void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  if (g_counting) g_live_bytes -= static_cast<std::int64_t>(malloc_usable_size(p));
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }

namespace {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;
using xiaoxiang::geo_point;

constexpr double kLon0 = 116.2, kLon1 = 116.6, kLat0 = 39.8, kLat1 = 40.1;
constexpr double kRadiusM = 3000.0;
constexpr std::size_t kK = 10;

// The fleet: ids, current positions, a stream of ~50 m moves and of query
// centres (inside the box by 3 km so every circle is full).
struct fleet {
  std::vector<xiaoxiang::rider_id> ids;
  std::vector<geo_point> pos;
  std::vector<std::pair<std::uint32_t, geo_point>> moves;  // rider, offset in degrees
  std::vector<geo_point> centres;

  explicit fleet(std::size_t n) {
    std::mt19937_64 rng(20261125);
    std::uniform_real_distribution<double> lon(kLon0, kLon1), lat(kLat0, kLat1), u(0, 1);
    for (std::size_t i = 0; i < n; ++i) {
      ids.push_back(*xiaoxiang::rider_id::make("rider-" + std::to_string(i)));
      pos.push_back({lon(rng), lat(rng)});
    }
    const xiaoxiang::cheap_ruler ruler(39.95);
    for (int i = 0; i < (1 << 16); ++i) {
      const double angle = u(rng) * 2 * std::numbers::pi;
      moves.push_back({static_cast<std::uint32_t>(rng() % n),
                       {50.0 * std::cos(angle) / ruler.kx(), 50.0 * std::sin(angle) / ruler.ky()}});
    }
    std::uniform_real_distribution<double> clon(kLon0 + 0.036, kLon1 - 0.036),
        clat(kLat0 + 0.028, kLat1 - 0.028);
    for (int i = 0; i < 4096; ++i) centres.push_back({clon(rng), clat(rng)});
  }

  // The next position of a move: bounce back into the box so the density
  // stays uniform however long the benchmark runs.
  static geo_point step(geo_point p, geo_point d) {
    geo_point q{p.lon + d.lon, p.lat + d.lat};
    if (q.lon < kLon0 || q.lon > kLon1) q.lon = p.lon - d.lon;
    if (q.lat < kLat0 || q.lat > kLat1) q.lat = p.lat - d.lat;
    return q;
  }
};

const fleet& the_fleet(std::size_t n) {
  static const fleet f(n);
  return f;
}

// ---- the contenders ---------------------------------------------------------

using bpoint = bg::model::point<double, 2, bg::cs::cartesian>;
using bbox = bg::model::box<bpoint>;
using bvalue = std::pair<bpoint, std::uint32_t>;

struct ours {
  xiaoxiang::rider_index index;
  std::vector<xiaoxiang::nearby_rider> out;

  explicit ours(const fleet& f) {
    for (std::size_t i = 0; i < f.ids.size(); ++i) (void)index.update(f.ids[i], f.pos[i]);
  }
  void move(const fleet& f, std::uint32_t i, geo_point, geo_point to) {
    benchmark::DoNotOptimize(index.update(f.ids[i], to));
  }
  std::size_t nearest(geo_point c) {
    (void)index.nearby(c, kRadiusM, kK, out);
    return out.size();
  }
  std::size_t within(geo_point c) {
    (void)index.within(c, kRadiusM, out);
    return out.size();
  }
};

// The same index answering `within` by reference (16-byte results, no id
// copied): what the rtree and S2 contenders produce too (an index and a
// distance per rider).
struct ours_by_reference : ours {
  std::vector<xiaoxiang::nearby_rider_ref> refs;
  using ours::ours;
  std::size_t within(geo_point c) {
    (void)index.within(c, kRadiusM, refs);
    return refs.size();
  }
};

// Box of the 3 km circle in degrees, from the same ruler the metric uses.
bbox circle_box(geo_point c) {
  const xiaoxiang::cheap_ruler ruler(c.lat);
  const double dlon = kRadiusM / ruler.kx() * 1.001, dlat = kRadiusM / ruler.ky() * 1.001;
  return {{c.lon - dlon, c.lat - dlat}, {c.lon + dlon, c.lat + dlat}};
}

template <class Params>
struct rtree {
  bgi::rtree<bvalue, Params> tree;
  std::vector<bvalue> hits;
  std::vector<std::pair<double, std::uint32_t>> ranked;

  explicit rtree(const fleet& f) {
    for (std::size_t i = 0; i < f.ids.size(); ++i)
      tree.insert({bpoint(f.pos[i].lon, f.pos[i].lat), static_cast<std::uint32_t>(i)});
  }
  void move(const fleet&, std::uint32_t i, geo_point from, geo_point to) {
    tree.remove(bvalue{bpoint(from.lon, from.lat), i});
    tree.insert(bvalue{bpoint(to.lon, to.lat), i});
  }
  // rtree's own kNN: the 10 nearest by degrees (not by metres), then those
  // within 3 km. Not the same answer as the others.
  std::size_t nearest_by_degrees(geo_point c) {
    hits.clear();
    tree.query(bgi::nearest(bpoint(c.lon, c.lat), kK), std::back_inserter(hits));
    const xiaoxiang::cheap_ruler ruler(c.lat);
    std::size_t n = 0;
    for (const bvalue& v : hits)
      n += ruler.distance_m(c, {bg::get<0>(v.first), bg::get<1>(v.first)}) <= kRadiusM;
    return n;
  }
  // The same answer as ours: box query, exact metric filter, partial sort.
  std::size_t filter(geo_point c) {
    hits.clear();
    ranked.clear();
    tree.query(bgi::intersects(circle_box(c)), std::back_inserter(hits));
    const xiaoxiang::cheap_ruler ruler(c.lat);
    for (const bvalue& v : hits) {
      const double d = ruler.distance_m(c, {bg::get<0>(v.first), bg::get<1>(v.first)});
      if (d <= kRadiusM) ranked.push_back({d, v.second});
    }
    return ranked.size();
  }
  std::size_t nearest(geo_point c) {
    filter(c);
    const std::size_t k = std::min(kK, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(k), ranked.end());
    return k;
  }
  std::size_t within(geo_point c) { return filter(c); }
};

S2Point to_s2(geo_point p) { return S2LatLng::FromDegrees(p.lat, p.lon).ToPoint(); }

// S2 ranks by great-circle distance on the sphere (earth_radius_m), which
// differs from the ellipsoidal metre metric by up to ~0.5%: a near-identical
// answer, not the same one.
struct s2 {
  S2PointIndex<std::uint32_t> index;
  std::vector<S2Point> points;  // each rider's current S2Point, for Remove
  S2ClosestPointQuery<std::uint32_t> knn{&index};
  S2ClosestPointQuery<std::uint32_t> all{&index};
  std::vector<S2ClosestPointQuery<std::uint32_t>::Result> results;

  explicit s2(const fleet& f) {
    for (std::size_t i = 0; i < f.ids.size(); ++i) {
      points.push_back(to_s2(f.pos[i]));
      index.Add(points.back(), static_cast<std::uint32_t>(i));
    }
    const S1ChordAngle radius(S1Angle::Radians(kRadiusM / xiaoxiang::earth_radius_m));
    knn.mutable_options()->set_max_results(static_cast<int>(kK));
    knn.mutable_options()->set_max_distance(radius);
    all.mutable_options()->set_max_distance(radius);
    knn.ReInit();
    all.ReInit();
  }
  void move(const fleet&, std::uint32_t i, geo_point, geo_point to) {
    index.Remove(points[i], i);
    points[i] = to_s2(to);
    index.Add(points[i], i);
  }
  // ReInit: a query must be re-initialised after the index changed, which a
  // live index always has.
  std::size_t nearest(geo_point c) {
    knn.ReInit();
    S2ClosestPointQuery<std::uint32_t>::PointTarget target(to_s2(c));
    knn.FindClosestPoints(&target, &results);
    return results.size();
  }
  std::size_t within(geo_point c) {
    all.ReInit();
    S2ClosestPointQuery<std::uint32_t>::PointTarget target(to_s2(c));
    all.FindClosestPoints(&target, &results);
    return results.size();
  }
};

using rtree_quadratic = rtree<bgi::quadratic<16>>;
using rtree_rstar = rtree<bgi::rstar<16>>;

// One instance of each contender per process, built on first use.
template <class T>
T& instance(std::size_t n) {
  static T* made = new T(the_fleet(n));
  return *made;
}

template <class T>
void BM_RiderIndexMove(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const fleet& f = the_fleet(n);
  T& t = instance<T>(n);
  std::vector<geo_point> pos = f.pos;  // this contender's view of where everyone is
  std::size_t j = 0;
  for (auto _ : state) {
    const auto& [i, d] = f.moves[j++ & (f.moves.size() - 1)];
    const geo_point to = fleet::step(pos[i], d);
    t.move(f, i, pos[i], to);
    pos[i] = to;
  }
  // Put everyone back so that later queries see the same fleet.
  for (std::uint32_t i = 0; i < n; ++i)
    if (pos[i] != f.pos[i]) t.move(f, i, pos[i], f.pos[i]);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// The same moves by rider_handle: the host keeps each rider's handle in its
// own per-rider record beside what it knows of the rider (here its position;
// in the tracker, the rider slot) and hands it back instead of the id, as
// the peers are handed their dense rider number.
void BM_RiderIndexMove_XiaoxiangByHandle(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const fleet& f = the_fleet(n);
  ours& t = instance<ours>(n);
  struct rider_record {
    geo_point pos;
    xiaoxiang::rider_handle handle;
  };
  std::vector<rider_record> riders;
  riders.reserve(n);
  for (std::size_t i = 0; i < n; ++i) riders.push_back({f.pos[i], *t.index.handle_of(f.ids[i])});
  std::size_t j = 0;
  for (auto _ : state) {
    const auto& [i, d] = f.moves[j++ & (f.moves.size() - 1)];
    rider_record& r = riders[i];
    const geo_point to = fleet::step(r.pos, d);
    benchmark::DoNotOptimize(t.index.update(r.handle, to));
    r.pos = to;
  }
  for (std::uint32_t i = 0; i < n; ++i)
    if (riders[i].pos != f.pos[i]) (void)t.index.update(riders[i].handle, f.pos[i]);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// The same moves handed over 64 at a time (a queue poll's worth), for
// update_many's prefetch pipeline. Time and items are per move.
void BM_RiderIndexMoveBatch64_Xiaoxiang(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const fleet& f = the_fleet(n);
  ours& t = instance<ours>(n);
  std::vector<geo_point> pos = f.pos;
  std::vector<xiaoxiang::rider_update> batch(64);
  std::size_t j = 0;
  for (auto _ : state) {
    for (auto& u : batch) {
      const auto& [i, d] = f.moves[j++ & (f.moves.size() - 1)];
      pos[i] = fleet::step(pos[i], d);
      u = {f.ids[i], pos[i]};
    }
    benchmark::DoNotOptimize(t.index.update_many(batch));
  }
  for (std::uint32_t i = 0; i < n; ++i)
    if (pos[i] != f.pos[i]) (void)t.index.update(f.ids[i], f.pos[i]);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
}

// Runs query(centre) over the centres; counts the results per query.
template <class F>
void run_queries(benchmark::State& state, F&& query) {
  const fleet& f = the_fleet(static_cast<std::size_t>(state.range(0)));
  std::size_t j = 0, found = 0;
  for (auto _ : state) {
    found += query(f.centres[j++ & (f.centres.size() - 1)]);
    benchmark::DoNotOptimize(found);
  }
  state.counters["results"] = static_cast<double>(found) / static_cast<double>(state.iterations());
}

template <class T>
void BM_RiderIndexNearest(benchmark::State& state) {
  T& t = instance<T>(static_cast<std::size_t>(state.range(0)));
  run_queries(state, [&](geo_point c) { return t.nearest(c); });
}

template <class T>
void BM_RiderIndexNearestByDegrees(benchmark::State& state) {
  T& t = instance<T>(static_cast<std::size_t>(state.range(0)));
  run_queries(state, [&](geo_point c) { return t.nearest_by_degrees(c); });
}

template <class T>
void BM_RiderIndexWithin(benchmark::State& state) {
  T& t = instance<T>(static_cast<std::size_t>(state.range(0)));
  run_queries(state, [&](geo_point c) { return t.within(c); });
}

// Heap bytes per rider of a freshly built index (riders inserted one by one,
// as a live index fills), from malloc_usable_size of every live block.
template <class T>
void BM_RiderIndexMemory(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const fleet& f = the_fleet(n);
  double per_rider = 0;
  for (auto _ : state) {
    g_live_bytes = 0;
    g_counting = true;
    auto* t = new T(f);
    g_counting = false;
    per_rider = static_cast<double>(g_live_bytes) / static_cast<double>(n);
    if constexpr (std::is_same_v<T, ours>)
      state.counters["capacity_bytes_per_rider"] =
          static_cast<double>(t->index.memory_bytes()) / static_cast<double>(n);
    g_counting = true;  // the scratch output vectors are not part of the index
    delete t;
    g_counting = false;
  }
  state.counters["heap_bytes_per_rider"] = per_rider;
}

}  // namespace

#define XX_ALL(BM)                                                               \
  BENCHMARK_TEMPLATE(BM, ours)->Name(#BM "_Xiaoxiang")->Arg(100000);             \
  BENCHMARK_TEMPLATE(BM, rtree_quadratic)->Name(#BM "_RtreeQuadratic")->Arg(100000); \
  BENCHMARK_TEMPLATE(BM, rtree_rstar)->Name(#BM "_RtreeRstar")->Arg(100000);     \
  BENCHMARK_TEMPLATE(BM, s2)->Name(#BM "_S2")->Arg(100000)

XX_ALL(BM_RiderIndexMove);
BENCHMARK(BM_RiderIndexMove_XiaoxiangByHandle)->Arg(100000);
BENCHMARK(BM_RiderIndexMoveBatch64_Xiaoxiang)->Arg(100000);
XX_ALL(BM_RiderIndexNearest);
BENCHMARK_TEMPLATE(BM_RiderIndexNearestByDegrees, rtree_quadratic)
    ->Name("BM_RiderIndexNearestByDegrees_RtreeQuadratic")
    ->Arg(100000);
BENCHMARK_TEMPLATE(BM_RiderIndexNearestByDegrees, rtree_rstar)
    ->Name("BM_RiderIndexNearestByDegrees_RtreeRstar")
    ->Arg(100000);
XX_ALL(BM_RiderIndexWithin);
BENCHMARK_TEMPLATE(BM_RiderIndexWithin, ours_by_reference)
    ->Name("BM_RiderIndexWithin_XiaoxiangByReference")
    ->Arg(100000);
XX_ALL(BM_RiderIndexMemory)->Iterations(1);

BENCHMARK_MAIN();
