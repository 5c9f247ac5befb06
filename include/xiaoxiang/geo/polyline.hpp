// polyline: a route (points plus cumulative lengths, precomputed once) and
// the projection of a position onto it: distance off the route, progress
// along it and what remains. ETA and route-deviation detection call it on
// every fix, so projecting allocates nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {

// Where a position falls on a route.
struct polyline_projection {
  double distance_m = 0;   // from the position to the nearest point of the route, metres
  double along_m = 0;      // route length from the start to that point, metres
  double remaining_m = 0;  // route length from that point to the end, metres
  std::size_t segment = 0; // index of the segment (points[segment] .. points[segment + 1])
  geo_point point;         // the nearest point of the route
};

// Where to start a hinted projection: a rider advancing along the route
// passes the previous projection's segment back in.
struct projection_hint {
  std::size_t segment = 0;  // first segment to look at
  std::size_t window = 8;   // segments scanned at first; the scan goes on while the best is at its end
};

// A route. Lengths and projections are planar in a local frame (a
// cheap_ruler at the route's mid latitude), which for city-scale routes
// (< 50 km) agrees with geodesic lengths to better than 0.1%.
class polyline {
 public:
  // errc::invalid_polyline ("route") for fewer than 2 points or a bad point.
  static result<polyline> make(std::vector<geo_point> points);

  // The nearest point of the whole route: distance to it, progress along the
  // route and remaining to the end. On a tie the earliest segment wins.
  // Requires: p valid. O(points), no allocation.
  polyline_projection project(geo_point p) const noexcept;

  // The nearest point among the segments from hint.segment on: it scans
  // hint.window segments and keeps going while the best is the last one
  // scanned, so a rider moving forward costs O(1) amortised. It never looks
  // back before hint.segment (pass a segment or two earlier to allow for GPS
  // jitter), and on a route that passes near itself it follows the local
  // branch rather than jumping. Requires: p valid.
  polyline_projection project(geo_point p, projection_hint hint) const noexcept;

  // Starts loading what a hinted projection from `segment` reads first (a
  // hint for the CPU, no effect on results), for a caller that knows the
  // next fix before it projects it. Out-of-range segments are clamped.
  void prefetch(std::size_t segment) const noexcept {
    if (inv_len2_.empty()) return;
    const std::size_t i = std::min(segment, inv_len2_.size() - 1);
    __builtin_prefetch(&local_[i]);
    __builtin_prefetch(&inv_len2_[i]);
    __builtin_prefetch(&cumulative_m_[i]);
  }

  // Total length, metres.
  double length_m() const noexcept { return cumulative_m_.back(); }
  // The route's points, as given.
  const std::vector<geo_point>& points() const noexcept { return points_; }
  // Length from the start to points()[i], metres.
  double along_at(std::size_t i) const noexcept { return cumulative_m_[i]; }
  // The ruler of the route's local frame.
  const cheap_ruler& ruler() const noexcept { return ruler_; }

 private:
  struct xy {
    double x, y;
  };
  polyline(std::vector<geo_point> points, cheap_ruler ruler);
  xy to_local(geo_point p) const noexcept;
  geo_point to_geo(xy q) const noexcept;
  // Best projection over segments [first, last); updates best / best_d2.
  void scan(xy q, std::size_t first, std::size_t last, std::size_t& best,
            double& best_d2, double& best_t) const noexcept;
  polyline_projection finish(std::size_t seg, double d2, double t) const noexcept;

  std::vector<geo_point> points_;
  std::vector<xy> local_;            // points in metres east / north of points_[0]
  // inv_len2_[i]: 1 / squared length of points_[i] .. points_[i + 1] (0 for a
  // zero-length segment); the rest of a segment is read from local_, so a
  // route costs 48 bytes per vertex (a planned route is held per active order).
  std::vector<double> inv_len2_;
  std::vector<double> cumulative_m_; // cumulative_m_[i]: length up to points_[i]
  cheap_ruler ruler_;
  geo_point origin_;
};

}  // namespace xiaoxiang
