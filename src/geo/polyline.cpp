#include "xiaoxiang/geo/polyline.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace xiaoxiang {
namespace {
double mid_latitude(const std::vector<geo_point>& points) {
  const auto [lo, hi] = std::minmax_element(
      points.begin(), points.end(), [](const geo_point& a, const geo_point& b) { return a.lat < b.lat; });
  return (lo->lat + hi->lat) * 0.5;
}

double wrap_lon(double dlon) noexcept {
  if (dlon > 180.0) return dlon - 360.0;
  if (dlon < -180.0) return dlon + 360.0;
  return dlon;
}
}  // namespace

result<polyline> polyline::make(std::vector<geo_point> points) {
  if (points.size() < 2) return {errc::invalid_polyline, "route"};
  for (const geo_point& p : points)
    if (!is_valid_point(p)) return {errc::invalid_polyline, "route"};
  const cheap_ruler ruler(mid_latitude(points));
  return polyline(std::move(points), ruler);
}

polyline::polyline(std::vector<geo_point> points, cheap_ruler ruler)
    : points_(std::move(points)), ruler_(ruler), origin_(points_.front()) {
  local_.reserve(points_.size());
  for (const geo_point& p : points_) local_.push_back(to_local(p));
  inv_len2_.reserve(points_.size() - 1);
  cumulative_m_.reserve(points_.size());
  cumulative_m_.push_back(0.0);
  for (std::size_t i = 0; i + 1 < local_.size(); ++i) {
    const double dx = local_[i + 1].x - local_[i].x;
    const double dy = local_[i + 1].y - local_[i].y;
    const double len2 = dx * dx + dy * dy;
    inv_len2_.push_back(len2 > 0 ? 1.0 / len2 : 0.0);
    cumulative_m_.push_back(cumulative_m_.back() + std::sqrt(len2));
  }
}

polyline::xy polyline::to_local(geo_point p) const noexcept {
  return {wrap_lon(p.lon - origin_.lon) * ruler_.kx(), (p.lat - origin_.lat) * ruler_.ky()};
}

geo_point polyline::to_geo(xy q) const noexcept {
  double lon = origin_.lon + q.x / ruler_.kx();
  if (lon > 180.0) lon -= 360.0;
  if (lon < -180.0) lon += 360.0;
  return {lon, std::clamp(origin_.lat + q.y / ruler_.ky(), -90.0, 90.0)};
}

void polyline::scan(xy q, std::size_t first, std::size_t last, std::size_t& best,
                    double& best_d2, double& best_t) const noexcept {
  for (std::size_t i = first; i < last; ++i) {
    const xy a = local_[i], b = local_[i + 1];
    const double dx = b.x - a.x, dy = b.y - a.y;
    const double px = q.x - a.x;
    const double py = q.y - a.y;
    const double t = std::clamp((px * dx + py * dy) * inv_len2_[i], 0.0, 1.0);
    const double ex = px - t * dx;
    const double ey = py - t * dy;
    const double d2 = ex * ex + ey * ey;
    if (d2 < best_d2) {
      best_d2 = d2;
      best = i;
      best_t = t;
    }
  }
}

polyline_projection polyline::finish(std::size_t seg, double d2, double t) const noexcept {
  const xy a = local_[seg], b = local_[seg + 1];
  const double along = cumulative_m_[seg] + t * (cumulative_m_[seg + 1] - cumulative_m_[seg]);
  polyline_projection r;
  r.distance_m = std::sqrt(d2);
  r.along_m = along;
  r.remaining_m = std::max(0.0, length_m() - along);
  r.segment = seg;
  r.point = to_geo({a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)});
  return r;
}

polyline_projection polyline::project(geo_point p) const noexcept {
  std::size_t best = 0;
  double best_d2 = std::numeric_limits<double>::infinity();
  double best_t = 0;
  scan(to_local(p), 0, inv_len2_.size(), best, best_d2, best_t);
  return finish(best, best_d2, best_t);
}

polyline_projection polyline::project(geo_point p, projection_hint hint) const noexcept {
  const std::size_t n = inv_len2_.size();
  const std::size_t window = std::max<std::size_t>(hint.window, 1);
  const std::size_t first = std::min(hint.segment, n - 1);
  std::size_t last = std::min(n, first + window);
  std::size_t best = first;
  double best_d2 = std::numeric_limits<double>::infinity();
  double best_t = 0;
  const xy q = to_local(p);
  scan(q, first, last, best, best_d2, best_t);
  // The rider may have moved past the window: keep going while the best is
  // the last segment looked at.
  while (best + 1 == last && last < n) {
    const std::size_t next = std::min(n, last + window);
    scan(q, last, next, best, best_d2, best_t);
    last = next;
  }
  return finish(best, best_d2, best_t);
}

}  // namespace xiaoxiang
