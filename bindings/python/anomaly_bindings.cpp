// anomaly: the engine's alert detectors run standalone over arrays (one
// trajectory or one order's history), options as keyword arguments with the
// C++ defaults. Each returns the alert changes as a table.
#include <algorithm>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "xiaoxiang/anomaly/delivery_timeout.hpp"
#include "xiaoxiang/anomaly/rider_silent.hpp"
#include "xiaoxiang/anomaly/route_deviation.hpp"
#include "xiaoxiang/anomaly/standstill.hpp"

namespace xiaoxiang::python {
namespace {

const char* change_name(alert_change c) {
  switch (c) {
    case alert_change::none: return "none";
    case alert_change::raised: return "raised";
    case alert_change::updated: return "updated";
    case alert_change::cleared: return "cleared";
  }
  return "unknown";
}

// Alert changes collected while a detector runs (no GIL needed).
struct change_log {
  std::vector<std::int64_t> row, at, since;
  std::vector<const char*> change;
  std::vector<double> value;

  void add(std::size_t i, timestamp_ms t, const alert_update& u) {
    if (u.change == alert_change::none) return;
    row.push_back(static_cast<std::int64_t>(i));
    at.push_back(t);
    change.push_back(change_name(u.change));
    since.push_back(u.current.since);
    value.push_back(u.current.value);
  }

  py::object table() const {
    py::list names;
    for (const char* c : change) names.append(c);
    return make_table({{"row", py::array_t<std::int64_t>(static_cast<py::ssize_t>(row.size()), row.data())},
                       {"t", py::array_t<std::int64_t>(static_cast<py::ssize_t>(at.size()), at.data())},
                       {"change", py::module_::import("numpy").attr("array")(names, "dtype"_a = "object")},
                       {"since_ms", py::array_t<std::int64_t>(static_cast<py::ssize_t>(since.size()), since.data())},
                       {"value", py::array_t<double>(static_cast<py::ssize_t>(value.size()), value.data())}});
  }
};

void check_duration(std::int64_t v, const char* argument) {
  if (v < 0) throw_value_error(argument, "must be >= 0 ms");
}

py::object standstill(py::handle t, py::handle lon, py::handle lat, py::handle planned,
                      double radius_m, int max_outliers, std::int64_t raise_after_ms,
                      std::int64_t raise_after_at_planned_stop_ms) {
  if (!(radius_m > 0)) throw_value_error("radius_m", "must be > 0");
  if (max_outliers < 0 || max_outliers > 255) throw_value_error("max_outliers", "must be in 0..255");
  check_duration(raise_after_ms, "raise_after_ms");
  check_duration(raise_after_at_planned_stop_ms, "raise_after_at_planned_stop_ms");
  standstill_options o;
  o.stop.radius_m = radius_m;
  o.stop.max_outliers = static_cast<std::uint8_t>(max_outliers);
  o.raise_after_ms = raise_after_ms;
  o.raise_after_at_planned_stop_ms = raise_after_at_planned_stop_ms;
  const i64_array times = to_time_ms(t, "t");
  const f64_array x = to_f64(lon, "lon");
  const f64_array y = to_f64(lat, "lat");
  std::vector<std::uint8_t> at_planned;
  if (!planned.is_none()) {
    const f64_array p = to_f64(planned, "at_planned_stop");
    at_planned.resize(static_cast<std::size_t>(p.size()));
    for (std::size_t i = 0; i < at_planned.size(); ++i) at_planned[i] = p.data()[i] != 0 ? 1 : 0;
  }
  const std::size_t n = common_length({{"t", static_cast<std::size_t>(times.size())},
                                       {"lon", static_cast<std::size_t>(x.size())},
                                       {"lat", static_cast<std::size_t>(y.size())},
                                       {"at_planned_stop", planned.is_none() ? static_cast<std::size_t>(times.size()) : at_planned.size()}},
                                      false);
  change_log log;
  {
    py::gil_scoped_release unlocked;
    standstill_detector d;
    for (std::size_t i = 0; i < n; ++i) {
      const geo_point p{x.data()[i], y.data()[i]};
      if (!is_valid_point(p)) continue;  // a fix without a position says nothing
      log.add(i, times.data()[i], d.observe(times.data()[i], p, !at_planned.empty() && at_planned[i], o));
    }
  }
  return log.table();
}

py::object route_deviation(py::handle t, py::handle distance, double raise_m, std::int64_t raise_after_ms,
                           double clear_m, std::int64_t clear_after_ms) {
  if (!(raise_m > 0)) throw_value_error("raise_m", "must be > 0");
  if (!(clear_m >= 0 && clear_m < raise_m)) throw_value_error("clear_m", "must be in [0, raise_m)");
  check_duration(raise_after_ms, "raise_after_ms");
  check_duration(clear_after_ms, "clear_after_ms");
  const route_deviation_options o{raise_m, raise_after_ms, clear_m, clear_after_ms};
  const i64_array times = to_time_ms(t, "t");
  const f64_array d = to_f64(distance, "distance_m");
  const std::size_t n = common_length({{"t", static_cast<std::size_t>(times.size())},
                                       {"distance_m", static_cast<std::size_t>(d.size())}},
                                      false);
  change_log log;
  {
    py::gil_scoped_release unlocked;
    route_deviation_detector det;
    for (std::size_t i = 0; i < n; ++i) log.add(i, times.data()[i], det.observe(times.data()[i], d.data()[i], o));
  }
  return log.table();
}

py::object delivery_timeout(py::handle now, py::handle promised, py::handle p90, std::int64_t warn_margin_ms,
                            std::int64_t warn_clear_margin_ms, py::object delivered_at) {
  check_duration(warn_clear_margin_ms, "warn_clear_margin_ms");
  const delivery_timeout_options o{warn_margin_ms, warn_clear_margin_ms};
  const i64_array now_ms = to_time_ms(now, "now_ms");
  const i64_array promised_ms = to_time_ms(promised, "promised_ms");
  const i64_array p90_ms = to_time_ms(p90, "p90_arrival_ms");
  const std::size_t n = common_length({{"now_ms", static_cast<std::size_t>(now_ms.size())},
                                       {"promised_ms", static_cast<std::size_t>(promised_ms.size())},
                                       {"p90_arrival_ms", static_cast<std::size_t>(p90_ms.size())}},
                                      true);
  std::optional<std::int64_t> finish;
  if (!delivered_at.is_none()) finish = delivered_at.cast<std::int64_t>();
  change_log log;
  {
    py::gil_scoped_release unlocked;
    delivery_timeout_detector det;
    const auto at = [](const i64_array& a, std::size_t i) { return a.size() == 1 ? a.data()[0] : a.data()[i]; };
    for (std::size_t i = 0; i < n; ++i)
      log.add(i, at(now_ms, i), det.observe(at(now_ms, i), at(promised_ms, i), at(p90_ms, i), o));
    if (finish) log.add(n, *finish, det.finish(*finish));
  }
  return log.table();
}

py::object rider_silent(py::handle fixes, py::handle ticks, std::optional<std::int64_t> start_ms,
                        std::optional<std::int64_t> stop_ms, std::int64_t silent_after_ms,
                        std::int64_t report_interval_ms) {
  check_duration(silent_after_ms, "silent_after_ms");
  check_duration(report_interval_ms, "report_interval_ms");
  const rider_silent_options o{silent_after_ms, report_interval_ms};
  const i64_array fix_ms = to_time_ms(fixes, "fix_ms");
  const i64_array tick_ms = to_time_ms(ticks, "tick_ms");
  change_log log;
  {
    py::gil_scoped_release unlocked;
    // One timeline: fixes (row = their index) and clock ticks (row = -1 - index),
    // in time order, a fix before a tick at the same time.
    struct item {
      std::int64_t t;
      bool tick;
      std::size_t index;
    };
    std::vector<item> items;
    for (py::ssize_t i = 0; i < fix_ms.size(); ++i) items.push_back({fix_ms.data()[i], false, static_cast<std::size_t>(i)});
    for (py::ssize_t i = 0; i < tick_ms.size(); ++i) items.push_back({tick_ms.data()[i], true, static_cast<std::size_t>(i)});
    std::stable_sort(items.begin(), items.end(), [](const item& a, const item& b) {
      return a.t != b.t ? a.t < b.t : (!a.tick && b.tick);
    });
    rider_silent_detector det;
    det.start(start_ms ? *start_ms : (items.empty() ? 0 : items.front().t));
    for (const item& it : items) {
      const alert_update u = it.tick ? det.on_tick(it.t, o) : det.on_fix(it.t, it.t);
      log.add(it.tick ? static_cast<std::size_t>(-1 - static_cast<std::int64_t>(it.index)) : it.index, it.t, u);
    }
    if (stop_ms) log.add(items.size(), *stop_ms, det.stop(*stop_ms));
  }
  return log.table();
}

}  // namespace

void bind_anomaly(py::module_& m) {
  const standstill_options ss{};
  m.def("standstill_alerts", &standstill, "t"_a, "lon"_a, "lat"_a, "at_planned_stop"_a = py::none(),
        py::kw_only(), "radius_m"_a = ss.stop.radius_m, "max_outliers"_a = static_cast<int>(ss.stop.max_outliers),
        "raise_after_ms"_a = ss.raise_after_ms,
        "raise_after_at_planned_stop_ms"_a = ss.raise_after_at_planned_stop_ms,
        "The engine's standstill detector over one rider's fixes (time order): a rider that stays "
        "within radius_m of where it stopped for raise_after_ms (or the longer limit where "
        "at_planned_stop is true). Returns the alert changes: row, t, change ('raised', "
        "'updated', 'cleared'), since_ms, value (minutes stopped). Invalid points are skipped.");
  const route_deviation_options rd{};
  m.def("route_deviation_alerts", &route_deviation, "t"_a, "distance_m"_a, py::kw_only(),
        "raise_m"_a = rd.raise_m, "raise_after_ms"_a = rd.raise_after_ms, "clear_m"_a = rd.clear_m,
        "clear_after_ms"_a = rd.clear_after_ms,
        "The engine's route deviation detector over distances off the planned route "
        "(Polyline.project(...)['distance_m']): raised beyond raise_m for raise_after_ms, cleared "
        "back within clear_m. Returns the alert changes (value: metres off the route).");
  const delivery_timeout_options dt{};
  m.def("delivery_timeout_alerts", &delivery_timeout, "now_ms"_a, "promised_ms"_a, "p90_arrival_ms"_a,
        py::kw_only(), "warn_margin_ms"_a = dt.warn_margin_ms,
        "warn_clear_margin_ms"_a = dt.warn_clear_margin_ms, "delivered_at"_a = py::none(),
        "The engine's delivery timeout detector over an order's updates: warns when the ETA's P90 "
        "arrival passes the promise, alerts once late (value: minutes late; negative while only "
        "predicted). Length-1 arrays broadcast. delivered_at finishes the order.");
  const rider_silent_options rs{};
  m.def("rider_silent_alerts", &rider_silent, "fix_ms"_a, "tick_ms"_a, "start_ms"_a = py::none(),
        "stop_ms"_a = py::none(), py::kw_only(), "silent_after_ms"_a = rs.silent_after_ms,
        "report_interval_ms"_a = rs.report_interval_ms,
        "The engine's silent-rider detector: fixes (contact) and clock ticks on one timeline from "
        "start_ms (Delivering) to stop_ms. Returns the alert changes; row is the fix's index, or "
        "-1 - the tick's index (value: minutes since the latest fix).");
}

}  // namespace xiaoxiang::python
