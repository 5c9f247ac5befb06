// sim: the simulated city. Events and ground truth come out as DataFrames;
// given a Tracker, the events are also ingested in C++ (GIL released), the
// tracker's manual clock following each event's delivery time.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/sim/simulation.hpp"
#include "xiaoxiang/track/tracker.hpp"

namespace xiaoxiang::python {

// Defined in engine_bindings.cpp: ingest one simulated item into a Python Tracker.
bool ingest_into(py::handle tracker, const std::vector<sim_event>& items,
                 std::vector<ingest_result>& results);

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using setter = std::function<void(sim_options&, py::handle)>;

template <class T, class Member>
setter set(Member member) {
  return [member](sim_options& o, py::handle v) { o.*member = v.cast<T>(); };
}

const std::map<std::string, setter>& option_setters() {
  static const std::map<std::string, setter> table = {
      {"seed", set<std::uint64_t>(&sim_options::seed)},
      {"warehouses", set<int>(&sim_options::warehouses)},
      {"riders", set<int>(&sim_options::riders)},
      {"orders_per_rider_hour", set<double>(&sim_options::orders_per_rider_hour)},
      {"start", set<std::int64_t>(&sim_options::start)},
      {"report_interval_ms", set<std::int64_t>(&sim_options::report_interval_ms)},
      {"gps_noise_m", set<double>(&sim_options::gps_noise_m)},
      {"coordinate_step_deg", set<double>(&sim_options::coordinate_step_deg)},
      {"queue_latency_min_ms", set<std::int64_t>(&sim_options::queue_latency_min_ms)},
      {"queue_latency_max_ms", set<std::int64_t>(&sim_options::queue_latency_max_ms)},
      {"duplicate_rate", set<double>(&sim_options::duplicate_rate)},
      {"duplicate_delay_max_ms", set<std::int64_t>(&sim_options::duplicate_delay_max_ms)},
      {"drop_rate", set<double>(&sim_options::drop_rate)},
      {"late_fix_rate", set<double>(&sim_options::late_fix_rate)},
      {"offline_per_rider_hour", set<double>(&sim_options::offline_per_rider_hour)},
      {"offline_min_ms", set<std::int64_t>(&sim_options::offline_min_ms)},
      {"offline_max_ms", set<std::int64_t>(&sim_options::offline_max_ms)},
      {"batch_upload_delay_max_ms", set<std::int64_t>(&sim_options::batch_upload_delay_max_ms)},
      {"cancel_unpaid_rate", set<double>(&sim_options::cancel_unpaid_rate)},
      {"cancel_paid_rate", set<double>(&sim_options::cancel_paid_rate)},
      {"cancel_delivering_rate", set<double>(&sim_options::cancel_delivering_rate)},
      {"promise_min_ms", set<std::int64_t>(&sim_options::promise_min_ms)},
      {"promise_max_ms", set<std::int64_t>(&sim_options::promise_max_ms)},
      {"route_deviation_rate", set<double>(&sim_options::route_deviation_rate)},
      {"standstill_rate", set<double>(&sim_options::standstill_rate)},
      {"standstill_min_ms", set<std::int64_t>(&sim_options::standstill_min_ms)},
      {"standstill_max_ms", set<std::int64_t>(&sim_options::standstill_max_ms)},
      {"silent_rate", set<double>(&sim_options::silent_rate)},
      {"silent_min_ms", set<std::int64_t>(&sim_options::silent_min_ms)},
      {"silent_max_ms", set<std::int64_t>(&sim_options::silent_max_ms)},
      {"timeout_rate", set<double>(&sim_options::timeout_rate)},
      {"deviation_truth_m", set<double>(&sim_options::deviation_truth_m)},
      {"city_center_lon", [](sim_options& o, py::handle v) { o.city.center.lon = v.cast<double>(); }},
      {"city_center_lat", [](sim_options& o, py::handle v) { o.city.center.lat = v.cast<double>(); }},
      {"warehouse_spacing_m", [](sim_options& o, py::handle v) { o.city.warehouse_spacing_m = v.cast<double>(); }},
      {"service_radius_m", [](sim_options& o, py::handle v) { o.city.service_radius_m = v.cast<double>(); }},
      {"block_m", [](sim_options& o, py::handle v) { o.city.block_m = v.cast<double>(); }},
  };
  return table;
}

void check_options(const sim_options& o) {
  // The simulator trusts its options; refuse values that would make it loop or divide by zero.
  if (o.warehouses < 1 || o.warehouses > 64) throw_value_error("warehouses", "must be in 1..64");
  if (o.riders < 0 || o.riders > 1'000'000) throw_value_error("riders", "must be in 0..1000000");
  if (o.report_interval_ms < 1000) throw_value_error("report_interval_ms", "must be >= 1000");
  if (!(o.orders_per_rider_hour >= 0)) throw_value_error("orders_per_rider_hour", "must be >= 0");
  if (o.queue_latency_min_ms < 0 || o.queue_latency_max_ms < o.queue_latency_min_ms)
    throw_value_error("queue_latency_max_ms", "need 0 <= queue_latency_min_ms <= queue_latency_max_ms");
  if (!(o.city.block_m >= 50)) throw_value_error("block_m", "must be >= 50");
  if (!(o.city.service_radius_m > 0)) throw_value_error("service_radius_m", "must be > 0");
  if (!(o.city.warehouse_spacing_m > 0)) throw_value_error("warehouse_spacing_m", "must be > 0");
  if (!is_valid_point(o.city.center)) throw_value_error("city_center_lon", "invalid city centre");
  for (const auto& [name, value] :
       {std::pair<const char*, double>{"duplicate_rate", o.duplicate_rate},
        {"drop_rate", o.drop_rate}, {"late_fix_rate", o.late_fix_rate},
        {"cancel_unpaid_rate", o.cancel_unpaid_rate}, {"cancel_paid_rate", o.cancel_paid_rate},
        {"cancel_delivering_rate", o.cancel_delivering_rate},
        {"route_deviation_rate", o.route_deviation_rate}, {"standstill_rate", o.standstill_rate},
        {"silent_rate", o.silent_rate}, {"timeout_rate", o.timeout_rate}}) {
    if (!(value >= 0 && value <= 1)) throw_value_error(name, "a rate must be in [0, 1]");
  }
}

struct py_simulation {
  std::unique_ptr<simulation> sim;
};

std::unique_ptr<py_simulation> make_simulation(const py::kwargs& kwargs) {
  sim_options o;
  for (const auto& [key_h, value] : kwargs) {
    const std::string key = py::str(key_h);
    const auto& table = option_setters();
    const auto it = table.find(key);
    if (it == table.end()) throw_value_error(key, "not an option of Simulation");
    try {
      it->second(o, value);
    } catch (py::cast_error&) {
      throw_value_error(key, "wrong type");
    }
  }
  o.city.seed = o.seed;
  o.city.warehouses = o.warehouses;
  check_options(o);
  auto out = std::make_unique<py_simulation>();
  py::gil_scoped_release unlocked;
  out->sim = std::make_unique<simulation>(o);
  return out;
}

py::object events_table(const std::vector<sim_event>& items, const std::vector<ingest_result>* results) {
  py::module_ np = py::module_::import("numpy");
  const auto n = static_cast<py::ssize_t>(items.size());
  py::array_t<std::int64_t> delivered(n), time(n), amount(n), promised(n), stage(n), route(n), fixes(n);
  f64_array lon(n), lat(n), olon(n), olat(n), dlon(n), dlat(n);
  py::list kind, ev_id, order, user, warehouse, rider, address, json;
  std::string line;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const event& e = items[i].ev;
    delivered.mutable_data()[i] = items[i].delivered_at;
    time.mutable_data()[i] = e.time;
    amount.mutable_data()[i] = e.amount;
    promised.mutable_data()[i] = e.promised_time;
    stage.mutable_data()[i] = to_code(e.stage);
    route.mutable_data()[i] = static_cast<std::int64_t>(e.route.size());
    fixes.mutable_data()[i] = static_cast<std::int64_t>(e.fixes.size());
    lon.mutable_data()[i] = e.has_position ? e.position.lon : kNaN;
    lat.mutable_data()[i] = e.has_position ? e.position.lat : kNaN;
    const bool created = e.kind == event_kind::order_created;
    olon.mutable_data()[i] = created ? e.origin.lon : kNaN;
    olat.mutable_data()[i] = created ? e.origin.lat : kNaN;
    dlon.mutable_data()[i] = created ? e.destination.lon : kNaN;
    dlat.mutable_data()[i] = created ? e.destination.lat : kNaN;
    kind.append(event_kind_name(e.kind));
    ev_id.append(id_or_none(e.id));
    order.append(id_or_none(e.order));
    user.append(id_or_none(e.user));
    warehouse.append(id_or_none(e.warehouse));
    rider.append(id_or_none(e.rider));
    address.append(e.address);
    line.clear();
    event_to_json(e, line);
    json.append(py::str(line));
  }
  auto objects = [&np](const py::list& l) { return np.attr("array")(l, "dtype"_a = "object"); };
  std::vector<std::pair<std::string, py::object>> columns = {
      {"delivered_at", delivered}, {"kind", objects(kind)}, {"event_id", objects(ev_id)},
      {"time", time}, {"order_id", objects(order)}, {"user_id", objects(user)},
      {"warehouse_id", objects(warehouse)}, {"rider_id", objects(rider)}, {"lon", lon},
      {"lat", lat}, {"amount_cents", amount}, {"origin_lon", olon}, {"origin_lat", olat},
      {"destination_lon", dlon}, {"destination_lat", dlat}, {"address", objects(address)},
      {"promised_time", promised}, {"stage", stage}, {"route_points", route},
      {"fixes", fixes}, {"json", objects(json)}};
  if (results) {
    py::list status, code;
    for (const ingest_result& r : *results) {
      status.append(ingest_status_name(r.status));
      code.append(code_name(r.code));
    }
    columns.emplace_back("status", objects(status));
    columns.emplace_back("code", objects(code));
  }
  return make_table(columns);
}

py::object run(py_simulation& s, std::int64_t duration_ms, std::int64_t step_ms, py::object tracker) {
  if (duration_ms < 0) throw_value_error("duration_ms", "must be >= 0");
  if (step_ms <= 0) throw_value_error("step_ms", "must be > 0");
  std::vector<sim_event> items;
  {
    py::gil_scoped_release unlocked;
    std::int64_t left = duration_ms;
    while (left > 0) {
      const std::int64_t dt = left < step_ms ? left : step_ms;
      s.sim->step(dt, items);
      left -= dt;
    }
  }
  if (tracker.is_none()) return events_table(items, nullptr);
  std::vector<ingest_result> results;
  ingest_into(tracker, items, results);
  return events_table(items, &results);
}

}  // namespace

void bind_sim(py::module_& m) {
  py::class_<py_simulation>(m, "Simulation",
                            "A deterministic simulated grocery city (docs/sim.md). Keyword options "
                            "as sim_options: seed, warehouses, riders, orders_per_rider_hour, "
                            "start, gps_noise_m, duplicate_rate, ..., city_center_lon/lat.")
      .def(py::init(&make_simulation))
      .def("run", &run, "duration_ms"_a, "step_ms"_a = 1000, "tracker"_a = py::none(),
           "Advances the city by duration_ms and returns the events the queue delivered, one row "
           "each (a 'json' column holds the wire text). With a Tracker (manual clock), each event "
           "is ingested in C++ as it is delivered, and 'status' / 'code' columns say what happened.")
      .def_property_readonly("now_ms", [](const py_simulation& s) { return s.sim->now(); },
                             "The simulated clock, ms since the epoch.")
      .def_property_readonly(
          "ground_truth",
          [](const py_simulation& s) {
            py::module_ np = py::module_::import("numpy");
            const auto& truth = s.sim->ground_truth();
            const auto n = static_cast<py::ssize_t>(truth.size());
            py::list order, rider, kind;
            py::array_t<std::int64_t> start(n), end(n);
            for (std::size_t i = 0; i < truth.size(); ++i) {
              order.append(id_or_none(truth[i].order));
              rider.append(id_or_none(truth[i].rider));
              kind.append(anomaly_kind_name(truth[i].kind));
              start.mutable_data()[i] = truth[i].start_ms;
              end.mutable_data()[i] = truth[i].end_ms;
            }
            auto objects = [&np](const py::list& l) { return np.attr("array")(l, "dtype"_a = "object"); };
            return make_table({{"order_id", objects(order)}, {"rider_id", objects(rider)},
                               {"kind", objects(kind)}, {"start_ms", start}, {"end_ms", end}});
          },
          "Injected anomalies so far (order_id, rider_id, kind, start_ms, end_ms; -1 while going on).")
      .def_property_readonly(
          "counters",
          [](const py_simulation& s) {
            const sim_counters& c = s.sim->counters();
            py::dict d;
            d["events"] = c.events;
            d["positions"] = c.positions;
            d["duplicates"] = c.duplicates;
            d["duplicate_positions"] = c.duplicate_positions;
            d["late_fixes"] = c.late_fixes;
            d["batches"] = c.batches;
            d["batch_fixes"] = c.batch_fixes;
            d["dropped_fixes"] = c.dropped_fixes;
            d["silent_fixes"] = c.silent_fixes;
            d["orders_created"] = c.orders_created;
            d["orders_paid"] = c.orders_paid;
            d["picking_stages"] = c.picking_stages;
            d["riders_assigned"] = c.riders_assigned;
            d["orders_delivered"] = c.orders_delivered;
            d["orders_cancelled"] = c.orders_cancelled;
            return d;
          },
          "What was emitted so far, by kind (events, positions, duplicates, ...).")
      .def_property_readonly(
          "warehouses",
          [](const py_simulation& s) {
            py::module_ np = py::module_::import("numpy");
            const auto& w = s.sim->city().warehouses();
            py::list ids;
            f64_array lon(static_cast<py::ssize_t>(w.size())), lat(static_cast<py::ssize_t>(w.size()));
            for (std::size_t i = 0; i < w.size(); ++i) {
              ids.append(id_or_none(w[i].id));
              lon.mutable_data()[i] = w[i].point.lon;
              lat.mutable_data()[i] = w[i].point.lat;
            }
            return make_table({{"warehouse_id", np.attr("array")(ids, "dtype"_a = "object")},
                               {"lon", lon}, {"lat", lat}});
          },
          "The city's front warehouses (warehouse_id, lon, lat).")
      .def("city_geojson", [](const py_simulation& s) { return s.sim->city().to_geojson(); },
           "The street network and warehouses as a GeoJSON FeatureCollection (str).")
      .def_property_readonly(
          "option_names",
          [](const py_simulation&) {
            py::list names;
            for (const auto& item : option_setters()) names.append(item.first);
            return names;
          },
          "The keyword options Simulation accepts.");
}

}  // namespace xiaoxiang::python
