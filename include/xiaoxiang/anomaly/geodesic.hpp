// geodesic: the WGS-84 ellipsoidal distance between two points, accurate to
// well under a millimetre — what geopy's `geodesic` (Karney) gives, so that
// stop detection at the 30 m scale decides borderline windows as MovingPandas
// does (haversine is off by up to 0.5%, which flips such windows).
#pragma once

#include "xiaoxiang/core/geo_point.hpp"

namespace xiaoxiang {

// Geodesic distance in metres on the WGS-84 ellipsoid (Vincenty's inverse
// iteration; near-antipodal pairs where it does not converge fall back to a
// spherical estimate, off by < 0.5%). Requires: valid points.
double geodesic_distance_m(geo_point a, geo_point b) noexcept;

// Whether geodesic_distance_m(a, b) < limit_m, deciding clear cases with a
// local approximation and computing the exact distance only near the limit.
// Same answer as the comparison itself (the approximation's error, < 0.05%,
// is far inside the 2% band it defers on). Requires: valid points.
bool geodesic_distance_below(geo_point a, geo_point b, double limit_m) noexcept;

}  // namespace xiaoxiang
