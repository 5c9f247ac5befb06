// The detectors' defaults scored on the simulator's injected ground truth,
// wired as the engine wires them: route distance per live fix from the
// rider_assigned route (geo/polyline), standstill with "planned stop" near
// the warehouse or a customer of the rider's orders, rider silent and
// delivery timeout on a 1 s clock. Goals (issue 7): precision and recall
// >= 0.95 per kind, median delay < 60 s — rider silent cannot meet the delay
// (see docs/anomaly.md) and is held to its own bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "xiaoxiang/anomaly/delivery_timeout.hpp"
#include "xiaoxiang/anomaly/rider_silent.hpp"
#include "xiaoxiang/anomaly/route_deviation.hpp"
#include "xiaoxiang/anomaly/standstill.hpp"
#include "xiaoxiang/geo/polyline.hpp"
#include "xiaoxiang/sim/simulation.hpp"

namespace xiaoxiang {
namespace {

constexpr double kPlannedStopM = 60;  // a fix this close to the warehouse or a customer

struct tracked_order {
  geo_point origin, destination;
  timestamp_ms promised = 0;
  rider_id rider;
  std::optional<polyline> route;
  projection_hint hint;
  bool delivering = false;
  bool active = true;
  route_deviation_detector deviation;
  standstill_detector standstill;
  delivery_timeout_detector timeout;
  rider_silent_detector silent;
};

struct episode {
  order_id order;
  alert_kind kind;
  timestamp_ms raised_at;
};

struct kind_score {
  int truth = 0, truth_found = 0, episodes = 0, episodes_matched = 0;
  std::vector<double> delays_s;
  double precision() const { return episodes ? double(episodes_matched) / episodes : 1.0; }
  double recall() const { return truth ? double(truth_found) / truth : 1.0; }
  double median_delay_s() const {
    if (delays_s.empty()) return 0;
    std::vector<double> d = delays_s;
    std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2), d.end());
    return d[d.size() / 2];
  }
};

struct evaluation {
  std::map<alert_kind, kind_score> scores;
};

evaluation run_sim(std::uint64_t seed, int riders, duration_ms length_ms) {
  sim_options so;
  so.seed = seed;
  so.riders = riders;
  simulation sim(so);
  std::unordered_map<order_id, tracked_order> orders;
  std::unordered_map<rider_id, timestamp_ms> last_live;            // rider -> latest live fix
  std::unordered_map<rider_id, std::vector<order_id>> carrying;    // rider -> delivering orders
  std::unordered_map<rider_id, geo_point> last_drop;               // rider -> latest customer left
  std::vector<episode> episodes;
  const route_deviation_options dev_o;
  const standstill_options stand_o;
  const delivery_timeout_options late_o;
  const rider_silent_options silent_o;

  auto note = [&](const order_id& id, alert_kind kind, const alert_update& u, timestamp_ms now) {
    if (u.change == alert_change::raised) episodes.push_back({id, kind, now});
  };
  auto leave_delivering = [&](const order_id& id, tracked_order& o, timestamp_ms now) {
    o.deviation.reset();
    o.standstill.reset();
    o.silent.stop(now);
    last_drop[o.rider] = o.destination;  // the rider may stand there a while yet (handover)
    auto& list = carrying[o.rider];
    list.erase(std::remove(list.begin(), list.end(), id), list.end());
    o.delivering = false;
  };
  std::unordered_set<event_id> seen;
  std::vector<sim_event> items;
  const timestamp_ms end = so.start + length_ms;
  while (sim.now() < end) {
    items.clear();
    sim.step(1'000, items);
    const timestamp_ms now = sim.now();
    for (const sim_event& item : items) {
      const event& ev = item.ev;
      if (!seen.insert(ev.id).second) continue;  // at-least-once: drop duplicates
      const timestamp_ms at = item.delivered_at;
      switch (ev.kind) {
        case event_kind::order_created: {
          tracked_order& o = orders[ev.order];
          o.origin = ev.origin;
          o.destination = ev.destination;
          o.promised = ev.promised_time;
          break;
        }
        case event_kind::rider_assigned: {
          auto it = orders.find(ev.order);
          if (it == orders.end()) break;
          tracked_order& o = it->second;
          o.rider = ev.rider;
          if (ev.route.size() >= 2) {
            auto line = polyline::make(ev.route);
            if (line) o.route = std::move(*line);
          }
          o.delivering = true;
          o.silent.start(at);
          carrying[ev.rider].push_back(ev.order);
          break;
        }
        case event_kind::rider_position: {
          auto& last = last_live[ev.rider];
          if (ev.time <= last) break;  // stale: trajectory only, detectors see live fixes
          last = ev.time;
          for (const order_id& id : carrying[ev.rider]) {
            tracked_order& o = orders[id];
            note(id, alert_kind::rider_silent, o.silent.on_fix(ev.time, at), at);
            if (o.route) {
              auto p = o.route->project(ev.position, o.hint);
              // A hinted projection never looks back: after a gap (offline,
              // a loop in the route) it can be far off, so confirm a large
              // distance on the whole route before it counts.
              if (p.distance_m > dev_o.clear_m) p = o.route->project(ev.position);
              o.hint.segment = p.segment > 1 ? p.segment - 1 : 0;
              note(id, alert_kind::route_deviation, o.deviation.observe(ev.time, p.distance_m, dev_o),
                   at);
            }
            bool planned = haversine_m(ev.position, o.origin) < kPlannedStopM;
            if (auto drop = last_drop.find(ev.rider); drop != last_drop.end())
              planned = planned || haversine_m(ev.position, drop->second) < kPlannedStopM;
            for (const order_id& other : carrying[ev.rider])
              planned = planned || haversine_m(ev.position, orders[other].destination) < kPlannedStopM;
            note(id, alert_kind::standstill,
                 o.standstill.observe(ev.time, ev.position, planned, stand_o), at);
          }
          break;
        }
        case event_kind::order_delivered:
        case event_kind::order_cancelled: {
          auto it = orders.find(ev.order);
          if (it == orders.end() || !it->second.active) break;
          tracked_order& o = it->second;
          if (o.delivering) leave_delivering(ev.order, o, at);
          o.timeout.finish(at);
          o.active = false;
          break;
        }
        default:
          break;
      }
    }
    for (auto& [id, o] : orders) {
      if (!o.active) continue;
      note(id, alert_kind::delivery_timeout, o.timeout.observe(now, o.promised, -1, late_o), now);
      if (o.delivering) note(id, alert_kind::rider_silent, o.silent.on_tick(now, silent_o), now);
    }
  }

  // Score: an episode matches a truth row of its order and kind when it is
  // raised within [start - 2 min, end + 1 min]; a row counts for recall when
  // it began at least 6 minutes before the end (time to be detectable).
  evaluation out;
  const auto& truth = sim.ground_truth();
  std::vector<bool> found(truth.size(), false);
  for (const episode& e : episodes) {
    kind_score& s = out.scores[e.kind];
    ++s.episodes;
    for (std::size_t i = 0; i < truth.size(); ++i) {
      const anomaly_truth& t = truth[i];
      if (t.kind != e.kind || t.order != e.order) continue;
      const timestamp_ms t_end = t.end_ms < 0 ? end : t.end_ms;
      if (e.raised_at < t.start_ms - 120'000 || e.raised_at > t_end + 60'000) continue;
      ++s.episodes_matched;
      if (!found[i]) s.delays_s.push_back(static_cast<double>(e.raised_at - t.start_ms) / 1000.0);
      found[i] = true;
      break;
    }
  }
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i].start_ms > end - 6 * 60'000) continue;
    kind_score& s = out.scores[truth[i].kind];
    ++s.truth;
    if (found[i]) ++s.truth_found;
  }
  return out;
}

TEST(AnomalySimEval, DefaultsMeetTheGoalsOnGroundTruth) {
  // 200 riders for 3 simulated hours (~2.5 s); seeds 1, 2 and 3 give the
  // same verdicts (docs/anomaly.md has their figures).
  const evaluation e = run_sim(7, 200, 3 * 3'600'000);
  for (const auto& [kind, s] : e.scores) {
    std::printf("%-16s truth %3d found %3d episodes %3d matched %3d precision %.3f recall %.3f "
                "median delay %.0f s\n",
                alert_kind_name(kind), s.truth, s.truth_found, s.episodes, s.episodes_matched,
                s.precision(), s.recall(), s.median_delay_s());
  }
  for (const auto& [kind, s] : e.scores) {
    SCOPED_TRACE(alert_kind_name(kind));
    EXPECT_GE(s.truth, 5);
    EXPECT_GE(s.precision(), 0.95);
    if (kind == alert_kind::rider_silent) {
      // Not the goal: offline episodes (up to 4 min, not anomalies)
      // look the same until they end, so silence is raised after 4.5 min and
      // silences the delivery cuts shorter than that are missed.
      EXPECT_GE(s.recall(), 0.8);
      EXPECT_LT(s.median_delay_s(), 300.0);
    } else {
      EXPECT_GE(s.recall(), 0.95);
      EXPECT_LT(s.median_delay_s(), 60.0);
    }
  }
}

}  // namespace
}  // namespace xiaoxiang
