// geo_point: a WGS-84 position in degrees, longitude first (GeoJSON order).
#pragma once

#include <cmath>
#include <system_error>

#include "xiaoxiang/core/error.hpp"

namespace xiaoxiang {

struct geo_point {
  double lon = 0;  // degrees east, [-180, 180]
  double lat = 0;  // degrees north, [-90, 90]

  friend constexpr bool operator==(const geo_point&, const geo_point&) = default;
};

// errc::invalid_longitude / errc::invalid_latitude for NaN, infinities and
// values outside the ranges above; errc::ok otherwise. Longitude is checked
// first, so a point bad in both reports its longitude.
constexpr errc check_point(const geo_point& p) noexcept {
  // Written as !(in range) so that NaN fails too.
  if (!(p.lon >= -180.0 && p.lon <= 180.0)) return errc::invalid_longitude;
  if (!(p.lat >= -90.0 && p.lat <= 90.0)) return errc::invalid_latitude;
  return errc::ok;
}

// The field name check_point's code concerns: "lon" or "lat".
constexpr const char* point_field(errc e) noexcept {
  return e == errc::invalid_longitude ? "lon" : e == errc::invalid_latitude ? "lat" : nullptr;
}

constexpr bool is_valid_point(const geo_point& p) noexcept { return check_point(p) == errc::ok; }

}  // namespace xiaoxiang
