// xiaoxiang eta-eval: scores the ETA (eta/) against the naive baseline the
// issue names — remaining straight-line distance / the training trips' mean
// speed — on the simulator (train on the first completed trips, predict the
// later ones) and on real bus trips (leave one trip out). docs/eta.md.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "command.hpp"
#include "xiaoxiang/eta/trip_eta.hpp"
#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/geo/polyline.hpp"
#include "xiaoxiang/sim/simulation.hpp"

namespace xiaoxiang::cli {
namespace {

constexpr const char* kHelp =
    "usage: xiaoxiang eta-eval [--sim-seed N] [--sim-hours H] [--riders R] [--train-share X]\n"
    "                          [--real DIR] [--no-sim]\n"
    "\n"
    "Scores the ETA against the naive baseline (remaining straight-line distance\n"
    "divided by the training trips' mean speed: their ridden distance over their\n"
    "time from assignment to delivery), in the same run, and prints a table:\n"
    "  sim   the simulated city (docs/sim.md): trips delivered in the first share\n"
    "        of the run (--train-share, default 0.5) are learned in delivery order,\n"
    "        the later ones predicted with the model frozen\n"
    "  real  with --real DIR: DIR/liverpool_bus_route14_outbound.normalized.csv,\n"
    "        leave one trip out: learn the 15 others, predict the time to the\n"
    "        held-out trip's last fix from each of its fixes\n"
    "Rows: the fix nearest to 25/50/75% of each trip's duration, and every fix.\n"
    "Columns: MAE (s) of the median and of the baseline, the gain (1 - MAE /\n"
    "baseline MAE), shares within 2 and 5 minutes, and the share of actual\n"
    "times at or under the P90. The goal line checks a gain of at least 25%.\n"
    "\n"
    "options:\n"
    "  --sim-seed N      simulator seed (default 1)\n"
    "  --sim-hours H     simulated hours (default 3, 0.5..48)\n"
    "  --riders R        simulated riders (default 50)\n"
    "  --train-share X   share of the simulated trips learned (default 0.5)\n"
    "  --real DIR        the real-data folder (shared/data/real)\n"
    "  --no-sim          skip the simulator\n"
    "  --help            this text\n";

// A completed trip with its own storage (completed_trip holds spans).
struct trip_data {
  warehouse_id warehouse;
  timestamp_ms paid_at = -1, assigned_at = -1, delivered_at = -1;
  geo_point origin, destination;
  std::vector<geo_point> route;
  std::vector<position_fix> fixes;
  std::vector<double> stops;  // other orders handed over on the way, metres along the route
  rider_id rider;
  bool cancelled = false;

  completed_trip view() const {
    completed_trip t;
    t.warehouse = warehouse;
    t.paid_at = paid_at;
    t.assigned_at = assigned_at;
    t.delivered_at = delivered_at;
    t.route = route;
    t.origin = origin;
    t.destination = destination;
    t.fixes = fixes;
    t.stops_along_m = stops;
    return t;
  }
};

double ruler_m(geo_point a, geo_point b) { return cheap_ruler((a.lat + b.lat) * 0.5).distance_m(a, b); }

// Ridden distance within [assigned, delivered], metres.
double path_m(const trip_data& t) {
  double d = 0;
  const position_fix* prev = nullptr;
  for (const position_fix& f : t.fixes) {
    if (f.time < t.assigned_at || f.time > t.delivered_at) continue;
    if (prev) d += ruler_m(prev->point, f.point);
    prev = &f;
  }
  return d;
}

// The baseline's speed: training trips' ridden distance / their duration.
double mean_speed_mps(const std::vector<const trip_data*>& train) {
  double d = 0, s = 0;
  for (const trip_data* t : train) {
    d += path_m(*t);
    s += static_cast<double>(t->delivered_at - t->assigned_at) / 1000.0;
  }
  return s > 0 ? d / s : 5.0;
}

struct row_stats {
  std::size_t n = 0;
  double abs_err = 0, base_abs_err = 0;
  std::size_t within2 = 0, within5 = 0, base_within2 = 0, base_within5 = 0, covered = 0;

  void add(double actual, double median, double p90, double baseline) {
    ++n;
    const double e = std::abs(median - actual), b = std::abs(baseline - actual);
    abs_err += e;
    base_abs_err += b;
    within2 += e <= 120;
    within5 += e <= 300;
    base_within2 += b <= 120;
    base_within5 += b <= 300;
    covered += actual <= p90;
  }
  double mae() const { return n ? abs_err / static_cast<double>(n) : 0; }
  double base_mae() const { return n ? base_abs_err / static_cast<double>(n) : 0; }
  double gain() const { return base_abs_err > 0 ? 1.0 - abs_err / base_abs_err : 0; }
};

// Rows: 25%, 50%, 75% of the trip, every fix.
struct eval_table {
  std::array<row_stats, 4> rows;
};

// Scores one predicted trip into the table.
void score_trip(const trip_data& t, const std::vector<eta_estimate>& est, double base_speed,
                eval_table& table) {
  const double duration = static_cast<double>(t.delivered_at - t.assigned_at);
  std::array<std::size_t, 3> nearest{SIZE_MAX, SIZE_MAX, SIZE_MAX};
  std::array<double, 3> best{1e300, 1e300, 1e300};
  for (std::size_t i = 0; i < t.fixes.size(); ++i) {
    const position_fix& f = t.fixes[i];
    if (f.time < t.assigned_at || f.time >= t.delivered_at || !est[i].known()) continue;
    const double actual = static_cast<double>(t.delivered_at - f.time) / 1000.0;
    const double baseline = ruler_m(f.point, t.destination) / base_speed;
    table.rows[3].add(actual, est[i].median_s, est[i].p90_s, baseline);
    for (std::size_t k = 0; k < 3; ++k) {
      const double target = static_cast<double>(t.assigned_at) + duration * 0.25 * static_cast<double>(k + 1);
      const double gap = std::abs(static_cast<double>(f.time) - target);
      if (gap < best[k]) {
        best[k] = gap;
        nearest[k] = i;
      }
    }
  }
  for (std::size_t k = 0; k < 3; ++k) {
    if (nearest[k] == SIZE_MAX) continue;
    const position_fix& f = t.fixes[nearest[k]];
    const double actual = static_cast<double>(t.delivered_at - f.time) / 1000.0;
    table.rows[k].add(actual, est[nearest[k]].median_s, est[nearest[k]].p90_s,
                      ruler_m(f.point, t.destination) / base_speed);
  }
}

void print_table(std::ostream& out, const char* set, const eval_table& table, bool& all_met) {
  static const char* kRows[] = {"25%", "50%", "75%", "all"};
  char line[256];
  for (std::size_t k = 0; k < 4; ++k) {
    const row_stats& r = table.rows[k];
    const double n = std::max<double>(1, static_cast<double>(r.n));
    auto pct = [n](std::size_t count) { return 100.0 * static_cast<double>(count) / n; };
    std::snprintf(line, sizeof line,
                  "%-5s %-4s %6zu %8.1f %9.1f %6.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%% %6.1f%%\n", set,
                  kRows[k], r.n, r.mae(), r.base_mae(), 100 * r.gain(), pct(r.within2),
                  pct(r.base_within2), pct(r.within5), pct(r.base_within5), pct(r.covered));
    out << line;
  }
  for (std::size_t k = 0; k < 4; ++k) {
    const row_stats& r = table.rows[k];
    const bool met = r.n > 0 && r.gain() >= 0.25;
    all_met = all_met && met;
    std::snprintf(line, sizeof line, "goal %s %s: MAE %.1f s vs baseline %.1f s, gain %.1f%% (>= 25%%): %s\n",
                  set, kRows[k], r.mae(), r.base_mae(), 100 * r.gain(), met ? "met" : "NOT met");
    out << line;
  }
}

void print_header(std::ostream& out) {
  out << "set   at        n   MAE_s  base_MAE  gain    <=2min  base    <=5min  base    p90cov\n";
}

// --- the simulator ---

// The rider's other orders of the same trip (assigned within a few seconds)
// whose customer lies on this order's route before its end: stops where the
// rider hands them over first. An engine finds them the same way from the
// rider's active orders at assignment.
void add_stops(std::vector<trip_data>& trips) {
  std::unordered_map<rider_id, std::vector<std::size_t>> by_rider;
  for (std::size_t i = 0; i < trips.size(); ++i) by_rider[trips[i].rider].push_back(i);
  for (auto& [rider, list] : by_rider) {
    for (const std::size_t i : list) {
      trip_data& t = trips[i];
      const auto line = polyline::make(t.route);
      if (!line) continue;
      for (const std::size_t j : list) {
        const trip_data& o = trips[j];
        if (j == i || std::llabs(o.assigned_at - t.assigned_at) > 10'000) continue;
        const polyline_projection p = line->project(o.destination);
        if (p.distance_m < 30 && p.remaining_m > 50) t.stops.push_back(p.along_m);
      }
    }
  }
}

std::vector<trip_data> simulate_trips(const sim_options& so, double hours) {
  simulation sim(so);
  std::unordered_map<order_id, trip_data> orders;
  std::unordered_map<rider_id, std::vector<order_id>> delivering;
  std::vector<order_id> done;
  std::vector<sim_event> batch;
  const auto end = so.start + static_cast<timestamp_ms>(hours * 3'600'000);
  auto add_fix = [&](const rider_id& r, const position_fix& f) {
    const auto it = delivering.find(r);
    if (it == delivering.end()) return;
    for (const order_id& o : it->second) orders[o].fixes.push_back(f);
  };
  while (sim.now() < end) {
    batch.clear();
    sim.step(10'000, batch);
    for (const sim_event& item : batch) {
      const event& e = item.ev;
      switch (e.kind) {
        case event_kind::order_created: {
          trip_data& t = orders[e.order];
          t.warehouse = e.warehouse;
          t.origin = e.origin;
          t.destination = e.destination;
          break;
        }
        case event_kind::order_paid:
          if (auto it = orders.find(e.order); it != orders.end() && it->second.paid_at < 0)
            it->second.paid_at = e.time;
          break;
        case event_kind::rider_assigned:
          if (auto it = orders.find(e.order); it != orders.end() && it->second.assigned_at < 0) {
            it->second.assigned_at = e.time;
            it->second.route = e.route;
            it->second.rider = e.rider;
            delivering[e.rider].push_back(e.order);
          }
          break;
        case event_kind::rider_position: add_fix(e.rider, {e.time, e.position}); break;
        case event_kind::position_batch:
          for (const position_fix& f : e.fixes) add_fix(e.rider, f);
          break;
        case event_kind::order_delivered:
        case event_kind::order_cancelled: {
          auto it = orders.find(e.order);
          if (it == orders.end() || it->second.delivered_at >= 0 || it->second.cancelled) break;
          if (e.kind == event_kind::order_delivered) {
            it->second.delivered_at = e.time;
            done.push_back(e.order);
          } else {
            it->second.cancelled = true;
          }
          for (auto& [rider, list] : delivering) std::erase(list, e.order);
          break;
        }
        default: break;
      }
    }
  }
  std::vector<trip_data> trips;
  for (const order_id& o : done) {
    trip_data& t = orders[o];
    if (t.assigned_at < 0) continue;
    // Duplicated and late fixes: keep one per time, in time order.
    std::sort(t.fixes.begin(), t.fixes.end(),
              [](const position_fix& a, const position_fix& b) { return a.time < b.time; });
    t.fixes.erase(std::unique(t.fixes.begin(), t.fixes.end(),
                              [](const position_fix& a, const position_fix& b) { return a.time == b.time; }),
                  t.fixes.end());
    if (t.fixes.size() < 2 || t.route.size() < 2) continue;
    trips.push_back(std::move(t));
  }
  add_stops(trips);
  return trips;  // in delivery order
}

std::unique_ptr<eta_model> new_model(int utc_offset_minutes) {
  eta_model_options o;
  o.speed.utc_offset_minutes = utc_offset_minutes;
  return eta_model::make(o).value();
}

int eval_sim(invocation& call, const sim_options& so, double hours, double train_share, bool& all_met) {
  const std::vector<trip_data> trips = simulate_trips(so, hours);
  const auto n_train = static_cast<std::size_t>(static_cast<double>(trips.size()) * train_share);
  if (n_train < 5 || trips.size() - n_train < 5) {
    call.err << "xiaoxiang eta-eval: only " << trips.size()
             << " completed trips in the simulation; run longer (--sim-hours) or with more riders\n";
    return exit_usage;
  }
  auto model = new_model(so.city.utc_offset_hours * 60);
  std::vector<const trip_data*> train;
  std::vector<completed_trip> views;
  for (std::size_t i = 0; i < n_train; ++i) {
    train.push_back(&trips[i]);
    views.push_back(trips[i].view());
  }
  std::size_t failed = 0;
  if (const status_result s = learn_trips(*model, views, &failed); !s) {
    call.err << "xiaoxiang eta-eval: sim trip " << failed << ": " << s.message() << "\n";
    return exit_bad_input;
  }
  const double speed = mean_speed_mps(train);
  eval_table table;
  std::vector<eta_estimate> est;
  for (std::size_t i = n_train; i < trips.size(); ++i) {
    est.clear();
    if (const status_result s = predict_trip(*model, trips[i].view(), est); !s) {
      call.err << "xiaoxiang eta-eval: sim trip " << i << ": " << s.message() << "\n";
      return exit_bad_input;
    }
    score_trip(trips[i], est, speed, table);
  }
  call.out << "sim: seed " << so.seed << ", " << hours << " h, " << so.riders << " riders: "
           << trips.size() << " delivered trips, " << n_train << " learned, " << trips.size() - n_train
           << " predicted; baseline speed " << std::fixed << std::setprecision(2) << speed << " m/s\n";
  call.out.unsetf(std::ios::floatfield);
  print_header(call.out);
  print_table(call.out, "sim", table, all_met);
  return exit_ok;
}

// --- real data: Liverpool bus route 14 ---

// The part of `ref` between the projections of a and b (a before b), with
// the projected points as its ends: the planned route from a trip's first
// fix to its destination, cut out of a training trip's path.
std::vector<geo_point> clip(const polyline& ref, geo_point a, geo_point b) {
  polyline_projection pa = ref.project(a), pb = ref.project(b);
  if (pb.along_m < pa.along_m) std::swap(pa, pb);
  std::vector<geo_point> out{pa.point};
  for (std::size_t i = pa.segment + 1; i <= pb.segment; ++i) out.push_back(ref.points()[i]);
  out.push_back(pb.point);
  if (out.size() == 2 && out[0] == out[1]) out[1].lon += 1e-6;  // a degenerate trip: keep 2 points
  return out;
}

bool read_tracks(const std::string& path, std::map<std::string, std::vector<position_fix>>& tracks,
                 std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read '" + path + "'";
    return false;
  }
  std::string line;
  long number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1) {
      if (line != "track_id,timestamp_ms,lon,lat") {
        error = path + ": line 1: header: expected 'track_id,timestamp_ms,lon,lat'";
        return false;
      }
      continue;
    }
    if (line.empty()) continue;
    std::string field[4];
    std::stringstream ss(line);
    int n = 0;
    while (n < 4 && std::getline(ss, field[n], ',')) ++n;
    position_fix f;
    const char* names[] = {"track_id", "timestamp_ms", "lon", "lat"};
    auto bad = [&](int k) {
      error = path + ": line " + std::to_string(number) + ": " + names[k] + ": not a number '" + field[k] + "'";
      return false;
    };
    if (n < 4) {
      error = path + ": line " + std::to_string(number) + ": " + names[n] + ": missing";
      return false;
    }
    auto parse = [](const std::string& s, auto& v) {
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return ec == std::errc() && end == s.data() + s.size();
    };
    if (!parse(field[1], f.time)) return bad(1);
    if (!parse(field[2], f.point.lon)) return bad(2);
    if (!parse(field[3], f.point.lat)) return bad(3);
    if (const errc e = check_point(f.point); e != errc::ok) {
      error = path + ": line " + std::to_string(number) + ": " + describe(make_error_code(e), point_field(e));
      return false;
    }
    tracks[field[0]].push_back(f);
  }
  return true;
}

int eval_real(invocation& call, const std::string& dir, bool& all_met) {
  const std::string path = dir + "/liverpool_bus_route14_outbound.normalized.csv";
  std::map<std::string, std::vector<position_fix>> tracks;
  std::string error;
  if (!read_tracks(path, tracks, error)) {
    call.err << "xiaoxiang eta-eval: " << error << "\n";
    return error.starts_with("cannot read") ? exit_failure : exit_bad_input;
  }
  std::vector<trip_data> trips;
  for (auto& [id, fixes] : tracks) {
    std::stable_sort(fixes.begin(), fixes.end(),
                     [](const position_fix& a, const position_fix& b) { return a.time < b.time; });
    if (fixes.size() < 2) continue;
    trip_data t;
    t.fixes = fixes;
    t.assigned_at = fixes.front().time;
    t.delivered_at = fixes.back().time;
    t.origin = fixes.front().point;
    t.destination = fixes.back().point;
    trips.push_back(std::move(t));
  }
  if (trips.size() < 3) {
    call.err << "xiaoxiang eta-eval: " << path << ": fewer than 3 trips\n";
    return exit_bad_input;
  }
  eval_table table;
  std::vector<eta_estimate> est;
  for (std::size_t held = 0; held < trips.size(); ++held) {
    std::vector<const trip_data*> train;
    for (std::size_t i = 0; i < trips.size(); ++i)
      if (i != held) train.push_back(&trips[i]);
    // The reference path: the longest training trip (the whole route).
    const trip_data* ref = *std::max_element(train.begin(), train.end(), [](auto* a, auto* b) {
      return path_m(*a) < path_m(*b);
    });
    std::vector<geo_point> ref_points;
    for (const position_fix& f : ref->fixes) ref_points.push_back(f.point);
    const auto line = polyline::make(ref_points);
    if (!line) {
      call.err << "xiaoxiang eta-eval: " << path << ": reference trip: " << line.message() << "\n";
      return exit_bad_input;
    }
    auto model = new_model(0);  // Liverpool in January: UTC
    std::vector<trip_data> with_routes;
    with_routes.reserve(train.size());
    for (const trip_data* t : train) {
      with_routes.push_back(*t);
      trip_data& c = with_routes.back();
      c.route = clip(*line, t->origin, t->destination);
    }
    std::vector<completed_trip> views;
    for (const trip_data& c : with_routes) views.push_back(c.view());
    if (const status_result s = learn_trips(*model, views); !s) {
      call.err << "xiaoxiang eta-eval: " << path << ": " << s.message() << "\n";
      return exit_bad_input;
    }
    trip_data test = trips[held];
    test.route = clip(*line, test.origin, test.destination);
    est.clear();
    if (const status_result s = predict_trip(*model, test.view(), est); !s) {
      call.err << "xiaoxiang eta-eval: " << path << ": " << s.message() << "\n";
      return exit_bad_input;
    }
    score_trip(test, est, mean_speed_mps(train), table);
  }
  call.out << "real: " << path << ": " << trips.size()
           << " trips, leave one out (route: the longest training trip's path, cut to the\n"
              "      held-out trip's first fix and destination)\n";
  print_header(call.out);
  print_table(call.out, "real", table, all_met);
  return exit_ok;
}

int run(invocation& call) {
  options opts({"no-sim"}, {"sim-seed", "sim-hours", "riders", "train-share", "real"});
  if (!opts.parse(call.args)) {
    call.err << "xiaoxiang eta-eval: " << opts.error() << "\n" << kHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kHelp;
    return exit_ok;
  }
  if (!opts.positional().empty()) {
    call.err << "xiaoxiang eta-eval: unexpected argument '" << opts.positional().front() << "'\n";
    return exit_usage;
  }
  const auto seed = opts.get_int("sim-seed", 1, 0, INT64_MAX);
  const auto hours = opts.get_double("sim-hours", 3, 0.5, 48);
  const auto riders = opts.get_int("riders", 50, 1, 100'000);
  const auto share = opts.get_double("train-share", 0.5, 0.05, 0.95);
  if (!seed || !hours || !riders || !share) {
    call.err << "xiaoxiang eta-eval: " << opts.error() << "\n";
    return exit_usage;
  }
  const auto real = opts.get("real");
  if (opts.has("no-sim") && !real) {
    call.err << "xiaoxiang eta-eval: --no-sim needs --real DIR (nothing to evaluate)\n";
    return exit_usage;
  }
  bool all_met = true;
  call.out << "ETA (median) vs naive baseline (straight line / training mean speed); "
              "gain = 1 - MAE / baseline MAE\n";
  if (!opts.has("no-sim")) {
    sim_options so;
    so.seed = static_cast<std::uint64_t>(*seed);
    so.riders = static_cast<int>(*riders);
    if (const int rc = eval_sim(call, so, *hours, *share, all_met); rc != exit_ok) return rc;
  }
  if (real) {
    if (const int rc = eval_real(call, *real, all_met); rc != exit_ok) return rc;
  }
  call.out << "goals: " << (all_met ? "all met" : "NOT all met") << "\n";
  return exit_ok;
}

const bool registered = register_command(
    {"eta-eval", "score the ETA against the straight-line baseline (simulator, real bus trips)", run});

}  // namespace
}  // namespace xiaoxiang::cli
