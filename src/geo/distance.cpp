#include "xiaoxiang/geo/distance.hpp"

#include <cmath>
#include <numbers>

namespace xiaoxiang {
namespace {
constexpr double kRad = std::numbers::pi / 180.0;
// WGS-84 ellipsoid.
constexpr double kEquatorialRadiusM = 6378137.0;
constexpr double kFlattening = 1.0 / 298.257223563;
constexpr double kE2 = kFlattening * (2.0 - kFlattening);
}  // namespace

double haversine_m(geo_point a, geo_point b) noexcept {
  const double half_dlat = (b.lat - a.lat) * (kRad * 0.5);
  const double half_dlon = (b.lon - a.lon) * (kRad * 0.5);
  const double s = std::sin(half_dlat);
  const double t = std::sin(half_dlon);
  // cos(lat1) cos(lat2) = cos^2(mean lat) - sin^2(dlat / 2): one cosine
  // instead of two, with no loss of accuracy.
  const double c = std::cos((a.lat + b.lat) * (kRad * 0.5));
  const double h = s * s + (c * c - s * s) * t * t;
  return 2.0 * earth_radius_m * std::asin(std::sqrt(h < 1.0 ? h : 1.0));
}

double bearing_deg(geo_point from, geo_point to) noexcept {
  const double lat1 = from.lat * kRad;
  const double lat2 = to.lat * kRad;
  const double dlon = (to.lon - from.lon) * kRad;
  const double y = std::sin(dlon) * std::cos(lat2);
  const double x = std::cos(lat1) * std::sin(lat2) - std::sin(lat1) * std::cos(lat2) * std::cos(dlon);
  double deg = std::atan2(y, x) / kRad;
  if (deg < 0) deg += 360.0;
  return deg >= 360.0 ? 0.0 : deg;
}

cheap_ruler::cheap_ruler(double lat_deg) noexcept : lat_(lat_deg) {
  // Radii of curvature of the ellipsoid at this latitude (as mapbox's
  // cheap-ruler): prime vertical N = a w, meridional M = a (1 - e2) w^3.
  const double m = kRad * kEquatorialRadiusM;
  const double phi = lat_deg * kRad;
  const double cos_lat = std::cos(phi);
  const double sin_lat = std::sin(phi);
  const double w2 = 1.0 / (1.0 - kE2 * sin_lat * sin_lat);
  const double w = std::sqrt(w2);
  kx_ = m * w * cos_lat;
  ky_ = m * w * w2 * (1.0 - kE2);
  // d(kx)/d(lat) per degree: m w sin(lat) (e2 cos^2(lat) w^2 - 1) * (pi / 180).
  dkx_ = kRad * m * w * sin_lat * (kE2 * cos_lat * cos_lat * w2 - 1.0);
}

}  // namespace xiaoxiang
