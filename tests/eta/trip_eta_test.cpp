#include "xiaoxiang/eta/trip_eta.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {

constexpr timestamp_ms kT0 = 1'764'072'000'000;  // 2025-11-25 12:00 UTC
const geo_point kStart{116.40, 39.90};
const cheap_ruler kRuler(39.90);

// A point `east_m` east and `north_m` north of kStart.
geo_point offset(double east_m, double north_m) {
  return {kStart.lon + east_m / kRuler.kx(), kStart.lat + north_m / kRuler.ky()};
}

// A synthetic trip on an L-shaped street (east, then north), ridden at a
// constant speed after a departure delay, fixes every 15 s, then a dwell.
struct synthetic_trip {
  std::vector<geo_point> route;
  std::vector<position_fix> fixes;
  completed_trip trip;
};

synthetic_trip make_trip(double east_m, double north_m, double speed_mps, timestamp_ms start,
                         double depart_s = 60, double dwell_s = 90, double noise_m = 0,
                         std::uint64_t seed = 1, bool with_route = true) {
  synthetic_trip s;
  for (double e = 0; e < east_m; e += 250) s.route.push_back(offset(e, 0));
  for (double n = 0; n <= north_m; n += 250) s.route.push_back(offset(east_m, n));
  if (s.route.back() != offset(east_m, north_m)) s.route.push_back(offset(east_m, north_m));
  const double length = east_m + north_m;
  const double ride_s = length / speed_mps;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, noise_m > 0 ? noise_m : 1);
  for (double t = 0;; t += 15) {
    const double d = std::clamp((t - depart_s) * speed_mps, 0.0, length);
    geo_point p = d <= east_m ? offset(d, 0) : offset(east_m, d - east_m);
    if (noise_m > 0) p = {p.lon + noise(rng) / kRuler.kx(), p.lat + noise(rng) / kRuler.ky()};
    s.fixes.push_back({start + static_cast<timestamp_ms>(t * 1000), p});
    if (t > depart_s + ride_s + dwell_s - 15) break;
  }
  s.trip.assigned_at = start;
  s.trip.delivered_at = start + static_cast<timestamp_ms>((depart_s + ride_s + dwell_s) * 1000);
  if (with_route) s.trip.route = s.route;
  s.trip.origin = s.route.front();
  s.trip.destination = s.route.back();
  s.trip.fixes = s.fixes;
  return s;
}

std::unique_ptr<eta_model> make_model(double rider_prior_s = eta_model_options{}.rider_prior_s) {
  eta_model_options o;
  o.rider_prior_s = rider_prior_s;
  o.speed.fine_cells = 1024;
  o.speed.coarse_cells = 64;
  o.warehouses = 8;
  auto m = eta_model::make(o);
  EXPECT_TRUE(m.ok());
  return std::move(*m);
}

// Riders trained at 4..6 m/s; the model's and the rider's estimates agree
// or the rider is faster: the ETA never goes up.
TEST(TripEta, MonotoneOnAFreeRoadAtConstantSpeed) {
  for (const double speed : {4.0, 5.0, 6.5, 9.0}) {
    auto model = make_model();
    for (int i = 0; i < 30; ++i)
      ASSERT_TRUE(learn_trip(*model, make_trip(2000, 1000, 4.0 + (i % 5) * 0.5, kT0 + i * 60'000).trip).ok());
    const synthetic_trip s = make_trip(2000, 1000, speed, kT0 + 3'600'000);
    std::vector<eta_estimate> out;
    ASSERT_TRUE(predict_trip(*model, s.trip, out).ok());
    ASSERT_EQ(out.size(), s.fixes.size());
    double previous = 1e18;
    for (std::size_t i = 0; i < out.size(); ++i) {
      ASSERT_TRUE(out[i].known());
      EXPECT_LE(out[i].median_s, previous + 1e-6) << "speed " << speed << " fix " << i;
      EXPECT_GE(out[i].p90_s, out[i].median_s);
      previous = out[i].median_s;
    }
  }
}

// A rider much slower than any trained: the estimate must rise to meet it,
// but smoothly (the predicted arrival moves by less than 1 s per 15 s).
TEST(TripEta, SlowRiderEstimateRisesSmoothly) {
  auto model = make_model();
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(learn_trip(*model, make_trip(2000, 1000, 4.0 + (i % 5) * 0.5, kT0 + i * 60'000).trip).ok());
  const synthetic_trip s = make_trip(2000, 1000, 3.0, kT0 + 3'600'000);
  std::vector<eta_estimate> out;
  ASSERT_TRUE(predict_trip(*model, s.trip, out).ok());
  for (std::size_t i = 1; i < out.size(); ++i) EXPECT_LE(out[i].median_s, out[i - 1].median_s + 1.0) << i;
}

TEST(TripEta, LearnsAKnownSpeedAndPredictsTheTrip) {
  auto model = make_model();
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(learn_trip(*model, make_trip(2000, 1000, 7.0, kT0 + i * 60'000, 60, 90, 3, i).trip).ok());
  EXPECT_EQ(model->trips_learned(), 40u);
  EXPECT_NEAR(model->speeds().speed_mps(offset(1000, 0), kT0), 7.0, 0.35);
  EXPECT_NEAR(model->speeds().speed_mps(offset(2000, 500), kT0), 7.0, 0.35);
  EXPECT_NEAR(model->departure_s(), 60, 12);
  EXPECT_NEAR(model->dwell_s(), 90, 20);
  const synthetic_trip s = make_trip(2000, 1000, 7.0, kT0 + 3'600'000, 60, 90, 3, 99);
  std::vector<eta_estimate> out;
  ASSERT_TRUE(predict_trip(*model, s.trip, out).ok());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double actual = static_cast<double>(s.trip.delivered_at - s.fixes[i].time) / 1000.0;
    EXPECT_NEAR(out[i].median_s, actual, 30 + 0.05 * actual) << "fix " << i;
  }
}

// With a quick rider correction (2 minutes of evidence count as much as the
// model), a rider 50% faster than everyone trained is followed.
TEST(TripEta, RiderCorrectionFollowsAFastRider) {
  auto model = make_model(120);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(learn_trip(*model, make_trip(3000, 0, 5.0, kT0 + i * 60'000).trip).ok());
  const synthetic_trip fast = make_trip(3000, 0, 7.5, kT0 + 3'600'000);
  std::vector<eta_estimate> out;
  ASSERT_TRUE(predict_trip(*model, fast.trip, out).ok());
  // Halfway, the rider's own pace has taken over most of the estimate.
  const std::size_t half = out.size() / 2;
  const double actual = static_cast<double>(fast.trip.delivered_at - fast.fixes[half].time) / 1000.0;
  const double model_only = 1500 / 5.0 + 90;
  EXPECT_LT(std::abs(out[half].median_s - actual), 0.5 * std::abs(model_only - actual));
}

TEST(TripEta, NoRouteUsesTheLearnedDetour) {
  auto model = make_model();
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(learn_trip(*model, make_trip(2000, 2000, 6.0, kT0 + i * 60'000, 60, 90, 0, 1, false).trip).ok());
  EXPECT_NEAR(model->detour(), std::sqrt(2.0), 0.05);
  const synthetic_trip s = make_trip(2000, 2000, 6.0, kT0 + 3'600'000, 60, 90, 0, 1, false);
  std::vector<eta_estimate> out;
  ASSERT_TRUE(predict_trip(*model, s.trip, out).ok());
  const double actual0 = static_cast<double>(s.trip.delivered_at - s.fixes[0].time) / 1000.0;
  EXPECT_NEAR(out[0].median_s, actual0, 0.1 * actual0);
  for (const eta_estimate& e : out) EXPECT_GE(e.p90_s, e.median_s);
}

TEST(TripEta, ProcessingPhaseThenDelivery) {
  auto model = make_model();
  const warehouse_id w = *id::make("W0");
  trip_eta eta;
  EXPECT_FALSE(eta.estimate_processing(*model, kT0).known());
  ASSERT_TRUE(eta.start_processing(w, kT0, kStart, offset(2000, 1000)).ok());
  EXPECT_EQ(eta.phase(), eta_phase::processing);
  const eta_estimate e0 = eta.estimate_processing(*model, kT0);
  ASSERT_TRUE(e0.known());
  EXPECT_GT(e0.median_s, 600);  // default processing + ride
  EXPECT_GE(e0.p90_s, e0.median_s);
  // Teach 300 s of processing at W0 through the online path.
  for (int i = 0; i < 20; ++i) {
    trip_eta t;
    ASSERT_TRUE(t.start_processing(w, kT0, kStart, offset(100, 0)).ok());
    ASSERT_TRUE(t.start_delivery(*model, kT0 + 300'000, nullptr, kStart, offset(100, 0)).ok());
    t.cancel();
  }
  const eta_estimate e1 = eta.estimate_processing(*model, kT0);
  EXPECT_NEAR(e1.median_s - e0.median_s, 300 - 600, 30);
  // Fixes before delivery starts change nothing.
  EXPECT_FALSE(eta.on_fix(*model, kT0 + 1000, kStart, nullptr, nullptr).known());
}

TEST(TripEta, IgnoresStaleAndBadFixes) {
  auto model = make_model();
  trip_eta eta;
  ASSERT_TRUE(eta.start_delivery(*model, kT0, nullptr, kStart, offset(3000, 0)).ok());
  const eta_estimate a = eta.on_fix(*model, kT0 + 15'000, offset(0, 0), nullptr, nullptr);
  const eta_estimate b = eta.on_fix(*model, kT0 + 30'000, offset(200, 0), nullptr, nullptr);
  EXPECT_LT(b.median_s, a.median_s);
  const eta_estimate c = eta.on_fix(*model, kT0 + 20'000, offset(2900, 0), nullptr, nullptr);  // stale
  EXPECT_DOUBLE_EQ(c.median_s, b.median_s);
  const eta_estimate d = eta.on_fix(*model, kT0 + 45'000, geo_point{std::nan(""), 0}, nullptr, nullptr);
  EXPECT_DOUBLE_EQ(d.median_s, b.median_s);
  EXPECT_TRUE(eta.departed());
  // A route was not given, so a projection is not needed; with a route it is.
  eta.finish(*model, kT0 + 600'000);
  EXPECT_EQ(eta.phase(), eta_phase::done);
  EXPECT_DOUBLE_EQ(eta.on_fix(*model, kT0 + 60'000, offset(300, 0), nullptr, nullptr).median_s, b.median_s);
}

TEST(TripEta, StartErrorsNameTheField) {
  auto model = make_model();
  trip_eta eta;
  const warehouse_id w = *id::make("W0");
  auto s = eta.start_processing(w, -1, kStart, kStart);
  EXPECT_EQ(s.code, make_error_code(errc::invalid_timestamp));
  EXPECT_STREQ(s.field, "paidAt");
  s = eta.start_processing(w, kT0, geo_point{181, 0}, kStart);
  EXPECT_EQ(s.code, make_error_code(errc::invalid_longitude));
  EXPECT_STREQ(s.field, "origin");
  s = eta.start_processing(w, kT0, kStart, geo_point{0, 91});
  EXPECT_EQ(s.code, make_error_code(errc::invalid_latitude));
  EXPECT_STREQ(s.field, "destination");
  s = eta.start_delivery(*model, -5, nullptr, kStart, kStart);
  EXPECT_EQ(s.code, make_error_code(errc::invalid_timestamp));
  EXPECT_STREQ(s.field, "assignedAt");
  ASSERT_TRUE(eta.start_processing(w, kT0, kStart, offset(100, 0)).ok());
  s = eta.start_delivery(*model, kT0 - 1, nullptr, kStart, offset(100, 0));
  EXPECT_EQ(s.code, make_error_code(errc::eta_invalid_trip_time));
  EXPECT_STREQ(s.field, "assignedAt");
}

TEST(TripEta, CheckTripErrorsNameTheField) {
  auto model = make_model();
  const synthetic_trip good = make_trip(1000, 0, 5, kT0);
  ASSERT_TRUE(check_trip(good.trip).ok());
  auto expect = [&](completed_trip t, errc code, const char* field) {
    const status_result s = check_trip(t);
    EXPECT_EQ(s.code, make_error_code(code)) << field;
    EXPECT_STREQ(s.field, field);
    const status_result l = learn_trip(*model, t);
    EXPECT_EQ(l.code, make_error_code(code)) << field;
  };
  completed_trip t = good.trip;
  t.delivered_at = t.assigned_at - 1;
  expect(t, errc::eta_invalid_trip_time, "deliveredAt");
  t = good.trip;
  t.paid_at = t.assigned_at + 1;
  expect(t, errc::eta_invalid_trip_time, "paidAt");
  t = good.trip;
  t.assigned_at = -1;
  expect(t, errc::invalid_timestamp, "assignedAt");
  t = good.trip;
  t.delivered_at = 99'999'999'999'999'999;
  expect(t, errc::invalid_timestamp, "deliveredAt");
  t = good.trip;
  t.fixes = t.fixes.first(1);
  expect(t, errc::eta_too_few_fixes, "fixes");
  std::vector<position_fix> fixes = good.fixes;
  std::swap(fixes[1], fixes[2]);
  t = good.trip;
  t.fixes = fixes;
  expect(t, errc::eta_unordered_fixes, "fixes");
  fixes = good.fixes;
  fixes[3].point.lat = 95;
  t.fixes = fixes;
  expect(t, errc::invalid_latitude, "fixes");
  const std::vector<geo_point> one{kStart};
  t = good.trip;
  t.route = one;
  expect(t, errc::invalid_polyline, "route");
  const std::vector<geo_point> bad{kStart, geo_point{-200, 0}};
  t.route = bad;
  expect(t, errc::invalid_polyline, "route");
  t = good.trip;
  t.route = {};
  t.origin = geo_point{std::nan(""), 0};
  expect(t, errc::invalid_longitude, "origin");
  EXPECT_EQ(model->trips_learned(), 0u);
}

// Seeded random trips (speeds, shapes, noise): the estimate is known at
// every fix in the window, P90 >= median >= 0.
TEST(TripEta, RandomTripsQuantilesOrdered) {
  auto model = make_model();
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> len(300, 3000), v(3, 9);
  for (int i = 0; i < 60; ++i) {
    const synthetic_trip s = make_trip(len(rng), len(rng), v(rng), kT0 + i * 300'000, 30, 60, 5, i, i % 3 != 0);
    std::vector<eta_estimate> out;
    ASSERT_TRUE(predict_trip(*model, s.trip, out).ok());
    for (const eta_estimate& e : out) {
      ASSERT_TRUE(e.known());
      EXPECT_GE(e.median_s, 0);
      EXPECT_GE(e.p90_s, e.median_s);
    }
    ASSERT_TRUE(learn_trip(*model, s.trip).ok());
  }
}

TEST(TripEta, ConcurrentLearningAndEstimating) {
  auto model = make_model();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&model, t] {
      for (int i = 0; i < 10; ++i) {
        const synthetic_trip s = make_trip(1500, 500, 5.0 + t, kT0 + i * 60'000, 30, 30, 3, t * 100 + i);
        EXPECT_TRUE(learn_trip(*model, s.trip).ok());
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(model->trips_learned(), 40u);
}

}  // namespace
}  // namespace xiaoxiang

namespace xiaoxiang {
namespace {

TEST(TripEtaStops, IntermediateStopAddsADwellUntilLeft) {
  auto model = make_model();
  const synthetic_trip s = make_trip(3000, 0, 5.0, kT0);
  auto route = eta_route::make(*model, s.route, kT0);
  ASSERT_TRUE(route.ok());
  trip_eta plain, stopping;
  ASSERT_TRUE(plain.start_delivery(*model, kT0, &*route, {}, {}).ok());
  const std::vector<double> stops{1000.0, -5.0, 2990.0};  // only 1000 lies inside the route
  ASSERT_TRUE(stopping.start_delivery(*model, kT0, &*route, {}, {}, eta_learning::off, stops).ok());
  EXPECT_NEAR(stopping.last().median_s - plain.last().median_s, model->dwell_s(), 1e-6);
  // Past the stop (and its radius) the extra dwell is gone.
  const geo_point past = offset(1500, 0);
  const polyline_projection p1 = route->line().project(offset(100, 0));
  const polyline_projection p2 = route->line().project(past);
  (void)plain.on_fix(*model, kT0 + 60'000, offset(100, 0), &*route, &p1, eta_learning::off);
  (void)stopping.on_fix(*model, kT0 + 60'000, offset(100, 0), &*route, &p1, eta_learning::off);
  EXPECT_NEAR(stopping.last().median_s - plain.last().median_s, model->dwell_s(), 1e-6);
  const eta_estimate a = plain.on_fix(*model, kT0 + 360'000, past, &*route, &p2, eta_learning::off);
  const eta_estimate b = stopping.on_fix(*model, kT0 + 360'000, past, &*route, &p2, eta_learning::off);
  EXPECT_NEAR(a.median_s, b.median_s, 1e-6);
}

TEST(TripEtaStops, LearnTripsChecksAllThenLearnsInTwoPasses) {
  auto model = make_model();
  std::vector<synthetic_trip> data;
  for (int i = 0; i < 12; ++i) data.push_back(make_trip(2000, 500, 5.0 + 0.1 * i, kT0 + i * 60'000));
  std::vector<completed_trip> trips;
  for (const auto& d : data) trips.push_back(d.trip);
  trips[7].delivered_at = trips[7].assigned_at - 1;
  std::size_t failed = 99;
  const status_result bad = learn_trips(*model, trips, &failed);
  EXPECT_EQ(bad.code, make_error_code(errc::eta_invalid_trip_time));
  EXPECT_STREQ(bad.field, "deliveredAt");
  EXPECT_EQ(failed, 7u);
  EXPECT_EQ(model->trips_learned(), 0u);
  EXPECT_EQ(model->error_samples(-1), 0u);
  trips[7] = data[7].trip;
  ASSERT_TRUE(learn_trips(*model, trips).ok());
  EXPECT_EQ(model->trips_learned(), 12u);
  // The error model saw every trip once, all with the trained model.
  EXPECT_GE(model->error_samples(-1), 12u * 5);
  EXPECT_NEAR(model->calibration(0).median_ratio, 1.0, 0.1);
}

// The error pass takes each trip's speeds out while it replays it and puts
// them back: the speeds after learn_trips are exactly those of one pass per
// trip (learn_trip, online), to the last integer of every cell.
TEST(TripEtaStops, LearnTripsLeavesTheSpeedsOfOnePassPerTrip) {
  auto batch = make_model();
  auto online = make_model();
  std::vector<synthetic_trip> data;
  for (int i = 0; i < 10; ++i)
    data.push_back(make_trip(1500 + 100 * i, 400, 4.0 + 0.3 * i, kT0 + i * 400'000, 60, 90, 4.0,
                             static_cast<std::uint64_t>(i + 1)));
  std::vector<completed_trip> trips;
  for (const auto& d : data) trips.push_back(d.trip);
  ASSERT_TRUE(learn_trips(*batch, trips).ok());
  for (const auto& t : trips) ASSERT_TRUE(learn_trip(*online, t).ok());
  const speed_model& a = batch->speeds();
  const speed_model& b = online->speeds();
  for (int bucket = -1; bucket < a.buckets(); ++bucket) {
    EXPECT_EQ(a.global(bucket).distance_m, b.global(bucket).distance_m) << bucket;
    EXPECT_EQ(a.global(bucket).time_s, b.global(bucket).time_s) << bucket;
  }
  for (const auto& d : data)
    for (const position_fix& f : d.fixes) {
      EXPECT_EQ(a.fine_cell(f.point, -1).time_s, b.fine_cell(f.point, -1).time_s);
      EXPECT_EQ(a.fine_cell(f.point, a.bucket(f.time)).distance_m,
                b.fine_cell(f.point, b.bucket(f.time)).distance_m);
      EXPECT_EQ(a.speed_mps(f.point, f.time), b.speed_mps(f.point, f.time));
    }
  EXPECT_GT(a.global(-1).time_s, 0);
}

// Out of sample: every trip on a street of its own (400 m apart), at 3 or
// 9 m/s. Predicted with its own speeds in the model (in sample) each trip
// looks nearly exact; with them taken out it is predicted from the coarser
// levels, which mix both speeds, and the learned P90 is wide.
TEST(TripEtaStops, LearnTripsErrorsAreOutOfSample) {
  auto model = make_model();
  std::vector<synthetic_trip> data;  // completed_trip views their fixes
  for (int i = 0; i < 24; ++i) {
    synthetic_trip d = make_trip(2500, 0, i % 2 ? 9.0 : 3.0, kT0 + i * 60'000);
    const double north = 400.0 * i / kRuler.ky();
    for (geo_point& p : d.route) p.lat += north;
    for (position_fix& f : d.fixes) f.point.lat += north;
    d.trip.route = d.route;
    d.trip.fixes = d.fixes;
    d.trip.origin = d.route.front();
    d.trip.destination = d.route.back();
    data.push_back(std::move(d));
  }
  std::vector<completed_trip> trips;
  for (const auto& d : data) trips.push_back(d.trip);
  const status_result learned = learn_trips(*model, trips);
  ASSERT_TRUE(learned.ok()) << learned.message();
  ASSERT_GE(model->error_samples(0), 20u);
  const eta_calibration early = model->calibration(0);
  // Measured: P90 / median 2.38 out of sample; 1.97 when each trip was
  // replayed with its own speeds in the model (before 2026-12-08).
  EXPECT_GT(early.p90_ratio, 2.2 * early.median_ratio)
      << early.median_ratio << " " << early.p90_ratio;
}

}  // namespace
}  // namespace xiaoxiang

namespace xiaoxiang {
namespace {

// The engine embeds a trip_eta in each order's slot: a plain value, no heap.
static_assert(std::is_trivially_copyable_v<trip_eta>);
static_assert(sizeof(trip_eta) <= 512);

}  // namespace
}  // namespace xiaoxiang
