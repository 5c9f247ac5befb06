#include "xiaoxiang/sim/simulation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/geo/polyline.hpp"
#include "xiaoxiang/order/event_json.hpp"

namespace xiaoxiang {
namespace {

// A city with many anomalies, so that a short run has some of every kind.
sim_options busy_options(std::uint64_t seed = 7) {
  sim_options o;
  o.seed = seed;
  o.warehouses = 2;
  o.riders = 40;
  o.orders_per_rider_hour = 3;
  o.route_deviation_rate = 0.15;
  o.standstill_rate = 0.15;
  o.silent_rate = 0.15;
  o.timeout_rate = 0.1;
  o.duplicate_rate = 0.05;
  o.late_fix_rate = 0.02;
  o.offline_per_rider_hour = 2;
  o.drop_rate = 0.03;
  return o;
}

std::vector<sim_event> run(simulation& sim, duration_ms total, duration_ms dt) {
  std::vector<sim_event> out;
  for (duration_ms t = 0; t < total; t += dt) sim.step(std::min(dt, total - t), out);
  return out;
}

std::string encode(const std::vector<sim_event>& events) {
  std::string text;
  for (const auto& e : events) append_jsonl(e, text);
  return text;
}

TEST(Simulation, SameSeedSameBytesWhateverTheStepSize) {
  const sim_options o = busy_options();
  simulation a(o), b(o), c(busy_options(8));
  const std::string sa = encode(run(a, 40 * 60'000, 1'000));
  const std::string sb = encode(run(b, 40 * 60'000, 7'919));
  const std::string sc = encode(run(c, 40 * 60'000, 1'000));
  EXPECT_GT(sa.size(), 100'000u);
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
  EXPECT_EQ(a.ground_truth().size(), b.ground_truth().size());
  EXPECT_EQ(a.now(), o.start + 40 * 60'000);
}

TEST(Simulation, EveryLineDecodesToTheSameEvent) {
  simulation sim(busy_options());
  const auto events = run(sim, 30 * 60'000, 5'000);
  std::string line;
  for (const auto& item : events) {
    line.clear();
    append_jsonl(item, line);
    ASSERT_EQ(line.back(), '\n');
    line.pop_back();
    const auto decoded = event_from_json(line);
    ASSERT_TRUE(decoded.ok()) << decoded.message() << "\n" << line;
    ASSERT_EQ(*decoded, item.ev);
  }
}

struct order_view {
  order_status status = order_status::pending_payment;
  picking_stage stage = picking_stage::none;
  rider_id rider;
  timestamp_ms last_time = 0;
  timestamp_ms promised = 0;
  timestamp_ms end_time = -1;  // delivered or cancelled
  geo_point origin, destination;
  std::vector<geo_point> route;
};

// Replays the stream through a simple oracle of the order flow.
class flow_oracle {
 public:
  std::map<std::string, event> first_by_id;
  std::unordered_map<id, order_view> orders;
  std::uint64_t duplicates = 0, duplicate_positions = 0, positions = 0, batches = 0,
                batch_fixes = 0, late = 0;
  std::unordered_map<id, timestamp_ms> live_fix;  // rider -> newest position time delivered
  std::unordered_map<id, std::vector<position_fix>> fixes;  // rider -> all fixes (live and batch)

  void feed(const std::vector<sim_event>& stream) {
    timestamp_ms last_delivery = 0;
    for (const auto& item : stream) {
      ASSERT_GE(item.delivered_at, last_delivery) << "the queue delivers in time order";
      ASSERT_GE(item.delivered_at, item.ev.time);
      last_delivery = item.delivered_at;
      const event& e = item.ev;
      const std::string key(e.id.view());
      if (e.kind == event_kind::rider_position) ++positions;
      if (const auto seen = first_by_id.find(key); seen != first_by_id.end()) {
        ASSERT_EQ(seen->second, e) << "a duplicate repeats the payload: " << key;
        ++duplicates;
        if (e.kind == event_kind::rider_position) ++duplicate_positions;
        continue;
      }
      first_by_id.emplace(key, e);
      apply(e);
    }
  }

  void apply(const event& e) {
    if (e.kind == event_kind::rider_position) {
      auto& newest = live_fix[e.rider];
      if (e.time < newest) ++late;
      newest = std::max(newest, e.time);
      fixes[e.rider].push_back({e.time, e.position});
      return;
    }
    if (e.kind == event_kind::position_batch) {
      ++batches;
      batch_fixes += e.fixes.size();
      const timestamp_ms newest = live_fix[e.rider];
      for (const auto& f : e.fixes) {
        EXPECT_LT(f.time, newest) << "batch fixes are older than the live fix";
        fixes[e.rider].push_back(f);
      }
      return;
    }
    if (e.kind == event_kind::order_created) {
      ASSERT_FALSE(orders.count(e.order)) << e.order.view();
      order_view& o = orders[e.order];
      o.last_time = e.time;
      o.promised = e.promised_time;
      o.origin = e.origin;
      o.destination = e.destination;
      EXPECT_GT(e.promised_time, e.time);
      EXPECT_LE(haversine_m(e.origin, e.destination), 3'050);
      return;
    }
    ASSERT_TRUE(orders.count(e.order)) << "an event before order_created: " << e.order.view();
    order_view& o = orders[e.order];
    ASSERT_GE(e.time, o.last_time) << "per-order events in order";
    o.last_time = e.time;
    switch (e.kind) {
      case event_kind::order_paid:
        ASSERT_EQ(o.status, order_status::pending_payment);
        o.status = order_status::paid;
        break;
      case event_kind::picking_stage:
        ASSERT_EQ(o.status, order_status::paid) << "picking only while Paid";
        ASSERT_EQ(static_cast<int>(e.stage), static_cast<int>(o.stage) + 1) << "stages in order";
        o.stage = e.stage;
        break;
      case event_kind::rider_assigned:
        ASSERT_EQ(o.status, order_status::paid);
        ASSERT_EQ(o.stage, picking_stage::handed_over) << "assigned once picked and handed over";
        ASSERT_GE(e.route.size(), 2u);
        EXPECT_EQ(e.route.front(), o.origin);
        EXPECT_EQ(e.route.back(), o.destination);
        o.status = order_status::delivering;
        o.rider = e.rider;
        o.route = e.route;
        break;
      case event_kind::order_delivered:
        ASSERT_EQ(o.status, order_status::delivering);
        ASSERT_EQ(e.rider, o.rider) << "delivered by its rider";
        ASSERT_TRUE(e.has_position);
        EXPECT_LT(haversine_m(e.position, o.destination), 40);
        o.status = order_status::completed;
        o.end_time = e.time;
        break;
      case event_kind::order_cancelled:
        ASSERT_TRUE(can_transition(o.status, order_status::cancelled));
        o.status = order_status::cancelled;
        o.end_time = e.time;
        break;
      default: FAIL() << "unexpected kind";
    }
  }
};

TEST(Simulation, StreamObeysTheOrderFlowAndCountersMatch) {
  simulation sim(busy_options());
  const auto stream = run(sim, 150 * 60'000, 2'000);
  flow_oracle oracle;
  oracle.feed(stream);
  const sim_counters& c = sim.counters();
  EXPECT_EQ(c.events, stream.size());
  EXPECT_EQ(c.duplicates, oracle.duplicates);
  EXPECT_EQ(c.duplicate_positions, oracle.duplicate_positions);
  EXPECT_EQ(c.positions, oracle.positions);
  EXPECT_EQ(c.batches, oracle.batches);
  EXPECT_EQ(c.batch_fixes, oracle.batch_fixes);
  EXPECT_EQ(c.late_fixes, oracle.late);
  EXPECT_GT(c.duplicates, 100u);
  EXPECT_GT(c.late_fixes, 5u);
  EXPECT_GT(c.batches, 5u);

  std::map<order_status, int> final_status;
  for (const auto& [id_, o] : oracle.orders) ++final_status[o.status];
  EXPECT_GT(final_status[order_status::completed], 100);
  EXPECT_GT(final_status[order_status::cancelled], 3);
  EXPECT_EQ(static_cast<std::uint64_t>(final_status[order_status::completed]), c.orders_delivered);
  std::uint64_t created = oracle.orders.size();
  EXPECT_EQ(created, c.orders_created);

  // Riders carry one to three orders per trip: count assignments per rider
  // at the same time (same millisecond block of the dispatch).
  std::map<std::pair<std::string, timestamp_ms>, int> per_trip;
  for (const auto& [key, e] : oracle.first_by_id)
    if (e.kind == event_kind::rider_assigned) ++per_trip[{std::string(e.rider.view()), e.time / 1000}];
  int multi = 0;
  for (const auto& [trip, n] : per_trip) {
    EXPECT_LE(n, 3);
    multi += n > 1;
  }
  EXPECT_GT(multi, 10);
}

TEST(Simulation, DroppedAndSilentReportsAreExactlyTheMissingOnes) {
  sim_options o = busy_options(11);
  simulation sim(o);
  std::vector<sim_event> stream = run(sim, 60 * 60'000, 10'000);
  const sim_counters at_cut = sim.counters();
  const timestamp_ms cut = sim.now();
  // Let late, offline and batched fixes of reports before the cut arrive.
  std::vector<sim_event> more = run(sim, 10 * 60'000, 10'000);
  stream.insert(stream.end(), more.begin(), more.end());
  flow_oracle oracle;
  oracle.feed(stream);
  std::uint64_t missing = 0;
  for (int i = 0; i < o.riders; ++i) {
    std::set<timestamp_ms> times;
    for (const auto& f : oracle.fixes[sim.rider_name(static_cast<std::size_t>(i))]) times.insert(f.time);
    const timestamp_ms phase = 1 + (i * o.report_interval_ms) / o.riders;
    for (timestamp_ms t = o.start + phase; t <= cut; t += o.report_interval_ms) missing += !times.count(t);
  }
  EXPECT_EQ(missing, at_cut.dropped_fixes + at_cut.silent_fixes);
  EXPECT_GT(at_cut.dropped_fixes, 50u);
  EXPECT_GT(at_cut.silent_fixes, 10u);
}

TEST(Simulation, GroundTruthIsConsistentWithTheStream) {
  sim_options o = busy_options(5);
  simulation sim(o);
  const auto stream = run(sim, 180 * 60'000, 5'000);
  flow_oracle oracle;
  oracle.feed(stream);
  std::map<alert_kind, int> kinds;
  for (const anomaly_truth& row : sim.ground_truth()) {
    ++kinds[row.kind];
    ASSERT_TRUE(oracle.orders.count(row.order)) << row.order.view();
    const order_view& ov = oracle.orders.at(row.order);
    if (row.end_ms >= 0) {
      EXPECT_GE(row.end_ms, row.start_ms);
    }
    if (row.kind == alert_kind::delivery_timeout) {
      EXPECT_EQ(row.start_ms, ov.promised);
      if (row.end_ms >= 0) {
        EXPECT_EQ(row.end_ms, ov.end_time);
      }
      continue;
    }
    ASSERT_EQ(row.rider, ov.rider) << "the anomaly's rider delivers the order";
    if (row.end_ms < 0) continue;
    std::vector<position_fix> in_window;
    for (const auto& f : oracle.fixes[row.rider])
      if (f.time >= row.start_ms && f.time < row.end_ms) in_window.push_back(f);
    switch (row.kind) {
      case alert_kind::route_deviation: {
        auto line = polyline::make(ov.route);
        ASSERT_TRUE(line.ok());
        for (const auto& f : in_window)
          EXPECT_GT(line->project(f.point).distance_m, o.deviation_truth_m - 25) << row.order.view();
        break;
      }
      case alert_kind::standstill: {
        EXPECT_GE(row.end_ms - row.start_ms, o.standstill_min_ms);
        ASSERT_GE(in_window.size(), 2u);
        for (const auto& f : in_window)
          EXPECT_LT(haversine_m(f.point, in_window.front().point), 50) << row.order.view();
        break;
      }
      case alert_kind::rider_silent:
        EXPECT_TRUE(in_window.empty()) << row.order.view();
        break;
      default: break;
    }
  }
  EXPECT_GT(kinds[alert_kind::route_deviation], 3);
  EXPECT_GT(kinds[alert_kind::standstill], 3);
  EXPECT_GT(kinds[alert_kind::rider_silent], 3);
  EXPECT_GT(kinds[alert_kind::delivery_timeout], 3);

  // Every order delivered after its promise has a delivery_timeout row.
  std::set<id> late_rows;
  for (const auto& row : sim.ground_truth())
    if (row.kind == alert_kind::delivery_timeout) late_rows.insert(row.order);
  for (const auto& [oid, ov] : oracle.orders)
    if (ov.status == order_status::completed && ov.end_time > ov.promised) {
      EXPECT_TRUE(late_rows.count(oid)) << oid.view();
    }
}

TEST(Simulation, RidersMoveAtPlausibleSpeeds) {
  simulation sim(busy_options(9));
  const auto stream = run(sim, 60 * 60'000, 10'000);
  flow_oracle oracle;
  oracle.feed(stream);
  for (auto& [rider, list] : oracle.fixes) {
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.time < b.time; });
    for (std::size_t i = 1; i < list.size(); ++i) {
      const double s = static_cast<double>(list[i].time - list[i - 1].time) / 1000.0;
      ASSERT_GT(s, 0);
      // 7 m/s at most plus GPS noise.
      EXPECT_LT(haversine_m(list[i].point, list[i - 1].point), 7.5 * s + 40) << rider.view();
    }
  }
}

TEST(Simulation, ScalesFromNoRidersToThousands) {
  sim_options none;
  none.riders = 0;
  simulation empty(none);
  std::vector<sim_event> out;
  empty.step(600'000, out);
  EXPECT_TRUE(out.empty());

  sim_options one;
  one.riders = 1;
  one.warehouses = 1;
  simulation single(one);
  out = run(single, 10 * 60'000, 60'000);
  EXPECT_GE(single.counters().positions, 30u);

  sim_options many;
  many.riders = 3000;
  many.warehouses = 9;
  simulation big(many);
  out = run(big, 2 * 60'000, 1'000);
  // 3000 riders every 15 s for 2 minutes: about 24,000 reports, a few dropped.
  EXPECT_NEAR(static_cast<double>(big.counters().positions), 24'000, 1'000);
  EXPECT_EQ(big.city().warehouses().size(), 9u);
}

TEST(Simulation, GroundTruthCsvAndJsonLines) {
  anomaly_truth row;
  row.order = *id::make("O1");
  row.rider = *id::make("R2");
  row.kind = alert_kind::rider_silent;
  row.start_ms = 10;
  std::string csv;
  append_ground_truth_csv({row}, csv);
  EXPECT_EQ(csv, "order_id,rider_id,kind,start_ms,end_ms\nO1,R2,rider_silent,10,\n");
  EXPECT_STREQ(anomaly_kind_name(alert_kind::route_deviation), "route_deviation");
  EXPECT_STREQ(anomaly_kind_name(alert_kind::delivery_timeout), "delivery_timeout");
  EXPECT_STREQ(anomaly_kind_name(alert_kind::standstill), "standstill");

  sim_event item;
  item.delivered_at = 1234;
  item.ev.kind = event_kind::order_paid;
  item.ev.id = *id::make("E1");
  item.ev.time = 1000;
  item.ev.order = *id::make("O1");
  std::string line;
  append_jsonl(item, line);
  EXPECT_EQ(line, R"({"deliveredAt":1234,"type":"order_paid","eventId":"E1","time":1000,"orderId":"O1"})" "\n");
}

}  // namespace
}  // namespace xiaoxiang
