// eta_route: a planned route with the expected travel time to each of its
// vertices, computed once at assignment from the learned speeds of the cells
// it crosses (at the time of day the rider is expected there), so that each
// fix afterwards costs O(1): the time still to ride is total - time_at(proj).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/geo/polyline.hpp"

namespace xiaoxiang {

class eta_model;

class eta_route {
 public:
  // Longest piece of a segment that gets one speed (one cell lookup), metres.
  static constexpr double kPieceM = 100;

  // The route through `points` (the rider_assigned event's route), timed for
  // a rider leaving at `depart_at`. errc::invalid_polyline ("route") for fewer
  // than 2 points or a bad point. Allocates the route's two arrays.
  static result<eta_route> make(const eta_model& model, std::vector<geo_point> points,
                                timestamp_ms depart_at);

  // The route, for the tracker's projection of each fix (polyline::project).
  const polyline& line() const noexcept { return line_; }
  // Expected seconds from the start to the projected point. O(1).
  double time_at(const polyline_projection& p) const noexcept;
  // Expected seconds from the start to `along_m` metres along. O(log n).
  double time_at_along(double along_m) const noexcept;
  // polyline::prefetch, and the timing of the same vertices.
  void prefetch(std::size_t segment) const noexcept {
    line_.prefetch(segment);
    if (!time_s_.empty()) __builtin_prefetch(&time_s_[std::min(segment, time_s_.size() - 1)]);
  }
  // Expected seconds for the whole route.
  double total_s() const noexcept { return time_s_.back(); }
  // Length, metres.
  double length_m() const noexcept { return line_.length_m(); }
  // Expected seconds from the start to each vertex (time_s()[0] == 0).
  std::span<const double> time_s() const noexcept { return time_s_; }

 private:
  eta_route(polyline line, std::vector<double> time_s)
      : line_(std::move(line)), time_s_(std::move(time_s)) {}
  double time_in_segment(std::size_t seg, double along_m) const noexcept;

  polyline line_;
  std::vector<double> time_s_;
};

}  // namespace xiaoxiang
