// Internals of the MovingPandas-compatible stop detector: the convex hull and
// the minimum-area rotated rectangle as shapely 1.8 / GEOS 3.11 build them in
// lon/lat degree space, and its diagonal measured on the ellipsoid.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "xiaoxiang/core/geo_point.hpp"

namespace xiaoxiang::detail {

// Sign of the turn a -> b -> c: +1 counter-clockwise, -1 clockwise, 0
// collinear; exact (a floating-point filter, then 113-bit arithmetic).
int orientation(const geo_point& a, const geo_point& b, const geo_point& c) noexcept;

// The convex hull of `points` as GEOS returns it: strict vertices only
// (collinear ones dropped), clockwise, starting at the lowest point (then
// the leftmost), not closed. One vertex when all points coincide, two when
// they are collinear. `scratch` is reused between calls (no allocation once
// it has grown). Requires: points not empty.
void convex_hull(std::span<const geo_point> points, std::vector<geo_point>& scratch,
                 std::vector<geo_point>& hull);

// Whether p lies inside or on the boundary of a clockwise hull of >= 3
// vertices (so adding it leaves the hull unchanged).
bool hull_contains(std::span<const geo_point> hull, const geo_point& p) noexcept;

// MovingPandas' mrr_diagonal for a hull from convex_hull(): 0 for one
// vertex, the geodesic distance between the two for two, else the geodesic
// distance between corners 0 and 2 of shapely's minimum_rotated_rectangle
// (the first edge of minimal area, same floating-point operations).
double hull_rect_diagonal_m(std::span<const geo_point> hull) noexcept;

}  // namespace xiaoxiang::detail
