// Distances on the Earth: haversine on the mean sphere, initial bearing, and
// cheap_ruler, a fast local approximation for city-scale distances.
#pragma once

#include <cmath>

#include "xiaoxiang/core/geo_point.hpp"

namespace xiaoxiang {

// Mean Earth radius (IUGG R1), metres.
inline constexpr double earth_radius_m = 6371008.8;

// Great-circle distance in metres on the sphere of earth_radius_m. Within
// 0.5% of the WGS-84 geodesic distance. Requires: valid points.
double haversine_m(geo_point a, geo_point b) noexcept;

// Initial bearing from `from` to `to`, degrees clockwise from north in [0, 360).
// 0 when the points coincide. Requires: valid points.
double bearing_deg(geo_point from, geo_point to) noexcept;

// A fast local approximation of distances (the cheap-ruler idea): the WGS-84
// ellipsoid's metres per degree of longitude and latitude at one latitude,
// plus a first-order correction of the longitude scale for the pair's mean
// latitude. Within 0.05% of the WGS-84 geodesic for distances up to 50 km
// when |latitude| <= 80 degrees and the points lie within 1 degree of
// latitude of the ruler's (measured worst: 0.027%, at 80 degrees); see
// docs/geo.md.
class cheap_ruler {
 public:
  // A ruler for points near latitude `lat_deg` (degrees, [-90, 90]).
  explicit cheap_ruler(double lat_deg) noexcept;
  // Approximate geodesic distance in metres; longitude differences wrap
  // across the antimeridian.
  double distance_m(geo_point a, geo_point b) const noexcept { return std::sqrt(squared_m2(a, b)); }
  // The square of distance_m (exactly: distance_m is its square root), for
  // comparisons that need no root.
  double squared_m2(geo_point a, geo_point b) const noexcept {
    double dlon = a.lon - b.lon;
    if (dlon > 180.0) dlon -= 360.0;
    if (dlon < -180.0) dlon += 360.0;
    // The longitude scale changes with latitude; correct it to first order at
    // the pair's mean latitude, so one ruler serves a whole city.
    const double kx = kx_ + dkx_ * ((a.lat + b.lat) * 0.5 - lat_);
    const double dx = dlon * kx;
    const double dy = (a.lat - b.lat) * ky_;
    return dx * dx + dy * dy;
  }
  // Metres per degree of longitude at the ruler's latitude.
  double kx() const noexcept { return kx_; }
  // Metres per degree of latitude at the ruler's latitude.
  double ky() const noexcept { return ky_; }
  // The ruler's latitude, degrees.
  double lat() const noexcept { return lat_; }

 private:
  double lat_;
  double kx_;
  double ky_;
  double dkx_;  // d(kx)/d(lat), metres per degree of longitude per degree of latitude
};

}  // namespace xiaoxiang
