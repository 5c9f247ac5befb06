// detect_stops / stop_detector / streaming_stop: error paths, hand-made
// tracks in both modes, the MovingPandas reference over all five real
// datasets, and the streaming state against a brute-force oracle.
#include "xiaoxiang/anomaly/stop_detector.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "test_data.hpp"
#include "xiaoxiang/anomaly/detail/min_rect.hpp"
#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {

constexpr geo_point kOrigin{116.39, 39.90};  // Beijing

// A point `east_m`, `north_m` metres from kOrigin.
geo_point at(double east_m, double north_m) {
  const cheap_ruler r(kOrigin.lat);
  return {kOrigin.lon + east_m / r.kx(), kOrigin.lat + north_m / r.ky()};
}

struct track {
  std::vector<timestamp_ms> t;
  std::vector<geo_point> p;
  void add(timestamp_ms time, geo_point q) { t.push_back(time), p.push_back(q); }
};

constexpr timestamp_ms kT0 = 1'700'000'000'000;

// Moves east at speed_mps from x0 for duration, a fix every step_ms.
double move(track& tr, timestamp_ms& now, double x0, double speed_mps, duration_ms duration,
            duration_ms step_ms = 10'000) {
  double x = x0;
  for (duration_ms d = 0; d < duration; d += step_ms) {
    now += step_ms;
    x += speed_mps * static_cast<double>(step_ms) / 1000.0;
    tr.add(now, at(x, 0));
  }
  return x;
}

// Stays at x with deterministic jitter up to jitter_m for duration.
void stay(track& tr, timestamp_ms& now, double x, double jitter_m, duration_ms duration,
          std::uint64_t seed = 1, duration_ms step_ms = 10'000) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> j(-jitter_m, jitter_m);
  for (duration_ms d = 0; d < duration; d += step_ms) {
    now += step_ms;
    tr.add(now, at(x + j(rng), j(rng)));
  }
}

std::vector<stop> detect(const track& tr, stop_mode mode) {
  stop_options o;
  o.mode = mode;
  auto r = detect_stops(tr.t, tr.p, o);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? *r : std::vector<stop>{};
}

// ---- errors ----

TEST(StopDetector, RejectsBadInputNamingTheField) {
  const std::vector<timestamp_ms> t{kT0, kT0 + 1000};
  const std::vector<geo_point> p{at(0, 0), at(1, 0)};
  auto r = detect_stops(t, std::span<const geo_point>(p).first(1));
  EXPECT_EQ(r.error(), errc::size_mismatch);
  EXPECT_STREQ(r.field(), "points");

  std::vector<geo_point> bad = p;
  bad[1].lon = NAN;
  r = detect_stops(t, bad);
  EXPECT_EQ(r.error(), errc::invalid_longitude);
  EXPECT_STREQ(r.field(), "points");
  bad[1] = {116.0, 91.0};
  r = detect_stops(t, bad);
  EXPECT_EQ(r.error(), errc::invalid_latitude);
  EXPECT_STREQ(r.field(), "points");

  r = detect_stops(std::vector<timestamp_ms>{kT0, -5}, p);
  EXPECT_EQ(r.error(), errc::invalid_timestamp);
  EXPECT_STREQ(r.field(), "times");

  stop_options strict;
  strict.strict_times = true;
  r = detect_stops(std::vector<timestamp_ms>{kT0, kT0}, p, strict);
  EXPECT_EQ(r.error(), errc::times_not_increasing);
  EXPECT_STREQ(r.field(), "times");
  r = detect_stops(std::vector<timestamp_ms>{kT0 + 5, kT0}, p, strict);
  EXPECT_EQ(r.error(), errc::times_not_increasing);

  for (const double d : {0.0, -1.0, std::nan(""), HUGE_VAL}) {
    stop_options o;
    o.max_diameter_m = d;
    r = detect_stops(t, p, o);
    EXPECT_EQ(r.error(), errc::invalid_detector_option);
    EXPECT_STREQ(r.field(), "max_diameter_m");
  }
  stop_options o;
  o.min_duration_ms = -1;
  r = detect_stops(t, p, o);
  EXPECT_EQ(r.error(), errc::invalid_detector_option);
  EXPECT_STREQ(r.field(), "min_duration_ms");
  o = {};
  o.mode = static_cast<stop_mode>(9);
  r = detect_stops(t, p, o);
  EXPECT_EQ(r.error(), errc::invalid_detector_option);
  EXPECT_STREQ(r.field(), "mode");

  // Empty and single-point tracks have no stops.
  EXPECT_TRUE(detect_stops({}, {})->empty());
  EXPECT_TRUE(detect_stops(std::span(t).first(1), std::span(p).first(1))->empty());
}

// ---- hand-made tracks, both modes ----

class StopTracks : public ::testing::TestWithParam<stop_mode> {};

TEST_P(StopTracks, StraightRunHasNoStop) {
  track tr;
  timestamp_ms now = kT0;
  move(tr, now, 0, 5, 20 * 60'000);
  EXPECT_TRUE(detect(tr, GetParam()).empty());
}

TEST_P(StopTracks, StopInTheMiddleIsFoundWithItsTimes) {
  track tr;
  timestamp_ms now = kT0;
  const double x = move(tr, now, 0, 8, 5 * 60'000);
  const timestamp_ms first = now + 10'000;
  stay(tr, now, x + 80, 2, 5 * 60'000);
  const timestamp_ms last = now;
  move(tr, now, x + 80, 8, 5 * 60'000);
  const auto stops = detect(tr, GetParam());
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0].start_ms, first);
  EXPECT_EQ(stops[0].end_ms, last);
  EXPECT_EQ(stops[0].n_points, 30u);
  EXPECT_DOUBLE_EQ(stops[0].duration_s, static_cast<double>(last - first) / 1000.0);
  EXPECT_LT(haversine_m({stops[0].median_lon, stops[0].median_lat}, at(x + 80, 0)), 3.0);
}

TEST_P(StopTracks, WideLoopIsNoStopTightLoopIs) {
  track tr;
  timestamp_ms now = kT0;
  for (int i = 0; i < 60; ++i) {  // 100 m radius, 10 min around
    now += 10'000;
    const double a = i * 2 * M_PI / 60;
    tr.add(now, at(100 * std::cos(a), 100 * std::sin(a)));
  }
  EXPECT_TRUE(detect(tr, GetParam()).empty());
  track tight;
  now = kT0;
  for (int i = 0; i < 30; ++i) {  // 5 m radius: a rider circling a block's entrance
    now += 10'000;
    const double a = i * 2 * M_PI / 10;
    tight.add(now, at(5 * std::cos(a), 5 * std::sin(a)));
  }
  EXPECT_EQ(detect(tight, GetParam()).size(), 1u);
}

TEST_P(StopTracks, StopAtTheBorderOfTheTrackIsKept) {
  track tr;
  timestamp_ms now = kT0;
  stay(tr, now, 0, 2, 3 * 60'000);
  const double x = move(tr, now, 0, 8, 3 * 60'000);
  stay(tr, now, x + 80, 2, 3 * 60'000);
  const auto stops = detect(tr, GetParam());
  ASSERT_EQ(stops.size(), 2u);
  EXPECT_EQ(stops[0].start_ms, kT0 + 10'000);
  EXPECT_EQ(stops[1].end_ms, now);
}

TEST_P(StopTracks, GapInTheDataAtOnePlaceIsOneStop) {
  track tr;
  timestamp_ms now = kT0;
  double x = move(tr, now, 0, 8, 2 * 60'000);
  stay(tr, now, x + 80, 1, 30'000);
  now += 10 * 60'000;  // no data for 10 minutes, same place after
  stay(tr, now, x + 80, 1, 30'000, 2);
  x = move(tr, now, x + 80, 8, 2 * 60'000);
  const auto stops = detect(tr, GetParam());
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_GE(stops[0].duration_s, 600.0);
}

INSTANTIATE_TEST_SUITE_P(BothModes, StopTracks,
                         ::testing::Values(stop_mode::movingpandas, stop_mode::streaming));

TEST(StopDetector, StreamingAveragesGpsJitterIntoOneStop) {
  // 10 minutes at one place with 5 m (per axis) noise, clipped at 3.5 sigma
  // like the simulator's: the streaming rule sees one stop.
  track tr;
  timestamp_ms now = kT0;
  double x = move(tr, now, 0, 8, 3 * 60'000);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 5);
  auto clipped = [&] { return std::clamp(noise(rng), -17.0, 17.0); };
  const timestamp_ms first = now + 15'000;
  for (int i = 0; i < 40; ++i) {
    now += 15'000;
    tr.add(now, at(x + 100 + clipped(), clipped()));
  }
  const timestamp_ms last = now;
  move(tr, now, x + 100, 8, 3 * 60'000);
  const auto stops = detect(tr, stop_mode::streaming);
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0].start_ms, first);
  EXPECT_EQ(stops[0].end_ms, last);
}

TEST(StopDetector, UnsortedAndRepeatedTimesAreSortedAndKeepTheFirst) {
  track tr;
  timestamp_ms now = kT0;
  const double x = move(tr, now, 0, 8, 2 * 60'000);
  stay(tr, now, x + 80, 2, 3 * 60'000);
  move(tr, now, x + 80, 8, 2 * 60'000);
  const auto expected = detect(tr, stop_mode::movingpandas);
  track shuffled = tr;
  // A repeated time with a far-away point: dropped, as the first one is kept.
  shuffled.add(tr.t[15], at(5000, 5000));
  std::mt19937_64 rng(9);
  std::vector<std::size_t> order(shuffled.t.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end() - 1, rng);  // the duplicate stays after its original
  track out;
  for (const std::size_t i : order) out.add(shuffled.t[i], shuffled.p[i]);
  EXPECT_EQ(detect(out, stop_mode::movingpandas), expected);
}

TEST(StopDetector, ReusedDetectorGivesTheSameAnswers) {
  stop_detector d;
  track a, b;
  timestamp_ms now = kT0;
  stay(a, now, 0, 2, 5 * 60'000);
  now = kT0;
  move(b, now, 0, 5, 5 * 60'000);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(d.detect(a.t, a.p)->size(), 1u);
    EXPECT_TRUE(d.detect(b.t, b.p)->empty());
  }
}

// ---- geometry internals ----

TEST(StopGeometry, HullIsConvexClockwiseFromTheLowestAndHoldsEveryPoint) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int> grid(0, 6);  // a coarse grid: many collinear points
  std::vector<geo_point> pts, scratch, hull;
  for (int round = 0; round < 2000; ++round) {
    pts.clear();
    const int n = 1 + round % 12;
    for (int i = 0; i < n; ++i) pts.push_back({116.3 + grid(rng) * 1e-5, 39.9 + grid(rng) * 1e-5});
    detail::convex_hull(pts, scratch, hull);
    ASSERT_FALSE(hull.empty());
    if (hull.size() < 3) continue;  // a point or the two extremes (order irrelevant)
    for (const geo_point& h : hull) {  // the first is the lowest, then leftmost
      EXPECT_TRUE(hull[0].lat < h.lat || (hull[0].lat == h.lat && hull[0].lon <= h.lon));
    }
    for (std::size_t i = 0; i < hull.size(); ++i)  // strictly clockwise turns
      EXPECT_LT(detail::orientation(hull[i], hull[(i + 1) % hull.size()],
                                    hull[(i + 2) % hull.size()]),
                0);
    for (const geo_point& p : pts) EXPECT_TRUE(detail::hull_contains(hull, p));
  }
}

TEST(StopGeometry, RectangleDiagonalMatchesShapely) {
  // shapely 1.8.5 / GEOS 3.11.1 + geopy: a triangle where every edge gives
  // the same area, so only shapely's exact arithmetic picks the rectangle.
  std::vector<geo_point> pts{{116.328493, 39.983164}, {116.328399, 39.98322}, {116.328274, 39.983003}};
  std::vector<geo_point> scratch, hull;
  detail::convex_hull(pts, scratch, hull);
  EXPECT_NEAR(detail::hull_rect_diagonal_m(hull), 25.927154161562868, 1e-6);
}

// ---- the MovingPandas reference over the real datasets ----

struct reference_stop {
  timestamp_ms start, end;
  std::size_t n;
  double lon, lat;
};

TEST(StopDetectorReference, MatchesMovingPandasOnAllFiveDatasets) {
  XIAOXIANG_REQUIRE_REAL_DATA();
  const auto dir = testing::real_data_dir();
  std::map<std::pair<std::string, std::string>, std::vector<reference_stop>> expected;
  {
    std::ifstream in(dir / "reference_movingpandas_stops.csv");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::stringstream s(line);
      std::string f[9];
      for (auto& x : f) std::getline(s, x, ',');
      expected[{f[0], f[1]}].push_back(
          {std::stoll(f[3]), std::stoll(f[4]), std::stoul(f[6]), std::stod(f[7]), std::stod(f[8])});
    }
  }
  stop_detector detector;
  std::size_t tracks = 0, total = 0, same = 0, count_mismatch = 0;
  for (const char* dataset : {"geolife_small", "bus304_limerick_2019-02-18",
                              "liverpool_bus_route14_outbound", "boat-positions",
                              "skmob_geolife_sample"}) {
    std::ifstream in(dir / (std::string(dataset) + ".normalized.csv"));
    ASSERT_TRUE(in) << dataset;
    std::map<std::string, track> by_track;
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      const auto c1 = line.find(','), c2 = line.find(',', c1 + 1), c3 = line.find(',', c2 + 1);
      by_track[line.substr(0, c1)].add(std::stoll(line.substr(c1 + 1, c2 - c1 - 1)),
                                       {std::stod(line.substr(c2 + 1, c3 - c2 - 1)),
                                        std::stod(line.substr(c3 + 1))});
    }
    for (const auto& [id, tr] : by_track) {
      if (tr.t.size() < 2) continue;
      ++tracks;
      const auto got = detector.detect(tr.t, tr.p);
      ASSERT_TRUE(got.ok());
      const auto& want = expected[{dataset, id}];
      if (got->size() != want.size()) ++count_mismatch;
      EXPECT_EQ(got->size(), want.size()) << dataset << " track " << id;
      total += want.size();
      for (std::size_t i = 0; i < std::min(want.size(), got->size()); ++i) {
        const stop& s = (*got)[i];
        if (s.start_ms != want[i].start || s.end_ms != want[i].end) continue;
        ++same;
        EXPECT_EQ(s.n_points, want[i].n) << dataset << " " << id << " stop " << i;
        EXPECT_NEAR(s.median_lon, want[i].lon, 1e-9);
        EXPECT_NEAR(s.median_lat, want[i].lat, 1e-9);
      }
    }
  }
  std::printf("reference: %zu tracks, %zu stops, %zu with the same start and end, %zu count "
              "mismatches\n", tracks, total, same, count_mismatch);
  EXPECT_EQ(tracks, 274u);
  EXPECT_EQ(total, 5035u);
  EXPECT_EQ(count_mismatch, 0u);
  EXPECT_GE(static_cast<double>(same), 0.995 * static_cast<double>(total));
}

// ---- streaming state against a brute-force oracle ----

// The rule written plainly: keeps every fix of the candidate and recomputes
// the mean from scratch.
struct streaming_oracle {
  struct fix {
    timestamp_ms t;
    geo_point p;
  };
  std::vector<fix> in, out;
  bool stopped = false, seen = false;
  timestamp_ms last = 0;
  std::vector<std::pair<timestamp_ms, timestamp_ms>> stops;

  void restart(fix f, const streaming_stop_options& o) {
    in = {f};
    out.clear();
    stopped = o.min_duration_ms <= 0;
  }
  void observe(timestamp_ms t, geo_point p, const streaming_stop_options& o, bool replay = false) {
    if (!replay) {
      if (seen && t <= last) return;
      seen = true;
      last = t;
    }
    if (in.empty()) {
      restart({t, p}, o);
      return;
    }
    const cheap_ruler r(in[0].p.lat);
    double sx = 0, sy = 0;
    for (const fix& f : in) {
      double dl = f.p.lon - in[0].p.lon;
      sx += dl * r.kx();
      sy += (f.p.lat - in[0].p.lat) * r.ky();
    }
    const double n = static_cast<double>(in.size());
    const double x = (p.lon - in[0].p.lon) * r.kx(), y = (p.lat - in[0].p.lat) * r.ky();
    const double ex = x - sx / n, ey = y - sy / n;
    if (ex * ex + ey * ey <= o.radius_m * o.radius_m) {
      in.push_back({t, p});
      out.clear();
      if (!stopped && t - in[0].t >= o.min_duration_ms) stopped = true;
      return;
    }
    out.push_back({t, p});
    if (out.size() <= o.max_outliers) return;
    if (stopped) stops.emplace_back(in.front().t, in.back().t);
    const fix first = out.front();
    restart(first, o);
    if (first.t != t) observe(t, p, o, true);
  }
  void finish() {
    if (stopped) stops.emplace_back(in.front().t, in.back().t);
    in.clear();
    stopped = false;
  }
};

TEST(StreamingStop, AgreesWithBruteForceOracleOnRandomWalks) {
  std::mt19937_64 rng(2024);
  for (int round = 0; round < 300; ++round) {
    streaming_stop_options o;
    o.radius_m = std::uniform_real_distribution<double>(5, 40)(rng);
    o.min_duration_ms = std::uniform_int_distribution<int>(0, 4)(rng) * 30'000;
    o.max_outliers = static_cast<std::uint8_t>(std::uniform_int_distribution<int>(0, 2)(rng));
    streaming_stop s;
    streaming_oracle oracle;
    std::vector<std::pair<timestamp_ms, timestamp_ms>> got;
    double x = 0, y = 0;
    timestamp_ms t = kT0;
    std::uniform_real_distribution<double> u(0, 1);
    std::normal_distribution<double> noise(0, 5);
    for (int i = 0; i < 300; ++i) {
      if (u(rng) < 0.5) x += 12, y += u(rng) * 6;  // moving or standing, mixed
      t += u(rng) < 0.1 ? -5'000 : std::uniform_int_distribution<int>(1, 30)(rng) * 1000;
      const geo_point p = at(x + noise(rng), y + noise(rng));
      if (s.observe(t, p, o) == streaming_stop::transition::ended)
        got.emplace_back(s.last_stop_start_ms(), s.last_stop_end_ms());
      oracle.observe(t, p, o);
      ASSERT_EQ(s.stopped(), oracle.stopped) << round << " " << i;
    }
    if (s.finish() == streaming_stop::transition::ended)
      got.emplace_back(s.last_stop_start_ms(), s.last_stop_end_ms());
    oracle.finish();
    ASSERT_EQ(got, oracle.stops) << round;
  }
}

TEST(StreamingStop, IsSmallAndFixedSize) {
  static_assert(std::is_trivially_copyable_v<streaming_stop>);
  EXPECT_LE(sizeof(streaming_stop), 128u);
}

}  // namespace
}  // namespace xiaoxiang
