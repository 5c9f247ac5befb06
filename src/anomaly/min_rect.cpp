#include "xiaoxiang/anomaly/detail/min_rect.hpp"

#include <algorithm>
#include <cmath>
#include <math.h>

#include "xiaoxiang/anomaly/geodesic.hpp"

namespace xiaoxiang::detail {
namespace {
__extension__ using quad = __float128;  // exact products of doubles (113-bit significand)

// shapely computes an edge's length as math.sqrt(dx ** 2 + dy ** 2), and
// Python's ** calls libm's pow(), which is not always correctly rounded: one
// ULP apart from dx * dx, and exact area ties (every edge of a triangle gives
// the same area) then break the other way. Called through a pointer so that
// the compiler cannot fold pow(x, 2) into x * x.
double (*volatile libm_pow)(double, double) = ::pow;
}  // namespace

int orientation(const geo_point& a, const geo_point& b, const geo_point& c) noexcept {
  const double left = (b.lon - a.lon) * (c.lat - a.lat);
  const double right = (b.lat - a.lat) * (c.lon - a.lon);
  const double det = left - right;
  // Shewchuk's error bound for orient2d (with the differences rounded).
  const double bound = 3.3306690738754716e-16 * (std::fabs(left) + std::fabs(right));
  if (det > bound) return 1;
  if (-det > bound) return -1;
  const quad exact = (static_cast<quad>(b.lon) - a.lon) * (static_cast<quad>(c.lat) - a.lat) -
                     (static_cast<quad>(b.lat) - a.lat) * (static_cast<quad>(c.lon) - a.lon);
  return exact > 0 ? 1 : exact < 0 ? -1 : 0;
}

void convex_hull(std::span<const geo_point> points, std::vector<geo_point>& scratch,
                 std::vector<geo_point>& hull) {
  scratch.assign(points.begin(), points.end());
  std::sort(scratch.begin(), scratch.end(), [](const geo_point& p, const geo_point& q) {
    return p.lon < q.lon || (p.lon == q.lon && p.lat < q.lat);
  });
  scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
  hull.clear();
  const std::size_t n = scratch.size();
  if (n <= 2) {
    hull.assign(scratch.begin(), scratch.end());
    return;
  }
  // Andrew's monotone chain, counter-clockwise, collinear points dropped.
  hull.resize(2 * n);
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i) {
    while (k >= 2 && orientation(hull[k - 2], hull[k - 1], scratch[i]) <= 0) --k;
    hull[k++] = scratch[i];
  }
  for (std::size_t i = n - 1, lower = k + 1; i-- > 0;) {
    while (k >= lower && orientation(hull[k - 2], hull[k - 1], scratch[i]) <= 0) --k;
    hull[k++] = scratch[i];
  }
  hull.resize(k - 1);  // the last point repeats the first
  if (hull.size() <= 2) return;  // collinear: the two extremes
  // GEOS order: clockwise from the lowest point (the leftmost among ties).
  std::reverse(hull.begin(), hull.end());
  const auto lowest = std::min_element(hull.begin(), hull.end(), [](const geo_point& p,
                                                                    const geo_point& q) {
    return p.lat < q.lat || (p.lat == q.lat && p.lon < q.lon);
  });
  std::rotate(hull.begin(), lowest, hull.end());
}

bool hull_contains(std::span<const geo_point> hull, const geo_point& p) noexcept {
  const std::size_t n = hull.size();
  for (std::size_t i = 0; i < n; ++i)
    if (orientation(hull[i], hull[(i + 1) % n], p) > 0) return false;
  return true;
}

double hull_rect_diagonal_m(std::span<const geo_point> hull) noexcept {
  const std::size_t n = hull.size();
  if (n == 1) return 0.0;
  if (n == 2) return geodesic_distance_m(hull[0], hull[1]);
  // shapely 1.8's minimum_rotated_rectangle: for each hull edge (in ring
  // order) rotate the hull into the edge's frame, take its envelope, keep the
  // first of minimal area, rotate corners 0 (min, min) and 2 (max, max) back.
  double best_area = INFINITY;
  double best[6] = {};  // ux, uy, min_x, min_y, max_x, max_y
  for (std::size_t i = 0; i < n; ++i) {
    const geo_point& p = hull[i];
    const geo_point& q = hull[(i + 1) % n];
    const double dx = q.lon - p.lon;
    const double dy = q.lat - p.lat;
    const double length = std::sqrt(libm_pow(dx, 2.0) + libm_pow(dy, 2.0));
    const double ux = dx / length, uy = dy / length;
    const double vx = -uy, vy = ux;
    double min_x = INFINITY, min_y = INFINITY, max_x = -INFINITY, max_y = -INFINITY;
    for (const geo_point& h : hull) {
      const double x = ux * h.lon + uy * h.lat;
      const double y = vx * h.lon + vy * h.lat;
      min_x = std::min(min_x, x);
      max_x = std::max(max_x, x);
      min_y = std::min(min_y, y);
      max_y = std::max(max_y, y);
    }
    const double area = (max_x - min_x) * (max_y - min_y);
    if (area < best_area) {
      best_area = area;
      best[0] = ux, best[1] = uy, best[2] = min_x, best[3] = min_y, best[4] = max_x, best[5] = max_y;
    }
  }
  const double ux = best[0], uy = best[1], vx = -uy, vy = ux;
  const geo_point c0{ux * best[2] + vx * best[3], uy * best[2] + vy * best[3]};
  const geo_point c2{ux * best[4] + vx * best[5], uy * best[4] + vy * best[5]};
  return geodesic_distance_m(c0, c2);
}

}  // namespace xiaoxiang::detail
