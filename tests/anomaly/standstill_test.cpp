// standstill_detector on hand-made tracks: a stop on the way raises after
// raise_after_ms, a planned stop only after the long limit, jitter and one
// spike do not end a stop, moving on clears once.
#include "xiaoxiang/anomaly/standstill.hpp"

#include <gtest/gtest.h>

#include <random>

#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {

constexpr timestamp_ms kT0 = 1'700'000'000'000;
constexpr geo_point kOrigin{116.39, 39.90};

geo_point at(double east_m, double north_m) {
  const cheap_ruler r(kOrigin.lat);
  return {kOrigin.lon + east_m / r.kx(), kOrigin.lat + north_m / r.ky()};
}

struct counts {
  int raised = 0, cleared = 0;
  timestamp_ms raised_at = -1, cleared_at = -1;
};

struct rider {
  standstill_detector d;
  standstill_options o;
  timestamp_ms t = kT0;
  double x = 0;
  counts c;
  std::mt19937_64 rng{3};
  double jitter_m = 0;

  void fix(geo_point p, bool planned = false) {
    t += 15'000;
    const auto u = d.observe(t, p, planned, o);
    if (u.change == alert_change::raised) ++c.raised, c.raised_at = t;
    if (u.change == alert_change::cleared) ++c.cleared, c.cleared_at = t;
  }
  double noise() {
    std::normal_distribution<double> n(0, jitter_m > 0 ? jitter_m : 1e-9);
    return std::clamp(n(rng), -3.46 * jitter_m, 3.46 * jitter_m);
  }
  void ride(int fixes, double speed_mps = 5) {
    for (int i = 0; i < fixes; ++i) {
      x += speed_mps * 15;
      fix(at(x + noise(), noise()));
    }
  }
  void stand(int fixes, bool planned = false) {
    for (int i = 0; i < fixes; ++i) fix(at(x + noise(), noise()), planned);
  }
};

TEST(Standstill, StraightRunNeverRaisesEvenSlowly) {
  rider r;
  r.jitter_m = 5;
  r.ride(200, 1.4);  // the simulator's slowest street speed
  EXPECT_EQ(r.c.raised, 0);
}

TEST(Standstill, StopOnTheWayRaisesAfterTheLimitAndClearsWhenMovingOn) {
  rider r;
  r.jitter_m = 5;
  r.ride(20);
  const timestamp_ms stop_start = r.t;  // it stands where its last fix was
  r.stand(40);  // 10 minutes more
  EXPECT_EQ(r.c.raised, 1);
  EXPECT_EQ(r.c.raised_at, stop_start + 45'000);
  EXPECT_TRUE(r.d.current().active);
  EXPECT_EQ(r.d.current().since, stop_start);
  EXPECT_NEAR(r.d.current().value, 10.0, 1e-9);  // minutes, to the latest fix
  r.ride(10);
  EXPECT_EQ(r.c.cleared, 1);
  EXPECT_EQ(r.c.cleared_at, r.t - 8 * 15'000);  // second fix away (one spike tolerated)
  EXPECT_FALSE(r.d.current().active);
  EXPECT_NEAR(r.d.current().value, 10.0, 1e-9);
}

TEST(Standstill, PlannedStopWaitsForTheLongLimit) {
  rider r;
  r.jitter_m = 5;
  r.ride(10);
  r.stand(20, true);  // 5 min handover: under the 6 min limit
  EXPECT_EQ(r.c.raised, 0);
  r.stand(8, true);   // 7 min: raised
  EXPECT_EQ(r.c.raised, 1);
  // One planned fix makes the whole stop planned (the rider walked a bit).
  rider s;
  s.ride(10);
  s.stand(1, true);
  s.stand(10, false);
  EXPECT_EQ(s.c.raised, 0);
}

TEST(Standstill, OneGpsSpikeDoesNotEndTheStop) {
  rider r;
  r.ride(10);
  r.stand(6);
  ASSERT_EQ(r.c.raised, 1);
  r.fix(at(r.x + 200, 0));  // a multipath jump
  r.stand(10);
  EXPECT_EQ(r.c.raised, 1);
  EXPECT_EQ(r.c.cleared, 0);
}

TEST(Standstill, StopAtTheBorderAndGapInTheData) {
  rider r;
  r.stand(4);  // the first fixes already stopped: raised at 45 s
  EXPECT_EQ(r.c.raised, 1);
  r.t += 20 * 60'000;  // no data for 20 min, same place after
  r.stand(1);
  EXPECT_EQ(r.c.cleared, 0);
  EXPECT_GT(r.d.current().value, 20.0);
  EXPECT_EQ(r.d.reset().change, alert_change::cleared);
  EXPECT_FALSE(r.d.stop_state().has_candidate());
}

TEST(Standstill, TightLoopIsAStandstill) {
  rider r;
  for (int i = 0; i < 10; ++i) r.fix(at(6 * std::cos(i), 6 * std::sin(i)));
  EXPECT_EQ(r.c.raised, 1);
  EXPECT_EQ(sizeof(standstill_detector), 152u);
}

}  // namespace
}  // namespace xiaoxiang
