#include "xiaoxiang/eta/speed_model.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "xiaoxiang/geo/geohash.hpp"

namespace xiaoxiang {
namespace {

constexpr timestamp_ms kNoonUtc = 1'764'072'000'000;  // 2025-11-25 12:00 UTC
const geo_point kA{116.40, 39.90};
const geo_point kFar{116.60, 40.10};  // another fine and coarse cell

speed_model_options small() {
  speed_model_options o;
  o.fine_cells = 256;
  o.coarse_cells = 64;
  return o;
}

TEST(SpeedModel, DefaultBeforeLearning) {
  speed_model m(small());
  EXPECT_DOUBLE_EQ(m.speed_mps(kA, kNoonUtc), 5.0);
}

TEST(SpeedModel, ConvergesToObservedSpeed) {
  speed_model m(small());
  // 8 m/s; the default 5 m/s keeps a weight of 120 s against 30,000 s.
  for (int i = 0; i < 2000; ++i) m.observe(kA, kNoonUtc, 8.0 * 15, 15);
  EXPECT_NEAR(m.speed_mps(kA, kNoonUtc), 8.0, 0.02);
  const speed_observations o = m.fine_cell(kA, m.bucket(kNoonUtc));
  EXPECT_NEAR(o.distance_m, 2000 * 120.0, 1);
  EXPECT_NEAR(o.time_s, 30'000, 0.01);
}

TEST(SpeedModel, FallbackCellHourToCellToGlobal) {
  speed_model m(small());
  // Times at the centres of their hour buckets, where no neighbour mixes in.
  const timestamp_ms noon = kNoonUtc + 30 * 60'000;
  // Cell A seen at noon only (10 m/s); elsewhere the city at noon (5 m/s)
  // and at 3 am (2.5 m/s).
  const timestamp_ms three_am = noon - 9 * 3'600'000;
  for (int i = 0; i < 400; ++i) m.observe(kA, noon, 150, 15);
  for (int i = 0; i < 400; ++i) m.observe(kFar, noon, 75, 15);
  for (int i = 0; i < 400; ++i) m.observe(kFar, three_am, 37.5, 15);
  // Cell + hour known (6,000 s each, against a prior weight of 120 s).
  EXPECT_NEAR(m.speed_mps(kA, noon), 10.0, 0.15);
  EXPECT_NEAR(m.speed_mps(kFar, three_am), 2.5, 0.1);
  // Cell A at 3 am: the cell's own speed, slowed by the city's 3 am factor.
  const double a3 = m.speed_mps(kA, three_am);
  EXPECT_LT(a3, 10.0 * 0.6);
  EXPECT_GT(a3, 2.5);
  const double day = (400 * (150 + 75 + 37.5)) / (1200 * 15.0);
  EXPECT_NEAR(a3, 10.0 * 2.5 / day, 0.2);
  // A cell never seen, at noon: the city at noon.
  const geo_point unseen{116.80, 39.50};
  EXPECT_NEAR(m.speed_mps(unseen, noon), 7.5, 0.1);
  // ... and at a time nobody saw: the city's all-day speed.
  EXPECT_NEAR(m.speed_mps(unseen, noon + 4 * 3'600'000), day, 0.1);
}

// Between two bucket centres the speed moves linearly, with no jump at the
// border between the buckets.
TEST(SpeedModel, TimeOfDayIsContinuous) {
  speed_model m(small());
  const timestamp_ms noon = kNoonUtc + 30 * 60'000, one = noon + 3'600'000;
  for (int i = 0; i < 400; ++i) m.observe(kA, noon, 150, 15);  // 10 m/s at 12:30
  for (int i = 0; i < 400; ++i) m.observe(kA, one, 60, 15);    // 4 m/s at 13:30
  const double at_noon = m.speed_mps(kA, noon), at_one = m.speed_mps(kA, one);
  EXPECT_GT(at_noon, 9.5);
  EXPECT_LT(at_one, 4.5);
  const double before = m.speed_mps(kA, kNoonUtc + 3'600'000 - 1);
  const double after = m.speed_mps(kA, kNoonUtc + 3'600'000);
  EXPECT_NEAR(before, after, 0.01);
  EXPECT_NEAR(after, (at_noon + at_one) / 2, 0.05);
}

TEST(SpeedModel, SparseCellBlendsWithItsFallback) {
  speed_model m(small());
  for (int i = 0; i < 1000; ++i) m.observe(kFar, kNoonUtc, 75, 15);  // city: 5 m/s
  m.observe(kA, kNoonUtc, 300, 15);  // one 20 m/s pair in A: 15 s of 120 s prior
  const double v = m.speed_mps(kA, kNoonUtc);
  EXPECT_GT(v, 5.0);
  EXPECT_LT(v, 8.0);
}

TEST(SpeedModel, BucketsFollowLocalTime) {
  speed_model_options o = small();
  o.utc_offset_minutes = 480;
  speed_model m(o);
  EXPECT_EQ(m.buckets(), 24);
  EXPECT_EQ(m.bucket(kNoonUtc), 20);  // 20:00 in Beijing
  o.bucket_minutes = 180;
  speed_model m3(o);
  EXPECT_EQ(m3.buckets(), 8);
  EXPECT_EQ(m3.bucket(kNoonUtc), 6);
}

TEST(SpeedModel, IgnoresBadObservations) {
  speed_model m(small());
  m.observe(kA, kNoonUtc, 100, 0);
  m.observe(kA, kNoonUtc, -1, 10);
  m.observe(geo_point{200, 0}, kNoonUtc, 100, 10);
  m.observe(kA, kNoonUtc, std::numeric_limits<double>::infinity(), 10);
  EXPECT_DOUBLE_EQ(m.global(-1).time_s, 0);
}

TEST(SpeedModel, FullTableDropsAndFallsBack) {
  speed_model_options o = small();
  o.fine_cells = 1;  // 16 slots, probed 4 deep
  speed_model m(o);
  for (int i = 0; i < 64; ++i)
    for (int k = 0; k < 20; ++k) m.observe(geo_point{116.0 + i * 0.01, 39.9}, kNoonUtc, 100, 10);
  EXPECT_GT(m.dropped_fine(), 0u);
  EXPECT_NEAR(m.speed_mps(geo_point{116.0 + 63 * 0.01, 39.9}, kNoonUtc), 10.0, 0.05);
}

// The model finds a point's coarse cell by cutting its fine GeoHash: that
// must be the GeoHash of the coarse precision itself, everywhere (cell
// borders, the antimeridian and the poles included).
TEST(SpeedModel, CoarseCellIsAPrefixOfTheFineCell) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lon(-180, 180), lat(-90, 90);
  std::vector<geo_point> points{{-180, -90}, {180, 90}, {0, 0}, {179.999999, -89.999999}};
  for (int i = 0; i < 100'000; ++i) points.push_back({lon(rng), lat(rng)});
  // On the borders of 25-bit cells (13 bits of longitude, 12 of latitude).
  for (int i = 0; i < 4096; ++i) points.push_back({-180 + i * (360.0 / 4096), 39.9});
  for (int i = 0; i < 4096; ++i) points.push_back({116.4, -90 + i * (180.0 / 4096)});
  for (const geo_point& p : points) {
    for (const auto& [fine, coarse] : {std::pair{35, 25}, std::pair{40, 20}, std::pair{50, 5}}) {
      const auto f = point_to_geohash_int(p, fine);
      const auto c = point_to_geohash_int(p, coarse);
      ASSERT_TRUE(f && c);
      ASSERT_EQ(f->bits >> (fine - coarse), c->bits) << p.lon << "," << p.lat;
    }
  }
}

// Seeded: after observations A, a batch B observed and then taken back in
// another order leaves every sum as it was after A — with a table so small
// that it fills up and drops (an observation dropped then is not found when
// taken back, and a cell B inserted is left with zero sums).
TEST(SpeedModel, TakeBackUndoesObserveExactly) {
  speed_model_options o = small();
  o.fine_cells = 8;  // 16 slots, probed 5 deep
  struct obs {
    geo_point p;
    timestamp_ms t;
    double d, s;
  };
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> lon(116.2, 116.6), lat(39.8, 40.1), d(0, 300), s(0.5, 60);
  auto random_obs = [&] {
    return obs{{lon(rng), lat(rng)}, kNoonUtc + static_cast<timestamp_ms>(rng() % 86'400'000), d(rng),
               s(rng)};
  };
  std::vector<obs> a, b;
  for (int i = 0; i < 40; ++i) a.push_back(random_obs());
  for (int i = 0; i < 2000; ++i) b.push_back(i % 2 ? random_obs() : a[rng() % a.size()]);
  speed_model m(o);
  for (const obs& x : a) m.observe(x.p, x.t, x.d, x.s);
  auto state = [&] {
    std::vector<double> v;
    for (int k = -1; k < m.buckets(); ++k) {
      v.push_back(m.global(k).distance_m);
      v.push_back(m.global(k).time_s);
    }
    for (const auto* list : {&a, &b})
      for (const obs& x : *list) {
        v.push_back(m.fine_cell(x.p, -1).time_s);
        v.push_back(m.fine_cell(x.p, m.bucket(x.t)).distance_m);
        v.push_back(m.speed_mps(x.p, x.t));
      }
    return v;
  };
  const std::vector<double> after_a = state();
  for (const obs& x : b) m.observe(x.p, x.t, x.d, x.s);
  EXPECT_GT(m.dropped_fine(), 0u);
  EXPECT_NE(state(), after_a);
  std::vector<obs> shuffled = b;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (const obs& x : shuffled) m.take_back(x.p, x.t, x.d, x.s);
  m.take_back(geo_point{200, 0}, kNoonUtc, 10, 1);  // invalid: ignored
  const std::vector<double> back = state();
  ASSERT_EQ(back.size(), after_a.size());
  for (std::size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], after_a[i]) << "at " << i;
}

TEST(SpeedModel, PrefetchChangesNothing) {
  speed_model m(small());
  for (int i = 0; i < 50; ++i) m.observe(kA, kNoonUtc, 100, 10);
  const double before = m.speed_mps(kA, kNoonUtc);
  m.prefetch(kA, kNoonUtc);
  m.prefetch(kFar, kNoonUtc + 5 * 3'600'000);
  m.prefetch(geo_point{200, 0}, kNoonUtc);  // invalid: ignored
  m.prefetch(geo_point{std::numeric_limits<double>::quiet_NaN(), 0}, kNoonUtc);
  EXPECT_EQ(m.speed_mps(kA, kNoonUtc), before);
  EXPECT_EQ(m.fine_cell(kFar, -1).time_s, 0);
  EXPECT_EQ(m.global(-1).time_s, 500);
  EXPECT_EQ(m.dropped_fine(), 0u);
}

TEST(SpeedModel, ConcurrentObserversAllCounted) {
  speed_model m(small());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 5000; ++i) {
        m.observe(geo_point{116.40 + (i % 50) * 0.002, 39.90 + t * 0.002}, kNoonUtc, 10, 1);
        (void)m.speed_mps(kA, kNoonUtc);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_NEAR(m.global(-1).time_s, 20'000, 1e-6);
  EXPECT_NEAR(m.speed_mps(kA, kNoonUtc), 10.0, 0.01);
}

}  // namespace
}  // namespace xiaoxiang
