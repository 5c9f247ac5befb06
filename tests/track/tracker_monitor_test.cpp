// The ETA and the anomaly detectors as the engine runs them: what every
// pushed message carries, alerts raised by fixes and by the clock (tick),
// versions and records they produce, and the options that turn them off.
#include <gtest/gtest.h>

#include "event_builder.hpp"
#include "recording_publisher.hpp"
#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"

namespace xiaoxiang {
namespace {

using testing::event_builder;
using testing::make_id;
using testing::recording_publisher;

constexpr std::size_t kDeviation = static_cast<std::size_t>(alert_kind::route_deviation);
constexpr std::size_t kStandstill = static_cast<std::size_t>(alert_kind::standstill);
constexpr std::size_t kTimeout = static_cast<std::size_t>(alert_kind::delivery_timeout);
constexpr std::size_t kSilent = static_cast<std::size_t>(alert_kind::rider_silent);

// A straight route east along latitude 39.90 from the warehouse (116.40)
// to the customer's longitude, 116.42 (about 1.7 km).
const std::vector<geo_point> kRoute = {{116.40, 39.90}, {116.41, 39.90}, {116.42, 39.90}};

class TrackerMonitorTest : public ::testing::Test {
 protected:
  event_builder b;
  manual_clock clock{b.time()};
  recording_publisher pub;
  memory_storage store;
  tracker_options options;

  std::unique_ptr<tracker> make() { return std::make_unique<tracker>(options, &store, &pub, &clock); }

  void to_delivering(tracker& t, const std::string& order, const std::string& rider = "R1") {
    ASSERT_TRUE(t.ingest(b.created(order)).accepted());
    ASSERT_TRUE(t.ingest(b.paid(order)).accepted());
    ASSERT_TRUE(t.ingest(b.assigned(order, rider, kRoute)).accepted());
  }
  // A fix `dt` ms after the previous event.
  ingest_result fix(tracker& t, const std::string& rider, geo_point p, duration_ms dt = 15'000) {
    b.advance(dt);
    clock.set(b.time());
    return t.ingest(b.position(rider, p));
  }
  // The point `metres` east of the warehouse along the route, `off_m` north of it.
  static geo_point along(double metres, double off_m = 0) {
    const cheap_ruler ruler(39.90);  // metres per degree here
    return {116.40 + metres / ruler.kx(), 39.90 + off_m / ruler.ky()};
  }
};

TEST_F(TrackerMonitorTest, PaidOrderGetsAProcessingEstimateAndEveryMessageCarriesEtaAndAlerts) {
  auto t = make();
  ASSERT_TRUE(t->ingest(b.created("O1")).accepted());
  ASSERT_TRUE(t->ingest(b.paid("O1")).accepted());
  const auto s = t->snapshot(make_id("O1"));
  ASSERT_TRUE(s);
  EXPECT_GT(s->eta_seconds, 0);
  EXPECT_GE(s->eta_p90_seconds, s->eta_seconds);
  ASSERT_TRUE(t->ingest(b.assigned("O1", "R1", kRoute)).accepted());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(fix(*t, "R1", along(100.0 * i)).accepted());
  const auto changes = pub.changes("O1");
  ASSERT_EQ(changes.size(), 8u);
  for (std::size_t i = 1; i < changes.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(changes[i].changed & field::eta, field::eta);
    EXPECT_EQ(changes[i].changed & field::alerts, field::alerts);
    EXPECT_GE(changes[i].state.eta_p90_seconds, changes[i].state.eta_seconds);
  }
  EXPECT_TRUE(pub.gaps().empty());
  // Riding on along a free road: the estimate does not grow.
  EXPECT_LT(changes.back().state.eta_seconds, changes[4].state.eta_seconds);
  for (const alert& a : changes.back().state.alerts) EXPECT_FALSE(a.active);
}

TEST_F(TrackerMonitorTest, RouteDeviationIsRaisedOnceAndClearedOnTheWayBack) {
  auto t = make();
  to_delivering(*t, "O1");
  ASSERT_TRUE(fix(*t, "R1", along(100)).accepted());
  std::uint64_t raised_version = 0;
  for (int i = 0; i < 4; ++i) {
    const auto r = fix(*t, "R1", along(200 + 60.0 * i, 300));  // 300 m north of the route
    ASSERT_TRUE(r.accepted()) << r.message();
    const auto s = t->snapshot(make_id("O1"));
    if (s->alerts[kDeviation].active && raised_version == 0) raised_version = r.version;
  }
  ASSERT_NE(raised_version, 0u);
  auto s = t->snapshot(make_id("O1"));
  EXPECT_TRUE(s->alerts[kDeviation].active);
  EXPECT_NEAR(s->alerts[kDeviation].value, 300, 5);  // metres off the route
  ASSERT_TRUE(fix(*t, "R1", along(500)).accepted());
  s = t->snapshot(make_id("O1"));
  EXPECT_FALSE(s->alerts[kDeviation].active);
  EXPECT_EQ(t->metrics().alerts_raised, 1u);
  EXPECT_EQ(t->metrics().alerts_cleared, 1u);
  // Pushed once raised and once cleared: the active flag flips exactly twice.
  int flips = 0;
  bool was = false;
  for (const auto& c : pub.changes("O1")) {
    if (c.state.alerts[kDeviation].active != was) ++flips;
    was = c.state.alerts[kDeviation].active;
  }
  EXPECT_EQ(flips, 2);
}

TEST_F(TrackerMonitorTest, StandstillOnTheWayIsRaisedButNotAtTheCustomer) {
  auto t = make();
  to_delivering(*t, "O1");
  ASSERT_TRUE(fix(*t, "R1", along(300)).accepted());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(fix(*t, "R1", along(600)).accepted());  // 90 s still
  auto s = t->snapshot(make_id("O1"));
  EXPECT_TRUE(s->alerts[kStandstill].active);
  EXPECT_GT(s->alerts[kStandstill].value, 0.5);  // minutes stopped
  // Moving on (one fix away may be a GPS spike; the second confirms it).
  ASSERT_TRUE(fix(*t, "R1", along(800)).accepted());
  ASSERT_TRUE(fix(*t, "R1", along(1000)).accepted());
  EXPECT_FALSE(t->snapshot(make_id("O1"))->alerts[kStandstill].active);

  // The same wait at the customer's door is the hand-over.
  auto t2 = make();
  to_delivering(*t2, "O2", "R2");
  const geo_point door{116.42, 39.91};
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(fix(*t2, "R2", door).accepted());
  EXPECT_FALSE(t2->snapshot(make_id("O2"))->alerts[kStandstill].active);
}

TEST_F(TrackerMonitorTest, TickRaisesRiderSilenceAsAVersionWithAnAlertRecord) {
  auto t = make();
  to_delivering(*t, "O1");
  ASSERT_TRUE(fix(*t, "R1", along(100)).accepted());
  const std::uint64_t before = t->snapshot(make_id("O1"))->version;
  // Ticks while the rider is silent: nothing until the limit.
  EXPECT_EQ(t->tick(b.time() + 60'000), 0u);
  EXPECT_EQ(t->snapshot(make_id("O1"))->version, before);
  const timestamp_ms late = b.time() + options.rider_silent.silent_after_ms + 1'000;
  clock.set(late);
  EXPECT_EQ(t->tick(late), 1u);
  auto s = t->snapshot(make_id("O1"));
  EXPECT_EQ(s->version, before + 1);
  EXPECT_TRUE(s->alerts[kSilent].active);
  EXPECT_EQ(t->tick(late + 1'000), 0u);  // raised once
  t->flush();
  const auto records = store.records_since(make_id("O1"), before);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].kind, record_kind::alert);
  EXPECT_EQ(records[0].version, before + 1);
  EXPECT_NE(records[0].address.find("riderSilent raised"), std::string::npos) << records[0].address;
  EXPECT_TRUE(pub.gaps().empty());
  // The next fix clears it, in the fix's own version.
  b.advance(options.rider_silent.silent_after_ms + 2'000);
  clock.set(b.time());
  ASSERT_TRUE(t->ingest(b.position("R1", along(400))).accepted());
  EXPECT_FALSE(t->snapshot(make_id("O1"))->alerts[kSilent].active);
}

TEST_F(TrackerMonitorTest, TimeoutWarnsOrIsLateAndEveryAlertClearsWithTheDelivery) {
  auto t = make();
  to_delivering(*t, "O1");
  ASSERT_TRUE(fix(*t, "R1", along(100)).accepted());
  const timestamp_ms promised = b.time() + 30 * 60'000 - 3 * 15'000 - 15'000;  // created + 30 min
  const timestamp_ms after = promised + 5 * 60'000;
  clock.set(after);
  t->tick(after);
  auto s = t->snapshot(make_id("O1"));
  ASSERT_TRUE(s->alerts[kTimeout].active);
  EXPECT_GT(s->alerts[kTimeout].value, 4.0);  // minutes late
  b.advance(after - b.time());
  ASSERT_TRUE(t->ingest(b.delivered("O1", "R1")).accepted());
  s = t->snapshot(make_id("O1"));
  for (const alert& a : s->alerts) EXPECT_FALSE(a.active);
  EXPECT_EQ(s->eta_seconds, -1);
  EXPECT_EQ(t->tick(after + 60'000), 0u);  // terminal orders are not watched
  EXPECT_GE(t->eta().trips_learned(), 1u);  // the delivery taught the model
}

TEST_F(TrackerMonitorTest, OffMeansNoEtaNoAlertsAndTheRouteStillServed) {
  options.eta = false;
  options.detectors = false;
  auto t = make();
  to_delivering(*t, "O1");
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(fix(*t, "R1", along(300, 300)).accepted());
  const auto s = t->snapshot(make_id("O1"));
  EXPECT_EQ(s->eta_seconds, -1);
  for (const alert& a : s->alerts) EXPECT_FALSE(a.active);
  for (const auto& c : pub.changes("O1")) {
    if (c.changed == field::all) continue;  // the creation's snapshot
    EXPECT_EQ(c.changed & (field::eta | field::alerts), 0u);
  }
  EXPECT_EQ(t->tick(b.time() + 3'600'000), 0u);
  EXPECT_EQ(t->route(make_id("O1")), kRoute);
}

TEST_F(TrackerMonitorTest, RouteIsServedFromTheMonitorWhileDelivering) {
  auto t = make();
  to_delivering(*t, "O1");
  EXPECT_EQ(t->route(make_id("O1")), kRoute);
  ASSERT_TRUE(t->ingest(b.delivered("O1", "R1")).accepted());
  EXPECT_TRUE(t->route(make_id("O1")).empty());
}

}  // namespace
}  // namespace xiaoxiang
