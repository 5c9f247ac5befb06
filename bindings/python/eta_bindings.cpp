// eta: the learned ETA model standalone. EtaModel(**options) learns from
// completed trips (arrays of fixes) and replays a trip fix by fix, giving
// the median and P90 the engine would push at each fix.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "xiaoxiang/eta/eta_model.hpp"
#include "xiaoxiang/eta/eta_route.hpp"
#include "xiaoxiang/eta/trip_eta.hpp"

namespace xiaoxiang::python {

std::string cast_warehouse(py::handle h);  // the warehouse id's text, ValueError otherwise

namespace {

using option_setter = std::function<void(eta_model_options&, py::handle)>;

template <class T, class Member>
option_setter top(Member member) {
  return [member](eta_model_options& o, py::handle v) { o.*member = v.cast<T>(); };
}
template <class T, class Member>
option_setter speed(Member member) {
  return [member](eta_model_options& o, py::handle v) { o.speed.*member = v.cast<T>(); };
}

const std::map<std::string, option_setter>& eta_setters() {
  static const std::map<std::string, option_setter> table = {
      {"warehouses", top<std::size_t>(&eta_model_options::warehouses)},
      {"processing_bucket_minutes", top<int>(&eta_model_options::processing_bucket_minutes)},
      {"default_processing_s", top<double>(&eta_model_options::default_processing_s)},
      {"default_departure_s", top<double>(&eta_model_options::default_departure_s)},
      {"default_dwell_s", top<double>(&eta_model_options::default_dwell_s)},
      {"default_detour", top<double>(&eta_model_options::default_detour)},
      {"default_p90_ratio", top<double>(&eta_model_options::default_p90_ratio)},
      {"min_error_samples", top<std::uint64_t>(&eta_model_options::min_error_samples)},
      {"depart_radius_m", top<double>(&eta_model_options::depart_radius_m)},
      {"arrive_radius_m", top<double>(&eta_model_options::arrive_radius_m)},
      {"max_gap_s", top<double>(&eta_model_options::max_gap_s)},
      {"rider_memory_s", top<double>(&eta_model_options::rider_memory_s)},
      {"rider_prior_s", top<double>(&eta_model_options::rider_prior_s)},
      {"rider_moving_mps", top<double>(&eta_model_options::rider_moving_mps)},
      {"rider_factor_min", top<double>(&eta_model_options::rider_factor_min)},
      {"rider_factor_max", top<double>(&eta_model_options::rider_factor_max)},
      {"speed_fine_cell_bits", speed<int>(&speed_model_options::fine_cell_bits)},
      {"speed_coarse_cell_bits", speed<int>(&speed_model_options::coarse_cell_bits)},
      {"speed_fine_cells", speed<std::size_t>(&speed_model_options::fine_cells)},
      {"speed_coarse_cells", speed<std::size_t>(&speed_model_options::coarse_cells)},
      {"speed_bucket_minutes", speed<int>(&speed_model_options::bucket_minutes)},
      {"speed_utc_offset_minutes", speed<int>(&speed_model_options::utc_offset_minutes)},
      {"speed_default_mps", speed<double>(&speed_model_options::default_speed_mps)},
      {"speed_prior_weight_s", speed<double>(&speed_model_options::prior_weight_s)},
      {"speed_min_mps", speed<double>(&speed_model_options::min_speed_mps)},
      {"speed_max_mps", speed<double>(&speed_model_options::max_speed_mps)},
  };
  return table;
}

// The C++ option names in errors ("speed.fineCellBits") to the Python keywords.
std::string option_argument(const char* field) {
  std::string f = field ? field : "options";
  std::string out;
  if (f.rfind("speed.", 0) == 0) {
    out = "speed_";
    f = f.substr(6);
  }
  for (const char c : f) {
    if (c >= 'A' && c <= 'Z') {
      out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

struct py_eta_model {
  std::unique_ptr<eta_model> model;
};

std::unique_ptr<py_eta_model> make_model(const py::kwargs& kwargs) {
  eta_model_options o;
  for (const auto& [key_h, value] : kwargs) {
    const std::string key = py::str(key_h);
    const auto it = eta_setters().find(key);
    if (it == eta_setters().end()) throw_value_error(key, "not an option of EtaModel");
    try {
      it->second(o, value);
    } catch (py::cast_error&) {
      throw_value_error(key, "wrong type");
    }
  }
  auto r = eta_model::make(o);
  if (!r.ok()) {
    const std::string argument = option_argument(r.field());
    throw_rejection(r.error(), r.field(), argument.c_str());
  }
  auto out = std::make_unique<py_eta_model>();
  out->model = std::move(r).value();
  return out;
}

// One trip's arrays, converted with the GIL held.
struct trip_arrays {
  std::vector<position_fix> fixes;
  std::vector<geo_point> route;
  geo_point origin, destination;
};

std::optional<geo_point> optional_point(py::handle h, const char* argument) {
  if (h.is_none()) return std::nullopt;
  const f64_array a = to_f64(h, argument);
  if (a.size() != 2) throw_value_error(argument, "expected (lon, lat)");
  return geo_point{a.data()[0], a.data()[1]};
}

trip_arrays read_trip(py::handle t, py::handle lon, py::handle lat, py::handle route_lon,
                      py::handle route_lat, py::handle origin, py::handle destination) {
  const i64_array times = to_time_ms(t, "fix_t");
  const f64_array x = to_f64(lon, "fix_lon");
  const f64_array y = to_f64(lat, "fix_lat");
  const std::size_t n = common_length({{"fix_t", static_cast<std::size_t>(times.size())},
                                       {"fix_lon", static_cast<std::size_t>(x.size())},
                                       {"fix_lat", static_cast<std::size_t>(y.size())}},
                                      false);
  trip_arrays out;
  out.fixes.resize(n);
  for (std::size_t i = 0; i < n; ++i) out.fixes[i] = {times.data()[i], {x.data()[i], y.data()[i]}};
  if (route_lon.is_none() != route_lat.is_none())
    throw_value_error(route_lon.is_none() ? "route_lon" : "route_lat", "give both route_lon and route_lat");
  if (!route_lon.is_none()) {
    const f64_array rx = to_f64(route_lon, "route_lon");
    const f64_array ry = to_f64(route_lat, "route_lat");
    const std::size_t m = common_length({{"route_lon", static_cast<std::size_t>(rx.size())},
                                         {"route_lat", static_cast<std::size_t>(ry.size())}},
                                        false);
    for (std::size_t i = 0; i < m; ++i) out.route.push_back({rx.data()[i], ry.data()[i]});
  }
  // Without explicit ends: the route's, else the first and last fix.
  const auto first = out.route.empty() ? (n ? out.fixes.front().point : geo_point{}) : out.route.front();
  const auto last = out.route.empty() ? (n ? out.fixes.back().point : geo_point{}) : out.route.back();
  out.origin = optional_point(origin, "origin").value_or(first);
  out.destination = optional_point(destination, "destination").value_or(last);
  return out;
}

void learn(py_eta_model& m, std::int64_t assigned_at, std::int64_t delivered_at, py::handle t,
           py::handle lon, py::handle lat, py::handle route_lon, py::handle route_lat,
           py::handle origin, py::handle destination, py::object warehouse, std::int64_t paid_at) {
  const trip_arrays a = read_trip(t, lon, lat, route_lon, route_lat, origin, destination);
  completed_trip trip;
  if (!warehouse.is_none()) {
    auto w = id::make(cast_warehouse(warehouse), "warehouse");
    trip.warehouse = value_or_throw(std::move(w), "warehouse");
  }
  trip.paid_at = paid_at;
  trip.assigned_at = assigned_at;
  trip.delivered_at = delivered_at;
  trip.route = a.route;
  trip.origin = a.origin;
  trip.destination = a.destination;
  trip.fixes = a.fixes;
  status_result r;
  {
    py::gil_scoped_release unlocked;
    r = learn_trip(*m.model, trip);
  }
  if (!r.ok()) {
    const std::string_view f = r.field ? r.field : "";
    const char* argument = f == "fixes" ? "fix_t" : f == "route" ? "route_lon" : f == "assignedAt" ? "assigned_at"
                         : f == "deliveredAt" ? "delivered_at" : f == "paidAt" ? "paid_at" : r.field;
    throw_rejection(r.code, r.field, argument);
  }
}

py::object predict(py_eta_model& m, std::int64_t assigned_at, py::handle t, py::handle lon, py::handle lat,
                   py::handle route_lon, py::handle route_lat, py::handle origin, py::handle destination,
                   bool learn_online) {
  const trip_arrays a = read_trip(t, lon, lat, route_lon, route_lat, origin, destination);
  std::optional<eta_route> route;
  if (!a.route.empty()) {
    auto r = eta_route::make(*m.model, a.route, assigned_at);
    if (!r.ok()) throw_rejection(r.error(), r.field(), "route_lon");
    route = std::move(r).value();
  }
  const auto n = static_cast<py::ssize_t>(a.fixes.size());
  py::array_t<std::int64_t> times(n);
  f64_array median(n), p90(n), progress(n);
  status_result started;
  {
    py::gil_scoped_release unlocked;
    trip_eta trip;
    const eta_learning learning = learn_online ? eta_learning::on : eta_learning::off;
    started = trip.start_delivery(*m.model, assigned_at, route ? &*route : nullptr, a.origin,
                                  a.destination, learning);
    if (started.ok()) {
      for (std::size_t i = 0; i < a.fixes.size(); ++i) {
        const position_fix& f = a.fixes[i];
        std::optional<polyline_projection> proj;
        if (route && is_valid_point(f.point)) proj = route->line().project(f.point);
        const eta_estimate e = trip.on_fix(*m.model, f.time, f.point, route ? &*route : nullptr,
                                           proj ? &*proj : nullptr, learning);
        times.mutable_data()[i] = f.time;
        median.mutable_data()[i] = e.median_s;
        p90.mutable_data()[i] = e.p90_s;
        progress.mutable_data()[i] = trip.progress_m();
      }
    }
  }
  if (!started.ok()) {
    const std::string_view f = started.field ? started.field : "";
    throw_rejection(started.code, started.field, f == "assignedAt" ? "assigned_at" : started.field);
  }
  return make_table({{"t", times}, {"median_s", median}, {"p90_s", p90}, {"progress_m", progress}});
}

}  // namespace

std::string cast_warehouse(py::handle h) {
  if (!py::isinstance<py::str>(h)) throw_value_error("warehouse", "expected a str id");
  return h.cast<std::string>();
}

void bind_eta(py::module_& m) {
  py::class_<py_eta_model>(m, "EtaModel",
                           "The engine's learned ETA model standalone: learn from completed trips, "
                           "then replay a trip fix by fix. Keyword options as eta_model_options "
                           "(default_detour, rider_memory_s, ...; speed options prefixed speed_).")
      .def(py::init(&make_model))
      .def("learn_trip", &learn, "assigned_at"_a, "delivered_at"_a, "fix_t"_a, "fix_lon"_a, "fix_lat"_a,
           py::kw_only(), "route_lon"_a = py::none(), "route_lat"_a = py::none(), "origin"_a = py::none(),
           "destination"_a = py::none(), "warehouse"_a = py::none(), "paid_at"_a = -1,
           "Teaches the model one completed trip: the rider's fixes (time order) between assignment "
           "and delivery (ms), the planned route if any, and (with warehouse and paid_at) the "
           "warehouse's processing time. origin / destination default to the route's ends, else the "
           "first and last fix. A bad trip raises ValueError naming the argument.")
      .def("predict", &predict, "assigned_at"_a, "fix_t"_a, "fix_lon"_a, "fix_lat"_a, py::kw_only(),
           "route_lon"_a = py::none(), "route_lat"_a = py::none(), "origin"_a = py::none(),
           "destination"_a = py::none(), "learn"_a = false,
           "Replays a trip through the ETA: one row per fix with the median and P90 seconds to "
           "delivery from that fix's time (-1 when unknown) and the progress in metres. learn=True "
           "also teaches the model as it goes (as the engine does online).")
      .def_property_readonly(
          "option_names",
          [](const py_eta_model&) {
            py::list names;
            for (const auto& item : eta_setters()) names.append(item.first);
            return names;
          },
          "The keyword options EtaModel accepts.");
}

}  // namespace xiaoxiang::python
