#include "xiaoxiang/anomaly/geodesic.hpp"

#include <cmath>
#include <numbers>

#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {
constexpr double kRad = std::numbers::pi / 180.0;
constexpr double kA = 6378137.0;                  // WGS-84 semi-major axis, m
constexpr double kF = 1.0 / 298.257223563;        // WGS-84 flattening
constexpr double kB = kA * (1.0 - kF);            // semi-minor axis, m
}  // namespace

double geodesic_distance_m(geo_point a, geo_point b) noexcept {
  if (a.lon == b.lon && a.lat == b.lat) return 0.0;
  double dlon = b.lon - a.lon;
  if (dlon > 180.0) dlon -= 360.0;
  if (dlon < -180.0) dlon += 360.0;
  const double l = dlon * kRad;
  // Reduced latitudes.
  const double u1 = std::atan((1.0 - kF) * std::tan(a.lat * kRad));
  const double u2 = std::atan((1.0 - kF) * std::tan(b.lat * kRad));
  const double sin_u1 = std::sin(u1), cos_u1 = std::cos(u1);
  const double sin_u2 = std::sin(u2), cos_u2 = std::cos(u2);

  double lambda = l;
  double sin_sigma = 0, cos_sigma = 0, sigma = 0, cos2_alpha = 0, cos_2sigma_m = 0;
  bool converged = false;
  for (int iter = 0; iter < 200; ++iter) {
    const double sin_lambda = std::sin(lambda), cos_lambda = std::cos(lambda);
    const double t1 = cos_u2 * sin_lambda;
    const double t2 = cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_lambda;
    sin_sigma = std::sqrt(t1 * t1 + t2 * t2);
    if (sin_sigma == 0.0) return 0.0;  // coincident after rounding
    cos_sigma = sin_u1 * sin_u2 + cos_u1 * cos_u2 * cos_lambda;
    sigma = std::atan2(sin_sigma, cos_sigma);
    const double sin_alpha = cos_u1 * cos_u2 * sin_lambda / sin_sigma;
    cos2_alpha = 1.0 - sin_alpha * sin_alpha;
    // On the equator (cos2_alpha = 0) the term is 0 by continuity.
    cos_2sigma_m = cos2_alpha != 0.0 ? cos_sigma - 2.0 * sin_u1 * sin_u2 / cos2_alpha : 0.0;
    const double c = kF / 16.0 * cos2_alpha * (4.0 + kF * (4.0 - 3.0 * cos2_alpha));
    const double previous = lambda;
    lambda = l + (1.0 - c) * kF * sin_alpha *
                     (sigma + c * sin_sigma *
                                  (cos_2sigma_m + c * cos_sigma *
                                                      (-1.0 + 2.0 * cos_2sigma_m * cos_2sigma_m)));
    if (std::fabs(lambda - previous) < 1e-13) {
      converged = true;
      break;
    }
  }
  if (!converged) return haversine_m(a, b);  // near-antipodal: never at the stop scale

  const double u_sq = cos2_alpha * (kA * kA - kB * kB) / (kB * kB);
  const double big_a =
      1.0 + u_sq / 16384.0 * (4096.0 + u_sq * (-768.0 + u_sq * (320.0 - 175.0 * u_sq)));
  const double big_b = u_sq / 1024.0 * (256.0 + u_sq * (-128.0 + u_sq * (74.0 - 47.0 * u_sq)));
  const double delta_sigma =
      big_b * sin_sigma *
      (cos_2sigma_m +
       big_b / 4.0 *
           (cos_sigma * (-1.0 + 2.0 * cos_2sigma_m * cos_2sigma_m) -
            big_b / 6.0 * cos_2sigma_m * (-3.0 + 4.0 * sin_sigma * sin_sigma) *
                (-3.0 + 4.0 * cos_2sigma_m * cos_2sigma_m)));
  return kB * big_a * (sigma - delta_sigma);
}

bool geodesic_distance_below(geo_point a, geo_point b, double limit_m) noexcept {
  // The cheap ruler is within 0.05% up to 50 km below 80 degrees of latitude;
  // outside that domain, or within 2% of the limit, measure exactly.
  const double mid_lat = (a.lat + b.lat) * 0.5;
  if (std::fabs(a.lat) <= 80.0 && std::fabs(b.lat) <= 80.0 && limit_m <= 20'000.0) {
    const double estimate = cheap_ruler(mid_lat).distance_m(a, b);
    if (estimate < limit_m * 0.98) return true;
    if (estimate > limit_m * 1.02) return false;
  }
  return geodesic_distance_m(a, b) < limit_m;
}

}  // namespace xiaoxiang
