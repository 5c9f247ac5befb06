// delivery_timeout_detector: early warning on the P90 with hysteresis, the
// warning turning into lateness (updated, not raised again), finish clears.
#include "xiaoxiang/anomaly/delivery_timeout.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace xiaoxiang {
namespace {

constexpr timestamp_ms kPromise = 1'700'000'000'000;
constexpr duration_ms kMin = 60'000;

TEST(DeliveryTimeout, LateRaisesAtThePromiseWithMinutesLate) {
  delivery_timeout_detector d;
  EXPECT_EQ(d.observe(kPromise - kMin, kPromise, -1).change, alert_change::none);
  EXPECT_EQ(d.observe(kPromise, kPromise, -1).change, alert_change::none);  // not yet past
  const auto u = d.observe(kPromise + 1, kPromise, -1);
  EXPECT_EQ(u.change, alert_change::raised);
  EXPECT_EQ(u.current.since, kPromise);
  EXPECT_TRUE(d.late());
  EXPECT_EQ(d.observe(kPromise + 3 * kMin, kPromise, -1).change, alert_change::none);
  EXPECT_DOUBLE_EQ(d.current().value, 3.0);
  const auto f = d.finish(kPromise + 5 * kMin);
  EXPECT_EQ(f.change, alert_change::cleared);
  EXPECT_DOUBLE_EQ(f.current.value, 5.0);
  EXPECT_EQ(d.finish(kPromise + 6 * kMin).change, alert_change::none);
}

TEST(DeliveryTimeout, P90WarnsEarlyThenTurnsLate) {
  delivery_timeout_detector d;
  const timestamp_ms now = kPromise - 10 * kMin;
  EXPECT_EQ(d.observe(now, kPromise, kPromise - kMin).change, alert_change::none);
  const auto w = d.observe(now + kMin, kPromise, kPromise + 4 * kMin + 30'000);
  EXPECT_EQ(w.change, alert_change::raised);
  EXPECT_DOUBLE_EQ(w.current.value, -4.5);  // predicted 4.5 min late
  EXPECT_EQ(w.current.since, now + kMin);
  EXPECT_FALSE(d.late());
  const auto l = d.observe(kPromise + kMin, kPromise, kPromise + 2 * kMin);
  EXPECT_EQ(l.change, alert_change::updated);  // same episode, now late
  EXPECT_DOUBLE_EQ(l.current.value, 1.0);
  EXPECT_EQ(l.current.since, now + kMin);
}

TEST(DeliveryTimeout, WarningHysteresisDoesNotFlap) {
  delivery_timeout_detector d;
  timestamp_ms now = kPromise - 30 * kMin;
  int raised = 0, cleared = 0;
  // The P90 hovers around the promise (+-1 min): one warning, no flapping.
  for (int i = 0; i < 20; ++i) {
    const auto u = d.observe(now, kPromise, kPromise + (i % 2 ? kMin : -kMin));
    raised += u.change == alert_change::raised;
    cleared += u.change == alert_change::cleared;
    now += 30'000;
  }
  EXPECT_EQ(raised, 1);
  EXPECT_EQ(cleared, 0);
  // The P90 is back 1 min before the promise, the warning holds: its value
  // stays "predicted" (never positive, which would mean minutes late).
  EXPECT_TRUE(d.current().active);
  EXPECT_LE(d.current().value, 0.0);
  EXPECT_TRUE(std::signbit(d.current().value));
  // Clearly early again (3 min before the promise): cleared once.
  EXPECT_EQ(d.observe(now, kPromise, kPromise - 3 * kMin).change, alert_change::cleared);
  EXPECT_EQ(d.observe(now, kPromise, kPromise - 3 * kMin).change, alert_change::none);
  // An unknown ETA keeps the state.
  EXPECT_EQ(d.observe(now, kPromise, -1).change, alert_change::none);
}

TEST(DeliveryTimeout, PromiseMovedLaterClearsLateness) {
  delivery_timeout_detector d;
  EXPECT_EQ(d.observe(kPromise + kMin, kPromise, -1).change, alert_change::raised);
  EXPECT_EQ(d.observe(kPromise + 2 * kMin, kPromise + 30 * kMin, -1).change, alert_change::cleared);
  EXPECT_EQ(sizeof(delivery_timeout_detector), 40u);
}

}  // namespace
}  // namespace xiaoxiang
