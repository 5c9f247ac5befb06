#include "xiaoxiang/geo/rider_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/geo/geohash.hpp"

namespace xiaoxiang {
namespace {

rider_id rid(const std::string& s) { return *rider_id::make(s, "riderId"); }

// Brute force over every rider with the metric the index documents.
class oracle {
 public:
  void update(const rider_id& r, geo_point p) { pos_[r] = rider_index::stored_position(p); }
  bool remove(const rider_id& r) { return pos_.erase(r) == 1; }
  const std::map<rider_id, geo_point>& positions() const { return pos_; }

  std::vector<nearby_rider> within(geo_point c, double radius) const {
    const cheap_ruler ruler(c.lat);
    std::vector<nearby_rider> out;
    for (const auto& [r, p] : pos_) {
      const double d = ruler.distance_m(c, p);
      if (d <= radius) out.push_back({r, d});
    }
    std::sort(out.begin(), out.end(), by_rank);
    return out;
  }
  std::vector<nearby_rider> nearby(geo_point c, double radius, std::size_t k) const {
    auto all = within(c, radius);
    if (all.size() > k) all.resize(k);
    return all;
  }
  static bool by_rank(const nearby_rider& a, const nearby_rider& b) {
    return a.distance_m < b.distance_m || (a.distance_m == b.distance_m && a.rider < b.rider);
  }

 private:
  std::map<rider_id, geo_point> pos_;
};

// A region of the globe the randomized test places riders and queries in.
struct region {
  const char* name;
  double lon0, lon1, lat0, lat1;  // lon1 < lon0 means the box crosses the antimeridian
  double max_radius_m;
  int cell_bits;
  int riders;
};

double wrap_lon(double lon) {
  if (lon > 180.0) lon -= 360.0;
  if (lon < -180.0) lon += 360.0;
  return lon;
}

void run_against_oracle(const region& g, std::uint64_t seed) {
  SCOPED_TRACE(std::string(g.name) + " seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  rider_index index(rider_index_options{g.cell_bits});
  oracle ref;
  const int lon_bits = (g.cell_bits + 1) / 2;
  const int lat_bits = g.cell_bits / 2;
  const double cw = 360.0 / std::ldexp(1.0, lon_bits);
  const double ch = 180.0 / std::ldexp(1.0, lat_bits);
  const double lon_span = g.lon1 >= g.lon0 ? g.lon1 - g.lon0 : g.lon1 + 360.0 - g.lon0;

  auto random_point = [&]() {
    geo_point p{wrap_lon(g.lon0 + u01(rng) * lon_span), g.lat0 + u01(rng) * (g.lat1 - g.lat0)};
    const double snap = u01(rng);
    // Riders exactly on cell borders (of the grid and of coarser cells), and
    // on the antimeridian and the poles.
    if (snap < 0.15) p.lon = std::round((p.lon + 180.0) / cw) * cw - 180.0;
    if (snap > 0.1 && snap < 0.25) p.lat = std::round((p.lat + 90.0) / ch) * ch - 90.0;
    if (snap > 0.25 && snap < 0.3) p.lon = std::round((p.lon + 180.0) / (cw * 16)) * cw * 16 - 180.0;
    p.lon = std::clamp(p.lon, -180.0, 180.0);
    p.lat = std::clamp(p.lat, -90.0, 90.0);
    if (g.lon1 < g.lon0 && u01(rng) < 0.05) p.lon = u01(rng) < 0.5 ? 180.0 : -180.0;
    if ((g.lat1 >= 90.0 || g.lat0 <= -90.0) && u01(rng) < 0.05) p.lat = g.lat1 >= 90.0 ? 90.0 : -90.0;
    return p;
  };
  std::vector<rider_id> ids;
  for (int i = 0; i < g.riders * 2; ++i) ids.push_back(rid("r" + std::to_string(i)));
  auto any_rider_pos = [&]() -> geo_point {
    auto it = ref.positions().begin();
    std::advance(it, static_cast<long>(rng() % ref.positions().size()));
    return it->second;
  };

  std::vector<nearby_rider> got;
  std::vector<nearby_rider_ref> got_refs;
  // Each rider's handle, which must stay the same from its first update to
  // its removal however it moves, and be refused after.
  std::map<rider_id, rider_handle> handles;
  int queries = 0;
  for (int step = 0; step < g.riders * 5; ++step) {
    const double op = u01(rng);
    const rider_id& r = ids[rng() % ids.size()];
    if (op < 0.55) {
      geo_point p = random_point();
      if (!ref.positions().empty() && u01(rng) < 0.1) p = any_rider_pos();  // ties
      const auto old = index.position(r);
      if (old.ok() && u01(rng) < 0.5) {
        // A move of a few tens of metres, as riders report every 15 s.
        p = {wrap_lon(old->lon + (u01(rng) - 0.5) * 1e-3), std::clamp(old->lat + (u01(rng) - 0.5) * 1e-3, -90.0, 90.0)};
      }
      const auto known = handles.find(r);
      if (known != handles.end() && u01(rng) < 0.5) {
        ASSERT_TRUE(index.update(known->second, p).ok());
      } else {
        ASSERT_TRUE(index.update(r, p).ok());
      }
      const auto h = index.handle_of(r);
      ASSERT_TRUE(h.ok());
      if (known != handles.end()) {
        ASSERT_EQ(*h, known->second);
      }
      handles[r] = *h;
      ref.update(r, p);
    } else if (op < 0.7) {
      const bool known = ref.remove(r);
      const status_result st = index.remove(r);
      ASSERT_EQ(st.ok(), known);
      if (!known) {
        EXPECT_EQ(st.code, errc::unknown_rider);
        EXPECT_STREQ(st.field, "riderId");
      } else {
        const rider_handle old = handles[r];
        handles.erase(r);
        const status_result stale = index.update(old, random_point());
        EXPECT_EQ(stale.code, errc::unknown_rider);
        EXPECT_STREQ(stale.field, "riderId");
      }
    } else {
      ++queries;
      geo_point c = random_point();
      const double pick = u01(rng);
      if (!ref.positions().empty() && pick < 0.3) c = any_rider_pos();
      if (pick > 0.9) {  // a cell corner
        c.lon = std::clamp(std::round((c.lon + 180.0) / cw) * cw - 180.0, -180.0, 180.0);
        c.lat = std::clamp(std::round((c.lat + 90.0) / ch) * ch - 90.0, -90.0, 90.0);
      }
      double radius = u01(rng) * g.max_radius_m;
      if (u01(rng) < 0.05) radius = 0;
      if (!ref.positions().empty() && u01(rng) < 0.2) {
        // Exactly the distance of some rider: inclusive bound, ties at the edge.
        radius = std::min(g.max_radius_m, cheap_ruler(c.lat).distance_m(c, any_rider_pos()));
      }
      const double kpick = u01(rng);  // small k, typical k, and k above the stack buffer (64)
      const std::size_t k = kpick < 0.2 ? 1 + rng() % 3 : kpick < 0.9 ? 1 + rng() % 40 : 50 + rng() % 100;
      ASSERT_TRUE(index.nearby(c, radius, k, got).ok());
      const auto want = ref.nearby(c, radius, k);
      ASSERT_EQ(got, want) << "nearby lon=" << c.lon << " lat=" << c.lat << " r=" << radius
                           << " k=" << k;
      ASSERT_TRUE(index.within(c, radius, got).ok());
      // By reference: the same riders in the same order, pointing at the
      // index's own ids.
      ASSERT_TRUE(index.within(c, radius, got_refs).ok());
      ASSERT_EQ(got_refs.size(), got.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(*got_refs[i].rider, got[i].rider);
        ASSERT_EQ(got_refs[i].distance_m, got[i].distance_m);
      }
      std::sort(got.begin(), got.end(), oracle::by_rank);
      ASSERT_EQ(got, ref.within(c, radius)) << "within lon=" << c.lon << " lat=" << c.lat
                                            << " r=" << radius;
    }
    ASSERT_EQ(index.size(), ref.positions().size());
  }
  EXPECT_GT(queries, g.riders);
  for (const auto& [r, p] : ref.positions()) {
    const auto pos = index.position(r);
    ASSERT_TRUE(pos.ok());
    ASSERT_EQ(*pos, p);
  }
  // Per-cell counts agree with point_to_geohash_int on the stored positions,
  // at the grid's bit count and coarser and finer ones.
  for (const int bits : {1, 2, 7, 20, g.cell_bits - 1, g.cell_bits, g.cell_bits + 1, 45, 60}) {
    std::map<std::uint64_t, std::size_t> want;
    for (const auto& [r, p] : ref.positions()) ++want[point_to_geohash_int(p, bits)->bits];
    std::vector<cell_count> counts;
    ASSERT_TRUE(index.cell_counts(bits, counts).ok());
    ASSERT_EQ(counts.size(), want.size()) << "bits " << bits;
    std::size_t i = 0;
    for (const auto& [cell, n] : want) {
      ASSERT_EQ(counts[i].cell, (geohash_int{cell, bits})) << "bits " << bits;
      ASSERT_EQ(counts[i].count, n) << "bits " << bits;
      const auto one = index.count_in_cell({cell, bits});
      ASSERT_TRUE(one.ok());
      ASSERT_EQ(*one, n) << "bits " << bits;
      ++i;
    }
  }
}

TEST(RiderIndex, MatchesBruteForceInBeijing) {
  run_against_oracle({"beijing", 116.2, 116.6, 39.8, 40.1, 5000, 33, 800}, 1);
  run_against_oracle({"beijing dense", 116.38, 116.42, 39.89, 39.92, 3000, 33, 800}, 2);
}

TEST(RiderIndex, MatchesBruteForceAcrossTheAntimeridian) {
  run_against_oracle({"antimeridian", 179.96, -179.96, -17.0, -16.96, 8000, 33, 500}, 3);
}

TEST(RiderIndex, MatchesBruteForceNearThePoles) {
  run_against_oracle({"north pole", -180.0, 180.0, 89.9, 90.0, 20000, 33, 350}, 4);
  run_against_oracle({"south pole", -180.0, 180.0, -90.0, -89.95, 20000, 33, 350}, 5);
}

TEST(RiderIndex, MatchesBruteForceAtOtherCellSizes) {
  run_against_oracle({"coarse grid", 116.2, 116.6, 39.8, 40.1, 8000, 20, 400}, 6);
  run_against_oracle({"fine grid", 116.3, 116.5, 39.85, 40.0, 8000, 40, 400}, 7);
  // Sparse riders across a whole continent with the largest radius: the
  // tile walk and the ring budget take over from the ring search.
  run_against_oracle({"sparse", 100.0, 120.0, 20.0, 45.0, rider_index_max_radius_m, 33, 300}, 8);
  run_against_oracle({"equator", -0.05, 0.05, -0.05, 0.05, 5000, 31, 400}, 9);
}

TEST(RiderIndex, GridCellsFollowGeohashBorderConventions) {
  // Points exactly on borders belong to the upper / eastern cell; lon 180 is
  // lon -180; lat 90 is in the top row (GeographicLib, as geohash.hpp).
  rider_index index;
  const double cw = 360.0 / std::ldexp(1.0, 17);
  const double ch = 180.0 / std::ldexp(1.0, 16);
  const std::vector<geo_point> points = {
      {116.0 + 0 * cw, 40.0},  {-180.0 + 123456 * cw, -90.0 + 45678 * ch},
      {180.0, 0.0},            {-180.0, 0.0},
      {0.0, 90.0},             {0.0, -90.0},
      {180.0, 90.0},           {-180.0 + cw, 90.0 - ch},
      {-0.0, -0.0},            {179.99999999, 89.99999999},
  };
  for (std::size_t i = 0; i < points.size(); ++i) {
    const rider_id r = rid("b" + std::to_string(i));
    ASSERT_TRUE(index.update(r, points[i]).ok());
    const geo_point p = *index.position(r);
    EXPECT_NEAR(p.lon, points[i].lon, 0.6 / 8388608.0);
    EXPECT_NEAR(p.lat, points[i].lat, 0.6 / 8388608.0);
    for (const int bits : {5, 32, 33, 34, 60}) {
      const auto h = point_to_geohash_int(p, bits);
      ASSERT_TRUE(h.ok());
      EXPECT_GE(*index.count_in_cell(*h), 1u) << i << " bits " << bits;
    }
  }
  // Border values of the grid survive the fixed point exactly.
  EXPECT_EQ(rider_index::stored_position({-180.0 + 123456 * cw, -90.0 + 45678 * ch}),
            (geo_point{-180.0 + 123456 * cw, -90.0 + 45678 * ch}));
}

TEST(RiderIndex, EmptyIndexAndKLargerThanCount) {
  rider_index index;
  std::vector<nearby_rider> out(3);
  ASSERT_TRUE(index.nearby({116.4, 39.9}, 3000, 10, out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(index.within({116.4, 39.9}, 3000, out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(*index.count_in_cell({0, 1}), 0u);
  std::vector<cell_count> counts(2);
  ASSERT_TRUE(index.cell_counts(33, counts).ok());
  EXPECT_TRUE(counts.empty());

  ASSERT_TRUE(index.update(rid("a"), {116.4001, 39.9}).ok());
  ASSERT_TRUE(index.update(rid("b"), {116.4, 39.9001}).ok());
  ASSERT_TRUE(index.nearby({116.4, 39.9}, 3000, 100, out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].rider, rid("a"));  // 0.0001 deg of lon is shorter than of lat
  EXPECT_LT(out[0].distance_m, out[1].distance_m);
  EXPECT_NEAR(out[1].distance_m, 11.1, 0.1);
}

TEST(RiderIndex, TiesAreBrokenByRiderId) {
  rider_index index;
  for (const char* name : {"d", "b", "e", "a", "c"}) ASSERT_TRUE(index.update(rid(name), {116.4, 39.9}).ok());
  ASSERT_TRUE(index.update(rid("z"), {116.4, 39.9}).ok());
  std::vector<nearby_rider> out;
  ASSERT_TRUE(index.nearby({116.41, 39.9}, 3000, 3, out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].rider, rid("a"));
  EXPECT_EQ(out[1].rider, rid("b"));
  EXPECT_EQ(out[2].rider, rid("c"));
  EXPECT_EQ(out[0].distance_m, out[2].distance_m);
}

TEST(RiderIndex, UpdateMoveRemoveAndClear) {
  rider_index index;
  ASSERT_TRUE(index.update(rid("r1"), {116.40, 39.90}).ok());
  ASSERT_TRUE(index.update(rid("r2"), {116.41, 39.91}).ok());
  EXPECT_EQ(index.size(), 2u);
  EXPECT_TRUE(index.contains(rid("r1")));
  // A move across many cells and one within a cell.
  ASSERT_TRUE(index.update(rid("r1"), {116.50, 40.00}).ok());
  ASSERT_TRUE(index.update(rid("r1"), {116.50001, 40.00001}).ok());
  EXPECT_EQ(*index.position(rid("r1")), rider_index::stored_position({116.50001, 40.00001}));
  EXPECT_EQ(index.size(), 2u);
  ASSERT_TRUE(index.remove(rid("r1")).ok());
  EXPECT_FALSE(index.contains(rid("r1")));
  EXPECT_EQ(index.size(), 1u);
  ASSERT_TRUE(index.update(rid("r1"), {116.40, 39.90}).ok());  // the freed slot is reused
  EXPECT_EQ(index.size(), 2u);
  index.clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.contains(rid("r2")));
  ASSERT_TRUE(index.update(rid("r2"), {116.40, 39.90}).ok());
  EXPECT_EQ(index.size(), 1u);
  rider_index moved = std::move(index);
  EXPECT_TRUE(moved.contains(rid("r2")));
}

TEST(RiderIndex, StoredPositionRoundsToTheNearestUnitHalvesAwayFromZero) {
  // The index rounds without libm; it must agree with llround(deg * 2^23)
  // everywhere, halves (ties) and the ends of the range included.
  const double unit = std::ldexp(1.0, -23);
  auto want = [&](double deg) { return static_cast<double>(std::llround(deg * 8388608.0)) * unit; };
  std::vector<double> degs = {0.0, -0.0, 180.0, -180.0, 90.0, -90.0, unit / 2, -unit / 2,
                              unit * 2.5, -unit * 2.5, 116.4 + unit / 2, -116.4 - unit / 2,
                              std::nextafter(unit / 2, 0.0), std::nextafter(-unit / 2, 0.0),
                              std::nextafter(180.0, 0.0), 179.99999994039536};
  std::mt19937_64 rng(21);
  std::uniform_real_distribution<double> any(-180.0, 180.0);
  for (int i = 0; i < 100000; ++i) degs.push_back(any(rng));
  for (int i = 0; i < 1000; ++i)  // exact halves of a unit
    degs.push_back((static_cast<double>(static_cast<std::int64_t>(rng() % 3000000000u) - 1500000000) + 0.5) * unit);
  for (const double lon : degs) {
    const double lat = std::clamp(lon / 2, -90.0, 90.0);
    const geo_point got = rider_index::stored_position({lon, lat});
    ASSERT_EQ(got.lon, want(lon)) << std::hexfloat << lon;
    ASSERT_EQ(got.lat, want(lat)) << std::hexfloat << lat;
  }
}

TEST(RiderIndex, HandlesMoveTheirRiderAndAreRefusedOnceRemoved) {
  rider_index index;
  ASSERT_TRUE(index.update(rid("r1"), {116.40, 39.90}).ok());
  ASSERT_TRUE(index.update(rid("r2"), {116.41, 39.91}).ok());
  const rider_handle h1 = *index.handle_of(rid("r1"));
  const rider_handle h2 = *index.handle_of(rid("r2"));
  EXPECT_TRUE(h1.valid());
  EXPECT_NE(h1, h2);
  // Within a cell, across cells and tiles; the handle stays the rider's.
  ASSERT_TRUE(index.update(h1, {116.40001, 39.90001}).ok());
  EXPECT_EQ(*index.position(rid("r1")), rider_index::stored_position({116.40001, 39.90001}));
  ASSERT_TRUE(index.update(h1, {116.55, 40.05}).ok());
  EXPECT_EQ(*index.position(rid("r1")), rider_index::stored_position({116.55, 40.05}));
  EXPECT_EQ(*index.handle_of(rid("r1")), h1);
  EXPECT_EQ(*index.position(rid("r2")), rider_index::stored_position({116.41, 39.91}));
  // r2 moves into r1's cell and r1 leaves it again: the cell moves r2
  // inside its block, and r2's handle follows.
  ASSERT_TRUE(index.update(h2, {116.55001, 40.05001}).ok());
  ASSERT_TRUE(index.update(h1, {116.30, 39.85}).ok());
  ASSERT_TRUE(index.update(h2, {116.55002, 40.05002}).ok());
  EXPECT_EQ(*index.position(rid("r2")), rider_index::stored_position({116.55002, 40.05002}));
  std::vector<nearby_rider> out;
  ASSERT_TRUE(index.within({116.55, 40.05}, 50, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rider, rid("r2"));

  // Removed: the handle is refused, even once its slot is taken again.
  ASSERT_TRUE(index.remove(rid("r1")).ok());
  auto refused = [](const status_result& st) {
    EXPECT_EQ(st.code, errc::unknown_rider);
    EXPECT_STREQ(st.field, "riderId");
  };
  refused(index.update(h1, {116.40, 39.90}));
  ASSERT_TRUE(index.update(rid("r3"), {116.42, 39.92}).ok());
  const rider_handle h3 = *index.handle_of(rid("r3"));
  EXPECT_NE(h3, h1);
  refused(index.update(h1, {116.40, 39.90}));
  EXPECT_EQ(*index.position(rid("r3")), rider_index::stored_position({116.42, 39.92}));
  EXPECT_EQ(index.size(), 2u);
  // Never issued, and out of range.
  refused(index.update(rider_handle{}, {116.40, 39.90}));
  refused(index.update(rider_handle{12345}, {116.40, 39.90}));
  // A bad point through a good handle: the index is unchanged.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(index.update(h3, {nan, 39.9}).code, errc::invalid_longitude);
  EXPECT_STREQ(index.update(h3, {116.4, 95.0}).field, "lat");
  EXPECT_EQ(*index.position(rid("r3")), rider_index::stored_position({116.42, 39.92}));
  const auto nobody = index.handle_of(rid("nobody"));
  EXPECT_EQ(nobody.error(), errc::unknown_rider);
  EXPECT_STREQ(nobody.field(), "riderId");
  // clear() retires every handle.
  index.clear();
  refused(index.update(h2, {116.40, 39.90}));
  refused(index.update(h3, {116.40, 39.90}));
  ASSERT_TRUE(index.update(rid("r2"), {116.41, 39.91}).ok());
  EXPECT_NE(*index.handle_of(rid("r2")), h2);
  EXPECT_EQ(index.size(), 1u);
}

TEST(RiderIndex, ErrorPathsNameTheirField) {
  rider_index index;
  ASSERT_TRUE(index.update(rid("r1"), {116.4, 39.9}).ok());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto expect = [](const status_result& st, errc code, const char* field) {
    EXPECT_EQ(st.code, code);
    ASSERT_NE(st.field, nullptr);
    EXPECT_STREQ(st.field, field);
  };
  expect(index.update(rider_id{}, {116.4, 39.9}), errc::empty_id, "riderId");
  expect(index.update(rid("r1"), {nan, 39.9}), errc::invalid_longitude, "lon");
  expect(index.update(rid("r1"), {180.5, 39.9}), errc::invalid_longitude, "lon");
  expect(index.update(rid("r1"), {116.4, 90.01}), errc::invalid_latitude, "lat");
  expect(index.update(rid("r2"), {116.4, -std::numeric_limits<double>::infinity()}),
         errc::invalid_latitude, "lat");
  // Nothing changed.
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(*index.position(rid("r1")), rider_index::stored_position({116.4, 39.9}));

  expect(index.remove(rid("nobody")), errc::unknown_rider, "riderId");
  const auto pos = index.position(rid("nobody"));
  EXPECT_EQ(pos.error(), errc::unknown_rider);
  EXPECT_STREQ(pos.field(), "riderId");

  std::vector<nearby_rider> out;
  expect(index.nearby({nan, 39.9}, 100, 1, out), errc::invalid_longitude, "lon");
  expect(index.nearby({116.4, 91}, 100, 1, out), errc::invalid_latitude, "lat");
  expect(index.nearby({116.4, 39.9}, nan, 1, out), errc::invalid_radius, "radius");
  expect(index.nearby({116.4, 39.9}, -1, 1, out), errc::invalid_radius, "radius");
  expect(index.nearby({116.4, 39.9}, rider_index_max_radius_m * 1.001, 1, out),
         errc::invalid_radius, "radius");
  expect(index.nearby({116.4, 39.9}, std::numeric_limits<double>::infinity(), 1, out),
         errc::invalid_radius, "radius");
  expect(index.nearby({116.4, 39.9}, 100, 0, out), errc::invalid_k, "k");
  expect(index.within({-181, 39.9}, 100, out), errc::invalid_longitude, "lon");
  expect(index.within({116.4, nan}, 100, out), errc::invalid_latitude, "lat");
  expect(index.within({116.4, 39.9}, -0.5, out), errc::invalid_radius, "radius");
  expect(index.within({116.4, 39.9}, nan, out), errc::invalid_radius, "radius");
  EXPECT_TRUE(index.within({116.4, 39.9}, rider_index_max_radius_m, out).ok());
  std::vector<nearby_rider_ref> refs{{nullptr, 1.0}};
  expect(index.within({-181, 39.9}, 100, refs), errc::invalid_longitude, "lon");
  expect(index.within({116.4, nan}, 100, refs), errc::invalid_latitude, "lat");
  expect(index.within({116.4, 39.9}, -0.5, refs), errc::invalid_radius, "radius");
  expect(index.within({116.4, 39.9}, nan, refs), errc::invalid_radius, "radius");

  for (const geohash_int bad : {geohash_int{0, 0}, geohash_int{0, 61}, geohash_int{4, 2}}) {
    const auto n = index.count_in_cell(bad);
    EXPECT_EQ(n.error(), errc::invalid_geohash_bits);
    EXPECT_STREQ(n.field(), "bitCount");
  }
  std::vector<cell_count> counts;
  expect(index.cell_counts(0, counts), errc::invalid_geohash_bits, "bitCount");
  expect(index.cell_counts(61, counts), errc::invalid_geohash_bits, "bitCount");

  for (const int bits : {19, 41}) {
    try {
      rider_index bad(rider_index_options{bits});
      ADD_FAILURE() << "cell_bits " << bits << " accepted";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::invalid_geohash_bits);
    }
  }
}

TEST(RiderIndex, UpdateManyEqualsUpdatesInOrder) {
  // Batches with new riders, moves, the same rider twice (the later report
  // wins) and reports update() rejects (skipped), against one update() each.
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<double> lon(116.2, 116.6), lat(39.8, 40.1), u01(0, 1);
  rider_index batched, single;
  for (int round = 0; round < 40; ++round) {
    std::vector<rider_update> batch;
    const std::size_t n = rng() % 100;
    for (std::size_t i = 0; i < n; ++i) {
      rider_update u{rid("r" + std::to_string(rng() % 300)), {lon(rng), lat(rng)}};
      if (u01(rng) < 0.05) u.position.lat = 95.0;
      if (u01(rng) < 0.03) u.rider = rider_id{};
      batch.push_back(u);
    }
    std::size_t ok = 0;
    for (const auto& u : batch) ok += single.update(u.rider, u.position).ok();
    ASSERT_EQ(batched.update_many(batch), ok);
    ASSERT_EQ(batched.size(), single.size());
  }
  for (int i = 0; i < 300; ++i) {
    const rider_id r = rid("r" + std::to_string(i));
    ASSERT_EQ(batched.contains(r), single.contains(r));
    if (single.contains(r)) {
      ASSERT_EQ(*batched.position(r), *single.position(r));
    }
  }
}

TEST(RiderIndex, NoGrowthOnceCellsHaveBeenSeen) {
  // Steady state: riders moving among places already visited, and queries
  // into an output with capacity, never change the memory held.
  rider_index index;
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> lon(116.2, 116.6), lat(39.8, 40.1);
  std::vector<geo_point> a, b;
  for (int i = 0; i < 2000; ++i) {
    a.push_back({lon(rng), lat(rng)});
    b.push_back({lon(rng), lat(rng)});
  }
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(index.update(rid("r" + std::to_string(i)), a[i]).ok());
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(index.update(rid("r" + std::to_string(i)), b[i]).ok());
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(index.update(rid("r" + std::to_string(i)), a[i]).ok());
  const std::size_t bytes = index.memory_bytes();
  std::vector<nearby_rider> out;
  out.reserve(2000);
  const auto* data = out.data();
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 2000; ++i)
      ASSERT_TRUE(index.update(rid("r" + std::to_string(i)), (round % 2 ? a : b)[i]).ok());
    ASSERT_TRUE(index.within({116.4, 39.95}, 3000, out).ok());
    ASSERT_TRUE(index.nearby({116.4, 39.95}, 3000, 10, out).ok());
  }
  EXPECT_EQ(index.memory_bytes(), bytes);
  EXPECT_EQ(out.data(), data);
}

TEST(RiderIndex, BytesPerRiderAtBeijingScale) {
  // 100,000 riders uniformly in the Beijing box: the capacity-counted memory
  // stays under the 73 bytes per rider of boost::geometry's rtree (see
  // docs/benchmarks.md for how both are measured).
  rider_index index;
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<double> lon(116.2, 116.6), lat(39.8, 40.1);
  for (int i = 0; i < 100000; ++i)
    ASSERT_TRUE(index.update(rid("rider-" + std::to_string(i)), {lon(rng), lat(rng)}).ok());
  const double per_rider = static_cast<double>(index.memory_bytes()) / 100000.0;
  RecordProperty("bytes_per_rider", std::to_string(per_rider));
  EXPECT_LT(per_rider, 73.0);
}

}  // namespace
}  // namespace xiaoxiang
