// trajectory: stop detection on arrays of (t, lon, lat) or on a DataFrame,
// grouped by track, returning the columns of MovingPandas' reference output.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.hpp"
#include "xiaoxiang/anomaly/stop_detector.hpp"

namespace xiaoxiang::python {
namespace {

py::object pick_column(py::handle frame, std::initializer_list<const char*> names, const char* argument) {
  py::object columns = frame.attr("columns");
  for (const char* name : names)
    if (columns.attr("__contains__")(name).cast<bool>()) return frame.attr("__getitem__")(name);
  std::string wanted;
  for (const char* name : names) wanted += std::string(wanted.empty() ? "" : ", ") + name;
  throw_value_error(argument, "the DataFrame has none of the columns " + wanted);
}

stop_mode mode_from(const std::string& mode) {
  if (mode == "movingpandas") return stop_mode::movingpandas;
  if (mode == "streaming") return stop_mode::streaming;
  throw_value_error("mode", "expected 'movingpandas' or 'streaming', got '" + mode + "'");
}

const char* argument_of(const char* field) {
  const std::string_view f = field ? field : "";
  if (f == "times") return "t";
  if (f == "points") return "lon/lat";
  return field;
}

py::object detect(py::handle t, py::handle lon, py::handle lat, py::handle track_id,
                  double max_diameter_m, std::int64_t min_duration_ms, const std::string& mode,
                  bool strict_times, int streaming_max_outliers) {
  py::object tt = py::reinterpret_borrow<py::object>(t);
  py::object xx = py::reinterpret_borrow<py::object>(lon);
  py::object yy = py::reinterpret_borrow<py::object>(lat);
  py::object tracks = py::reinterpret_borrow<py::object>(track_id);
  if (py::hasattr(t, "columns")) {
    // A DataFrame: the normalized CSV's columns, or common alternatives.
    py::handle frame = t;
    tt = pick_column(frame, {"timestamp_ms", "t", "time", "datetime"}, "t");
    xx = pick_column(frame, {"lon", "longitude", "lng", "x"}, "lon");
    yy = pick_column(frame, {"lat", "latitude", "y"}, "lat");
    if (tracks.is_none() && frame.attr("columns").attr("__contains__")("track_id").cast<bool>())
      tracks = frame.attr("__getitem__")("track_id");
  } else if (lon.is_none() || lat.is_none()) {
    throw_value_error(lon.is_none() ? "lon" : "lat", "required unless t is a DataFrame");
  }
  if (streaming_max_outliers < 0 || streaming_max_outliers > 255)
    throw_value_error("streaming_max_outliers", "must be in 0..255");
  stop_options options;
  options.max_diameter_m = max_diameter_m;
  options.min_duration_ms = min_duration_ms;
  options.mode = mode_from(mode);
  options.strict_times = strict_times;
  options.streaming_max_outliers = static_cast<std::uint8_t>(streaming_max_outliers);

  const i64_array times = to_time_ms(tt, "t");
  const f64_array x = to_f64(xx, "lon");
  const f64_array y = to_f64(yy, "lat");
  std::vector<short_text<32>> track_texts;
  if (!tracks.is_none()) track_texts = to_texts<32>(tracks, "track_id");
  const std::size_t n = common_length({{"t", static_cast<std::size_t>(times.size())},
                                       {"lon", static_cast<std::size_t>(x.size())},
                                       {"lat", static_cast<std::size_t>(y.size())},
                                       {"track_id", tracks.is_none() ? static_cast<std::size_t>(times.size())
                                                                     : track_texts.size()}},
                                      false);
  // Groups in order of first appearance.
  std::vector<std::string> names;
  std::vector<std::vector<std::size_t>> rows;
  if (tracks.is_none()) {
    names.emplace_back();
    rows.emplace_back(n);
    for (std::size_t i = 0; i < n; ++i) rows[0][i] = i;
  } else {
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& tx = track_texts[i];
      if (tx.bad || tx.too_long)
        throw_value_error("track_id", "row " + std::to_string(i) + ": expected a str of at most 32 characters");
      const auto [it, inserted] = index.try_emplace(std::string(tx.view()), names.size());
      if (inserted) {
        names.emplace_back(tx.view());
        rows.emplace_back();
      }
      rows[it->second].push_back(i);
    }
  }

  std::vector<std::vector<stop>> found(names.size());
  std::optional<std::pair<std::error_code, const char*>> failure;
  std::string failed_track;
  {
    py::gil_scoped_release unlocked;
    stop_detector detector;
    std::vector<timestamp_ms> ts;
    std::vector<geo_point> ps;
    for (std::size_t g = 0; g < names.size() && !failure; ++g) {
      ts.clear();
      ps.clear();
      for (const std::size_t i : rows[g]) {
        ts.push_back(times.data()[i]);
        ps.push_back({x.data()[i], y.data()[i]});
      }
      if (ts.empty()) continue;
      auto r = detector.detect(ts, ps, options);
      if (!r.ok()) {
        failure = std::make_pair(r.error(), r.field());
        failed_track = names[g];
        break;
      }
      found[g] = std::move(r).value();
    }
  }
  if (failure) {
    std::string argument = argument_of(failure->second) ? argument_of(failure->second) : "t";
    if (!tracks.is_none()) argument += " (track " + failed_track + ")";
    throw_rejection(failure->first, nullptr, argument.c_str());
  }

  std::size_t total = 0;
  for (const auto& f : found) total += f.size();
  const auto sn = static_cast<py::ssize_t>(total);
  py::array_t<std::int64_t> stop_index(sn), start(sn), end(sn), points(sn);
  f64_array duration(sn), mlon(sn), mlat(sn);
  py::list track_column;
  std::size_t k = 0;
  for (std::size_t g = 0; g < found.size(); ++g) {
    for (std::size_t s = 0; s < found[g].size(); ++s, ++k) {
      const stop& st = found[g][s];
      if (!tracks.is_none()) track_column.append(py::str(names[g]));
      stop_index.mutable_data()[k] = static_cast<std::int64_t>(s);
      start.mutable_data()[k] = st.start_ms;
      end.mutable_data()[k] = st.end_ms;
      duration.mutable_data()[k] = st.duration_s;
      points.mutable_data()[k] = static_cast<std::int64_t>(st.n_points);
      mlon.mutable_data()[k] = st.median_lon;
      mlat.mutable_data()[k] = st.median_lat;
    }
  }
  std::vector<std::pair<std::string, py::object>> columns;
  if (!tracks.is_none())
    columns.emplace_back("track_id", py::module_::import("numpy").attr("array")(track_column, "dtype"_a = "object"));
  columns.insert(columns.end(), {{"stop_index", stop_index}, {"start_ms", start}, {"end_ms", end},
                                 {"duration_s", duration}, {"n_points", points},
                                 {"median_lon", mlon}, {"median_lat", mlat}});
  return make_table(columns);
}

}  // namespace

void bind_trajectory(py::module_& m) {
  m.def("detect_stops", &detect, "t"_a, "lon"_a = py::none(), "lat"_a = py::none(), py::kw_only(),
        "track_id"_a = py::none(), "max_diameter_m"_a = 30.0, "min_duration_ms"_a = 60'000,
        "mode"_a = "movingpandas", "strict_times"_a = false, "streaming_max_outliers"_a = 1,
        "Stops of trajectories: places where the mover stayed within max_diameter_m metres for at "
        "least min_duration_ms. t: int64 ms or datetime64 (or a DataFrame with columns "
        "timestamp_ms/t, lon, lat and optionally track_id). mode 'movingpandas' gives exactly "
        "MovingPandas' TrajectoryStopDetector; 'streaming' the engine's per-fix rule. Unsorted "
        "times are sorted (repeated times keep the first fix) unless strict_times. Returns a "
        "DataFrame: [track_id,] stop_index, start_ms, end_ms, duration_s, n_points, median_lon, "
        "median_lat. Invalid points raise ValueError (drop NaN rows first).");
}

}  // namespace xiaoxiang::python
