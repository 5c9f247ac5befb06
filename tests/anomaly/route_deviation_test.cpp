// route_deviation_detector: raise once after the minimum time beyond the
// threshold, clear once back within the clear distance, no flapping on
// noise around either threshold, old fixes and bad distances ignored.
#include "xiaoxiang/anomaly/route_deviation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace xiaoxiang {
namespace {

constexpr timestamp_ms kT0 = 1'700'000'000'000;

struct run {
  int raised = 0, cleared = 0;
  std::vector<timestamp_ms> raised_at, cleared_at;
};

run feed(route_deviation_detector& d, const std::vector<double>& distances,
         const route_deviation_options& o = {}, duration_ms step = 15'000) {
  run r;
  timestamp_ms t = kT0;
  for (const double m : distances) {
    const auto u = d.observe(t, m, o);
    if (u.change == alert_change::raised) ++r.raised, r.raised_at.push_back(t);
    if (u.change == alert_change::cleared) ++r.cleared, r.cleared_at.push_back(t);
    t += step;
  }
  return r;
}

TEST(RouteDeviation, StraightRunOnTheRouteNeverRaises) {
  route_deviation_detector d;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(0, 5);
  std::vector<double> m;
  for (int i = 0; i < 2000; ++i) m.push_back(std::fabs(noise(rng)) * 1.5);
  EXPECT_EQ(feed(d, m).raised, 0);
  EXPECT_FALSE(d.current().active);
}

TEST(RouteDeviation, DetourRaisesOnceAfterTheMinimumTimeAndClearsOnce) {
  route_deviation_detector d;
  const auto r = feed(d, {5, 8, 120, 300, 500, 450, 200, 90, 70, 40, 10, 5});
  ASSERT_EQ(r.raised, 1);
  ASSERT_EQ(r.cleared, 1);
  EXPECT_EQ(r.raised_at[0], kT0 + 3 * 15'000);  // second fix beyond 80 m (>= 10 s after the first)
  EXPECT_EQ(r.cleared_at[0], kT0 + 9 * 15'000); // first fix within 60 m
  EXPECT_FALSE(d.current().active);
  EXPECT_EQ(d.current().since, kT0 + 2 * 15'000);  // the first fix beyond
  EXPECT_DOUBLE_EQ(d.current().value, 40);
}

TEST(RouteDeviation, ValueIsTheLatestDistanceWhileActive) {
  route_deviation_detector d;
  feed(d, {100, 200, 350});
  EXPECT_TRUE(d.current().active);
  EXPECT_DOUBLE_EQ(d.current().value, 350);
}

TEST(RouteDeviation, NoiseAroundTheThresholdsDoesNotFlap) {
  route_deviation_detector d;
  // Hovering between the clear (60) and raise (80) distances after a raise.
  std::vector<double> m{100, 100};
  for (int i = 0; i < 200; ++i) m.push_back(i % 2 ? 62 : 78);
  const auto r = feed(d, m);
  EXPECT_EQ(r.raised, 1);
  EXPECT_EQ(r.cleared, 0);
  // A single spike beyond 80 m is not a deviation.
  route_deviation_detector e;
  EXPECT_EQ(feed(e, {5, 150, 5, 5, 150, 5}).raised, 0);
}

TEST(RouteDeviation, GapInTheDataKeepsTheRunGoing) {
  route_deviation_detector d;
  const route_deviation_options o;
  EXPECT_EQ(d.observe(kT0, 150, o).change, alert_change::none);
  EXPECT_EQ(d.observe(kT0 + 10 * 60'000, 150, o).change, alert_change::raised);
  EXPECT_EQ(d.current().since, kT0);
}

TEST(RouteDeviation, IgnoresOldFixesAndBadDistances) {
  route_deviation_detector d;
  const route_deviation_options o;
  d.observe(kT0 + 30'000, 10, o);
  EXPECT_EQ(d.observe(kT0, 500, o).change, alert_change::none);         // older
  EXPECT_EQ(d.observe(kT0 + 40'000, std::nan(""), o).change, alert_change::none);
  EXPECT_EQ(d.observe(kT0 + 40'000, -3, o).change, alert_change::none);
  EXPECT_EQ(d.observe(kT0 + 40'000, INFINITY, o).change, alert_change::none);
  EXPECT_FALSE(d.current().active);
}

TEST(RouteDeviation, OptionsAndReset) {
  route_deviation_detector d;
  route_deviation_options o;
  o.raise_after_ms = 0;
  o.clear_after_ms = 30'000;
  EXPECT_EQ(d.observe(kT0, 90, o).change, alert_change::raised);  // at once
  EXPECT_EQ(d.observe(kT0 + 15'000, 10, o).change, alert_change::none);
  EXPECT_EQ(d.observe(kT0 + 30'000, 10, o).change, alert_change::none);
  EXPECT_EQ(d.observe(kT0 + 45'000, 10, o).change, alert_change::cleared);  // 30 s within
  EXPECT_EQ(d.observe(kT0 + 60'000, 90, o).change, alert_change::raised);
  EXPECT_EQ(d.reset().change, alert_change::cleared);
  EXPECT_EQ(d.reset().change, alert_change::none);
  EXPECT_EQ(sizeof(route_deviation_detector), 48u);
}

}  // namespace
}  // namespace xiaoxiang
