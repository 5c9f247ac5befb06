// rider_silent_detector: raised by the clock after silent_after_ms without a
// fix, cleared by the next fix, only while running (Delivering).
#include "xiaoxiang/anomaly/rider_silent.hpp"

#include <gtest/gtest.h>

namespace xiaoxiang {
namespace {

constexpr timestamp_ms kT0 = 1'700'000'000'000;

TEST(RiderSilent, RegularFixesNeverRaise) {
  rider_silent_detector d;
  d.start(kT0);
  for (timestamp_ms t = kT0; t < kT0 + 3'600'000; t += 1000) {
    if ((t - kT0) % 15'000 == 0) {
      EXPECT_EQ(d.on_fix(t, t + 200).change, alert_change::none);
    }
    EXPECT_EQ(d.on_tick(t).change, alert_change::none);
  }
}

TEST(RiderSilent, SilenceRaisesOnceAndTheNextFixClears) {
  rider_silent_detector d;
  d.start(kT0);
  d.on_fix(kT0 + 15'000, kT0 + 15'100);
  int raised = 0;
  timestamp_ms raised_at = 0;
  for (timestamp_ms t = kT0 + 16'000; t <= kT0 + 15'000 + 600'000; t += 1000) {
    const auto u = d.on_tick(t);
    if (u.change == alert_change::raised) ++raised, raised_at = t;
  }
  EXPECT_EQ(raised, 1);
  EXPECT_EQ(raised_at, kT0 + 15'000 + 270'000);
  EXPECT_EQ(d.current().since, kT0 + 30'000);  // the first report missed
  EXPECT_DOUBLE_EQ(d.current().value, 10.0);   // minutes without a fix
  // An old fix (from an offline batch older than the last contact) does not clear.
  EXPECT_EQ(d.on_fix(kT0 + 10'000, kT0 + 620'000).change, alert_change::none);
  const auto c = d.on_fix(kT0 + 620'000, kT0 + 620'000);
  EXPECT_EQ(c.change, alert_change::cleared);
  EXPECT_FALSE(d.current().active);
}

TEST(RiderSilent, OfflineEpisodeUnderTheLimitIsNoAlert) {
  rider_silent_detector d;
  d.start(kT0);
  for (timestamp_ms t = kT0; t < kT0 + 240'000; t += 1000) EXPECT_EQ(d.on_tick(t).change, alert_change::none);
  d.on_fix(kT0 + 250'000, kT0 + 250'000);
  EXPECT_EQ(d.on_tick(kT0 + 260'000).change, alert_change::none);
}

TEST(RiderSilent, OnlyWhileRunning) {
  rider_silent_detector d;
  EXPECT_EQ(d.on_tick(kT0 + 3'600'000).change, alert_change::none);  // never started
  d.start(kT0);
  EXPECT_EQ(d.on_tick(kT0 + 300'000).change, alert_change::raised);
  EXPECT_EQ(d.stop(kT0 + 310'000).change, alert_change::cleared);
  EXPECT_FALSE(d.running());
  EXPECT_EQ(d.on_tick(kT0 + 900'000).change, alert_change::none);
  EXPECT_EQ(d.on_fix(kT0 + 900'000, kT0 + 900'000).change, alert_change::none);
  EXPECT_EQ(sizeof(rider_silent_detector), 40u);
}

}  // namespace
}  // namespace xiaoxiang
