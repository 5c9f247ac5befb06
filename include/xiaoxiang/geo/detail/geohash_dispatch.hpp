// The GeoHash encoder has two implementations chosen once at load time: a
// BMI2/SSE4.1 one on x86-64 CPUs where PDEP is fast, and the portable table
// one everywhere else. Tests use these to check both give the same strings.
#pragma once

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/geo/geohash.hpp"

namespace xiaoxiang::detail {

// Whether point_to_geohash takes the BMI2 path on this CPU.
bool geohash_uses_bmi2() noexcept;
// point_to_geohash through the portable table path, whatever the CPU.
result<geohash> point_to_geohash_portable(geo_point p, int precision) noexcept;

}  // namespace xiaoxiang::detail
