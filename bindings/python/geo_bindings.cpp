// geo: GeoHash, distances and polylines on scalars and on NumPy arrays. The
// array forms loop in C++ with the GIL released; an invalid point gives a
// missing value in its row ("" / NaN / GEOHASH_INVALID) rather than an
// exception, as NumPy does with NaN.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/geo/geohash.hpp"
#include "xiaoxiang/geo/polyline.hpp"
#include "xiaoxiang/anomaly/geodesic.hpp"

namespace xiaoxiang::python {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::uint64_t kInvalidInt = ~std::uint64_t{0};

double scalar_f64(py::handle h, const char* argument) {
  try {
    return py::float_(py::reinterpret_borrow<py::object>(h)).cast<double>();
  } catch (py::error_already_set&) {
    throw_value_error(argument, "expected a number");
  }
}

void check_precision(int precision) {
  if (precision < 1 || precision > geohash_max_precision)
    throw_rejection(make_error_code(errc::invalid_precision), "precision");
}

void check_bits(int bits) {
  if (bits < 1 || bits > geohash_max_bits)
    throw_rejection(make_error_code(errc::invalid_geohash_bits), "bitCount", "bits");
}

// The caller's output array when `out` is given (NumPy's ufunc convention):
// 1-D, C-contiguous, writeable, of `dtype` and length n. Reusing one saves the
// first-touch page faults of a fresh result, which cost more than encoding.
py::array check_out(py::handle out, const py::dtype& dtype, std::size_t n) {
  if (!py::isinstance<py::array>(out)) throw_value_error("out", "expected a NumPy array");
  auto a = py::reinterpret_borrow<py::array>(out);
  if (!a.dtype().is(dtype) && !a.dtype().attr("__eq__")(dtype).cast<bool>())
    throw_value_error("out", "expected dtype " + std::string(py::str(py::handle(dtype))) + ", got " +
                                 std::string(py::str(py::handle(a.dtype()))));
  if (a.ndim() != 1 || static_cast<std::size_t>(a.size()) != n)
    throw_value_error("out", "expected a 1-D array of length " + std::to_string(n));
  if (!(a.flags() & py::array::c_style) || !a.writeable())
    throw_value_error("out", "expected a C-contiguous, writeable array");
  return a;
}

py::object encode(py::handle lon, py::handle lat, int precision, py::handle out_arg) {
  check_precision(precision);
  if (is_scalar(lon) && is_scalar(lat)) {
    auto r = point_to_geohash({scalar_f64(lon, "lon"), scalar_f64(lat, "lat")}, precision);
    return py::str(value_or_throw(std::move(r)).str());
  }
  const f64_array x = to_f64(lon, "lon");
  const f64_array y = to_f64(lat, "lat");
  const std::size_t n = common_length({{"lon", x.size()}, {"lat", y.size()}}, false);
  std::uint32_t* out = nullptr;
  py::array result;
  if (out_arg.is_none()) {
    result = make_str_array(n, static_cast<std::size_t>(precision), &out);
  } else {
    result = check_out(out_arg, py::dtype("<U" + std::to_string(precision)), n);
    out = static_cast<std::uint32_t*>(result.mutable_data());
  }
  {
    py::gil_scoped_release unlocked;
    const double* px = x.data();
    const double* py_ = y.data();
    const auto width = static_cast<std::size_t>(precision);
    // The library encodes a block of points at once; the block's hashes
    // (4 KiB, in L1) are then widened into NumPy's UCS-4 items. Full-length
    // hashes into a 16-byte aligned array (NumPy's usual case) are 48
    // aligned bytes each; an output bigger than the caches is written with
    // streaming stores (not read first), a smaller one stays cached.
    constexpr std::size_t kStreamBytes = 8u << 20;
    const bool streamed = width == 12 && reinterpret_cast<std::uintptr_t>(out) % 16 == 0 &&
                          n * 12 * sizeof(std::uint32_t) > kStreamBytes;
    constexpr std::size_t kBlock = 256;
    std::array<geohash, kBlock> block;
    for (std::size_t start = 0; start < n; start += kBlock) {
      const std::size_t m = std::min(kBlock, n - start);
      (void)points_to_geohashes({px + start, m}, {py_ + start, m}, precision, {block.data(), m});
      std::uint32_t* items = out + start * width;
      if (streamed) {
        for (std::size_t i = 0; i < m; ++i) widen_12<true>(items + i * 12, block[i].data());
        continue;
      }
      for (std::size_t i = 0; i < m; ++i) {
        // Items are written in order, so all but the last of the array may
        // spill zeros into the next one's slots (rewritten next).
        const bool room = (n - 1 - (start + i)) * width >= 12 - width;
        if (room) {
          widen_12(items + i * width, block[i].data());
        } else {
          put_ucs4(items + i * width, width, block[i].view());
        }
      }
    }
    if (streamed) stream_fence();
  }
  return result;
}

py::object encode_int(py::handle lon, py::handle lat, int bits, py::handle out_arg) {
  check_bits(bits);
  if (is_scalar(lon) && is_scalar(lat)) {
    auto r = point_to_geohash_int({scalar_f64(lon, "lon"), scalar_f64(lat, "lat")}, bits);
    return py::int_(value_or_throw(std::move(r)).bits);
  }
  const f64_array x = to_f64(lon, "lon");
  const f64_array y = to_f64(lat, "lat");
  const std::size_t n = common_length({{"lon", x.size()}, {"lat", y.size()}}, false);
  py::array result = out_arg.is_none()
                         ? py::array(py::array_t<std::uint64_t>(static_cast<py::ssize_t>(n)))
                         : check_out(out_arg, py::dtype::of<std::uint64_t>(), n);
  {
    auto* out = static_cast<std::uint64_t*>(result.mutable_data());
    py::gil_scoped_release unlocked;
    const double* px = x.data();
    const double* py_ = y.data();
    for (std::size_t i = 0; i < n; ++i) {
      const auto r = point_to_geohash_int({px[i], py_[i]}, bits);
      out[i] = r.ok() ? r->bits : kInvalidInt;
    }
  }
  return result;
}

std::optional<geohash_int> parse(const short_text<12>& t) {
  if (t.bad || t.too_long) return std::nullopt;
  auto r = geohash_to_int(t.view());
  if (!r.ok()) return std::nullopt;
  return *r;
}

py::object decode(py::handle h, bool with_error) {
  if (py::isinstance<py::str>(h)) {
    const auto cell = value_or_throw(decode_geohash(h.cast<std::string>()), "geohash");
    if (with_error)
      return py::make_tuple(cell.center.lon, cell.center.lat, cell.lon_err, cell.lat_err);
    return py::make_tuple(cell.center.lon, cell.center.lat);
  }
  const auto texts = to_texts<12>(h, "geohash");
  const std::size_t n = texts.size();
  f64_array lon(static_cast<py::ssize_t>(n)), lat(static_cast<py::ssize_t>(n));
  f64_array lon_err(static_cast<py::ssize_t>(with_error ? n : 0));
  f64_array lat_err(static_cast<py::ssize_t>(with_error ? n : 0));
  {
    py::gil_scoped_release unlocked;
    double* x = lon.mutable_data();
    double* y = lat.mutable_data();
    double* ex = lon_err.mutable_data();
    double* ey = lat_err.mutable_data();
    for (std::size_t i = 0; i < n; ++i) {
      const auto parsed = parse(texts[i]);
      const geohash_cell c = parsed ? xiaoxiang::decode(*parsed)
                                    : geohash_cell{{kNaN, kNaN}, kNaN, kNaN};
      x[i] = c.center.lon;
      y[i] = c.center.lat;
      if (with_error) {
        ex[i] = c.lon_err;
        ey[i] = c.lat_err;
      }
    }
  }
  if (with_error) return py::make_tuple(lon, lat, lon_err, lat_err);
  return py::make_tuple(lon, lat);
}

py::object neighbours_of(py::handle h) {
  if (py::isinstance<py::str>(h)) {
    const geohash_int g = value_or_throw(geohash_to_int(h.cast<std::string>()), "geohash");
    py::list out;
    for (const geohash_int& c : xiaoxiang::neighbours(g)) out.append(py::str(int_to_geohash(c).str()));
    return out;
  }
  const auto texts = to_texts<12>(h, "geohash");
  const std::size_t n = texts.size();
  std::size_t width = 1;
  for (const auto& t : texts)
    if (!t.too_long && t.size > width) width = t.size;
  std::uint32_t* out = nullptr;
  py::array result = make_str_array(std::vector<std::size_t>{n, 8}, width, &out);
  {
    py::gil_scoped_release unlocked;
    for (std::size_t i = 0; i < n; ++i) {
      const auto parsed = parse(texts[i]);
      for (std::size_t k = 0; k < 8; ++k) {
        std::uint32_t* item = out + (i * 8 + k) * width;
        if (!parsed) {
          put_ucs4(item, width, {});
          continue;
        }
        put_ucs4(item, width, int_to_geohash(xiaoxiang::neighbours(*parsed)[k]).view());
      }
    }
  }
  return result;
}

py::object cover_of(py::handle lon, py::handle lat, double radius_m, int precision) {
  check_precision(precision);
  const int bits = precision * 5;
  std::vector<geohash_int> cells;
  if (is_scalar(lon) && is_scalar(lat)) {
    const geo_point c{scalar_f64(lon, "lon"), scalar_f64(lat, "lat")};
    std::size_t appended = 0;
    {
      auto r = cover(c, radius_m, bits, cells);
      appended = value_or_throw(std::move(r), nullptr);
    }
    py::list out;
    for (std::size_t i = 0; i < appended; ++i) out.append(py::str(int_to_geohash(cells[i]).str()));
    return out;
  }
  if (!(radius_m >= 0) || radius_m > geohash_max_cover_radius_m)
    throw_rejection(make_error_code(errc::invalid_radius), "radius", "radius_m");
  const f64_array x = to_f64(lon, "lon");
  const f64_array y = to_f64(lat, "lat");
  const std::size_t n = common_length({{"lon", x.size()}, {"lat", y.size()}}, false);
  std::vector<std::int64_t> index;
  std::optional<std::error_code> failure;
  {
    py::gil_scoped_release unlocked;
    for (std::size_t i = 0; i < n; ++i) {
      const geo_point c{x.data()[i], y.data()[i]};
      if (!is_valid_point(c)) continue;  // no cells for an invalid centre
      const std::size_t before = cells.size();
      auto r = cover(c, radius_m, bits, cells);
      if (!r.ok()) {
        failure = r.error();
        break;
      }
      index.insert(index.end(), cells.size() - before, static_cast<std::int64_t>(i));
    }
  }
  if (failure) throw_rejection(*failure, "radius", "radius_m");
  std::uint32_t* out = nullptr;
  py::array result = make_str_array(cells.size(), static_cast<std::size_t>(precision), &out);
  for (std::size_t i = 0; i < cells.size(); ++i)
    put_ucs4(out + i * static_cast<std::size_t>(precision), static_cast<std::size_t>(precision),
             int_to_geohash(cells[i]).view());
  return py::make_tuple(py::array_t<std::int64_t>(static_cast<py::ssize_t>(index.size()), index.data()),
                        result);
}

// Applies fn(a, b) over broadcast (lon1, lat1) x (lon2, lat2); NaN for invalid points.
template <class F>
py::object pairwise(py::handle lon1, py::handle lat1, py::handle lon2, py::handle lat2, F fn) {
  if (is_scalar(lon1) && is_scalar(lat1) && is_scalar(lon2) && is_scalar(lat2)) {
    const geo_point a{scalar_f64(lon1, "lon1"), scalar_f64(lat1, "lat1")};
    const geo_point b{scalar_f64(lon2, "lon2"), scalar_f64(lat2, "lat2")};
    if (!is_valid_point(a) || !is_valid_point(b)) return py::float_(kNaN);
    return py::float_(fn(a, b));
  }
  const f64_array x1 = to_f64(lon1, "lon1"), y1 = to_f64(lat1, "lat1");
  const f64_array x2 = to_f64(lon2, "lon2"), y2 = to_f64(lat2, "lat2");
  const std::size_t n = common_length({{"lon1", x1.size()}, {"lat1", y1.size()},
                                       {"lon2", x2.size()}, {"lat2", y2.size()}},
                                      true);
  f64_array out(static_cast<py::ssize_t>(n));
  {
    py::gil_scoped_release unlocked;
    const auto at = [](const f64_array& a, std::size_t i) {
      return a.size() == 1 ? a.data()[0] : a.data()[i];
    };
    double* d = out.mutable_data();
    for (std::size_t i = 0; i < n; ++i) {
      const geo_point a{at(x1, i), at(y1, i)};
      const geo_point b{at(x2, i), at(y2, i)};
      d[i] = is_valid_point(a) && is_valid_point(b) ? fn(a, b) : kNaN;
    }
  }
  return out;
}

double mean_latitude(const f64_array& lat) {
  double sum = 0;
  std::size_t count = 0;
  for (py::ssize_t i = 0; i < lat.size(); ++i) {
    const double v = lat.data()[i];
    if (v >= -90.0 && v <= 90.0) {
      sum += v;
      ++count;
    }
  }
  return count ? sum / static_cast<double>(count) : 0.0;
}

double trajectory_length(py::handle lon, py::handle lat, const std::string& method) {
  if (method != "geodesic" && method != "haversine" && method != "cheap_ruler")
    throw_value_error("method", "expected 'geodesic', 'haversine' or 'cheap_ruler', got '" + method + "'");
  const f64_array x = to_f64(lon, "lon");
  const f64_array y = to_f64(lat, "lat");
  const std::size_t n = common_length({{"lon", x.size()}, {"lat", y.size()}}, false);
  const cheap_ruler ruler(mean_latitude(y));
  const int how = method == "geodesic" ? 0 : method == "haversine" ? 1 : 2;
  py::gil_scoped_release unlocked;
  double total = 0;
  std::optional<geo_point> previous;
  for (std::size_t i = 0; i < n; ++i) {
    const geo_point p{x.data()[i], y.data()[i]};
    if (!is_valid_point(p)) continue;  // a missing fix joins its neighbours
    if (previous) {
      total += how == 0   ? geodesic_distance_m(*previous, p)
               : how == 1 ? haversine_m(*previous, p)
                          : ruler.distance_m(*previous, p);
    }
    previous = p;
  }
  return total;
}

// A route for Python: the C++ polyline plus nothing else.
struct py_polyline {
  polyline line;
};

py_polyline make_polyline(py::handle lon, py::handle lat) {
  const f64_array x = to_f64(lon, "lon");
  const f64_array y = to_f64(lat, "lat");
  const std::size_t n = common_length({{"lon", x.size()}, {"lat", y.size()}}, false);
  std::vector<geo_point> points(n);
  for (std::size_t i = 0; i < n; ++i) points[i] = {x.data()[i], y.data()[i]};
  auto r = polyline::make(std::move(points));
  if (!r.ok()) throw_rejection(r.error(), r.field(), "lon/lat");
  return py_polyline{std::move(r).value()};
}

py::dict projection_dict(const polyline& line, const polyline_projection& p) {
  py::dict d;
  d["distance_m"] = p.distance_m;
  d["along_m"] = p.along_m;
  d["remaining_m"] = p.remaining_m;
  d["progress"] = line.length_m() > 0 ? p.along_m / line.length_m() : 0.0;
  d["segment"] = p.segment;
  d["lon"] = p.point.lon;
  d["lat"] = p.point.lat;
  return d;
}

py::object project(const py_polyline& self, py::handle lon, py::handle lat, bool follow) {
  if (is_scalar(lon) && is_scalar(lat)) {
    const geo_point p{scalar_f64(lon, "lon"), scalar_f64(lat, "lat")};
    if (const errc e = check_point(p); e != errc::ok)
      throw_rejection(make_error_code(e), point_field(e));
    return projection_dict(self.line, self.line.project(p));
  }
  const f64_array x = to_f64(lon, "lon");
  const f64_array y = to_f64(lat, "lat");
  const std::size_t n = common_length({{"lon", x.size()}, {"lat", y.size()}}, false);
  const auto sn = static_cast<py::ssize_t>(n);
  f64_array distance(sn), along(sn), remaining(sn), progress(sn), plon(sn), plat(sn);
  py::array_t<std::int64_t> segment(sn);
  {
    py::gil_scoped_release unlocked;
    const double length = self.line.length_m();
    std::optional<std::size_t> hint;
    for (std::size_t i = 0; i < n; ++i) {
      const geo_point p{x.data()[i], y.data()[i]};
      if (!is_valid_point(p)) {
        distance.mutable_data()[i] = along.mutable_data()[i] = remaining.mutable_data()[i] = kNaN;
        progress.mutable_data()[i] = plon.mutable_data()[i] = plat.mutable_data()[i] = kNaN;
        segment.mutable_data()[i] = -1;
        continue;
      }
      // Following a rider: start a segment back, to allow for GPS jitter.
      const polyline_projection r =
          follow && hint ? self.line.project(p, projection_hint{*hint > 0 ? *hint - 1 : 0})
                         : self.line.project(p);
      if (follow) hint = r.segment;
      distance.mutable_data()[i] = r.distance_m;
      along.mutable_data()[i] = r.along_m;
      remaining.mutable_data()[i] = r.remaining_m;
      progress.mutable_data()[i] = length > 0 ? r.along_m / length : 0.0;
      segment.mutable_data()[i] = static_cast<std::int64_t>(r.segment);
      plon.mutable_data()[i] = r.point.lon;
      plat.mutable_data()[i] = r.point.lat;
    }
  }
  return make_table({{"distance_m", distance}, {"along_m", along}, {"remaining_m", remaining},
                     {"progress", progress}, {"segment", segment}, {"lon", plon}, {"lat", plat}});
}

}  // namespace

void bind_geo(py::module_& m) {
  m.attr("GEOHASH_INVALID") = py::int_(kInvalidInt);
  m.attr("EARTH_RADIUS_M") = earth_radius_m;

  m.def("geohash_encode", &encode, "lon"_a, "lat"_a, "precision"_a = 12, "out"_a = py::none(),
        "GeoHash of `precision` (1..12) characters. Scalars give a str (ValueError for an "
        "invalid point); arrays give a NumPy '<U{precision}' array, '' where a point is invalid "
        "(written into `out` when given, as NumPy ufuncs do).");
  m.def("geohash_encode_int", &encode_int, "lon"_a, "lat"_a, "bits"_a = 60, "out"_a = py::none(),
        "Integer GeoHash of `bits` (1..60) interleaved bits, right-aligned. Arrays give "
        "uint64 (into `out` when given), GEOHASH_INVALID where a point is invalid.");
  m.def("geohash_decode", &decode, "geohash"_a, "with_error"_a = false,
        "Centre (lon, lat) in degrees of a GeoHash cell; with_error adds half the cell's width "
        "and height. A str gives floats (ValueError if invalid); an array gives arrays, NaN "
        "where a GeoHash is invalid.");
  m.def("geohash_neighbours", &neighbours_of, "geohash"_a,
        "The 8 neighbouring cells in the order N, NE, E, SE, S, SW, W, NW. A str gives a list; "
        "an array of n gives an (n, 8) str array, '' rows where a GeoHash is invalid.");
  m.def("geohash_cover", &cover_of, "lon"_a, "lat"_a, "radius_m"_a, "precision"_a = 7,
        "GeoHash cells of `precision` characters covering the circle of radius_m metres. "
        "Scalars give a list; arrays of centres give (index, cells): the centre each cell "
        "belongs to and the cells.");
  m.def(
      "haversine_m",
      [](py::handle a, py::handle b, py::handle c, py::handle d) {
        return pairwise(a, b, c, d, [](geo_point p, geo_point q) { return haversine_m(p, q); });
      },
      "lon1"_a, "lat1"_a, "lon2"_a, "lat2"_a,
      "Great-circle distance in metres (sphere of EARTH_RADIUS_M). Scalars or arrays; "
      "length-1 arrays broadcast; NaN where a point is invalid.");
  m.def(
      "bearing_deg",
      [](py::handle a, py::handle b, py::handle c, py::handle d) {
        return pairwise(a, b, c, d, [](geo_point p, geo_point q) { return bearing_deg(p, q); });
      },
      "lon1"_a, "lat1"_a, "lon2"_a, "lat2"_a,
      "Initial bearing from point 1 to point 2, degrees clockwise from north in [0, 360).");
  m.def(
      "cheap_ruler_m",
      [](py::handle a, py::handle b, py::handle c, py::handle d, std::optional<double> ruler_lat) {
        double lat0 = 0;
        if (ruler_lat) {
          lat0 = *ruler_lat;
        } else if (is_scalar(b)) {
          lat0 = scalar_f64(b, "lat1");
        } else {
          lat0 = mean_latitude(to_f64(b, "lat1"));
        }
        if (!(lat0 >= -90.0 && lat0 <= 90.0))
          throw_rejection(make_error_code(errc::invalid_latitude), "lat", "ruler_lat");
        const cheap_ruler ruler(lat0);
        return pairwise(a, b, c, d, [&ruler](geo_point p, geo_point q) { return ruler.distance_m(p, q); });
      },
      "lon1"_a, "lat1"_a, "lon2"_a, "lat2"_a, "ruler_lat"_a = py::none(),
      "Fast city-scale distance in metres (cheap ruler on WGS-84, within 0.05% up to 50 km). "
      "ruler_lat defaults to the mean of lat1.");
  m.def("trajectory_length_m", &trajectory_length, "lon"_a, "lat"_a, "method"_a = "geodesic",
        "Length in metres of a track (points in time order): the sum of consecutive distances, "
        "'geodesic' (WGS-84, as MovingPandas' get_length), 'haversine' or 'cheap_ruler'. "
        "Invalid points (NaN) are skipped.");

  py::class_<py_polyline>(m, "Polyline",
                          "A route (>= 2 points) for projecting positions: distance off the "
                          "route and progress along it, in metres.")
      .def(py::init(&make_polyline), "lon"_a, "lat"_a)
      .def_property_readonly(
          "length_m", [](const py_polyline& p) { return p.line.length_m(); }, "Total length, metres.")
      .def_property_readonly(
          "lon",
          [](const py_polyline& p) {
            f64_array out(static_cast<py::ssize_t>(p.line.points().size()));
            for (std::size_t i = 0; i < p.line.points().size(); ++i) out.mutable_data()[i] = p.line.points()[i].lon;
            return out;
          },
          "Longitudes of the route's points, degrees.")
      .def_property_readonly(
          "lat",
          [](const py_polyline& p) {
            f64_array out(static_cast<py::ssize_t>(p.line.points().size()));
            for (std::size_t i = 0; i < p.line.points().size(); ++i) out.mutable_data()[i] = p.line.points()[i].lat;
            return out;
          },
          "Latitudes of the route's points, degrees.")
      .def_property_readonly(
          "cumulative_m",
          [](const py_polyline& p) {
            f64_array out(static_cast<py::ssize_t>(p.line.points().size()));
            for (std::size_t i = 0; i < p.line.points().size(); ++i) out.mutable_data()[i] = p.line.along_at(i);
            return out;
          },
          "Length from the start to each point, metres.")
      .def("__len__", [](const py_polyline& p) { return p.line.points().size(); })
      .def("project", &project, "lon"_a, "lat"_a, "follow"_a = false,
           "Nearest point of the route: a dict for scalars (distance_m, along_m, remaining_m, "
           "progress, segment, lon, lat), a DataFrame for arrays. follow=True treats the "
           "positions as a rider advancing along the route (never jumps back more than one "
           "segment; O(1) per point).")
      .def("__repr__", [](const py_polyline& p) {
        return "Polyline(" + std::to_string(p.line.points().size()) + " points, " +
               std::to_string(p.line.length_m()) + " m)";
      });
}

}  // namespace xiaoxiang::python
