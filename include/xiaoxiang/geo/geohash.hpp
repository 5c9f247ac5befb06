// GeoHash: base-32 strings of 1..12 characters and a 64-bit integer form of
// up to 60 interleaved bits, with GeographicLib's conventions (a point lying
// exactly on a cell border belongs to the upper / eastern cell).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/result.hpp"

namespace xiaoxiang {

// Longest GeoHash string, in characters (5 bits each).
inline constexpr int geohash_max_precision = 12;
// Most bits of the integer form: 30 per axis.
inline constexpr int geohash_max_bits = 60;
// Largest radius cover() accepts, in metres.
inline constexpr double geohash_max_cover_radius_m = 1'000'000.0;
// Most cells cover() will enumerate (before filtering) for one call; beyond
// it the radius is rejected as too large for the bit count.
inline constexpr std::size_t geohash_max_cover_cells = std::size_t{1} << 22;

// A GeoHash string of 1..12 lowercase base-32 characters, stored inline (no
// heap), so it can be produced on hot paths and kept in containers cheaply.
class geohash {
 public:
  geohash() noexcept = default;
  // The characters, lowercase ("wx4g0bm6c408").
  std::string_view view() const noexcept {
    return {bytes_.data(), static_cast<std::size_t>(bytes_[kSizeByte])};
  }
  // Number of characters, 0 (default-constructed) .. 12.
  int precision() const noexcept { return bytes_[kSizeByte]; }
  // A heap copy, for APIs that want std::string.
  std::string str() const { return std::string(view()); }
  const char* data() const noexcept { return bytes_.data(); }

  friend bool operator==(const geohash& a, const geohash& b) noexcept {
    return a.view() == b.view();
  }
  friend auto operator<=>(const geohash& a, const geohash& b) noexcept {
    return a.view() <=> b.view();
  }

 private:
  friend struct geohash_access;  // the encoders in src/geo/geohash.cpp
  static constexpr std::size_t kSizeByte = 15;
  // Characters in bytes 0..11 (unused ones zero), the count in byte 15: two
  // aligned words, which the encoder writes whole (no byte stores followed
  // by a word load of the copy, which stalls store forwarding).
  alignas(8) std::array<char, 16> bytes_{};
};

// A GeoHash in integer form: `bit_count` bits right-aligned in `bits`,
// interleaved starting with longitude exactly as in the string form, so that
// a string of n characters is the integer of 5n bits. Cells of the same
// bit_count sort in Z-order.
struct geohash_int {
  std::uint64_t bits = 0;  // the interleaved bits, right-aligned
  int bit_count = 0;       // 1..60 for a valid hash

  friend bool operator==(const geohash_int&, const geohash_int&) = default;
  friend auto operator<=>(const geohash_int&, const geohash_int&) = default;
};

// A longitude/latitude box in degrees (min inclusive, max exclusive except
// at lon 180 / lat 90).
struct geo_box {
  double min_lon, min_lat, max_lon, max_lat;
};

// A decoded cell: its centre and half its width / height, in degrees.
struct geohash_cell {
  geo_point center;
  double lon_err;  // half the cell's width, degrees of longitude
  double lat_err;  // half the cell's height, degrees of latitude
};

// The GeoHash of `precision` (1..12) characters of a point.
// errc::invalid_longitude ("lon"), invalid_latitude ("lat"), invalid_precision ("precision").
result<geohash> point_to_geohash(geo_point p, int precision) noexcept;

// The GeoHashes of many points at once, (lon[i], lat[i]) into out[i]: the
// bulk form for columns of coordinates (NumPy, data frames), without a call
// per point. A point that point_to_geohash would refuse gets an empty hash
// (precision() 0). Returns how many were refused.
// errc::invalid_precision ("precision"); errc::size_mismatch ("out") when
// lon, lat and out differ in size.
result<std::size_t> points_to_geohashes(std::span<const double> lon, std::span<const double> lat,
                                        int precision, std::span<geohash> out) noexcept;

// The integer GeoHash of `bit_count` (1..60) bits of a point.
// errc::invalid_longitude ("lon"), invalid_latitude ("lat"), invalid_geohash_bits ("bitCount").
result<geohash_int> point_to_geohash_int(geo_point p, int bit_count) noexcept;

// Parses a GeoHash string (either case) into its integer form of 5n bits.
// errc::empty_geohash, geohash_too_long, invalid_geohash_character ("geohash").
result<geohash_int> geohash_to_int(std::string_view text) noexcept;

// The string form of an integer GeoHash.
// Requires: 1 <= h.bit_count <= 60, h.bit_count % 5 == 0, no bits above bit_count.
geohash int_to_geohash(geohash_int h) noexcept;

// Checks an integer GeoHash read from outside: bit_count in 1..60 and no bits
// above it. errc::invalid_geohash_bits ("bitCount") otherwise.
status_result check_geohash_int(geohash_int h) noexcept;

// Decodes a GeoHash string to its cell centre and half-sizes (as
// GeographicLib::Geohash::Reverse with centerp=true). Errors as geohash_to_int.
result<geohash_cell> decode_geohash(std::string_view text) noexcept;

// Decodes an integer GeoHash. Requires: check_geohash_int(h).ok().
geohash_cell decode(geohash_int h) noexcept;

// The cell's box in degrees. Requires: check_geohash_int(h).ok().
geo_box geohash_box(geohash_int h) noexcept;

// Order of neighbours(): N, NE, E, SE, S, SW, W, NW.
enum class direction : int { n = 0, ne, e, se, s, sw, w, nw };

// The 8 neighbouring cells of the same bit count, in `direction` order.
// Longitude wraps across the antimeridian. Latitude is clamped at the poles:
// for a cell in the northernmost row, N is the cell itself and NE / NW equal
// E / W (and symmetrically S, SE, SW in the southernmost row), so the array is
// always full of valid cells but may repeat some. Requires: check_geohash_int(h).ok().
std::array<geohash_int, 8> neighbours(geohash_int h) noexcept;

// The cells of `bit_count` bits that together contain every point within
// `radius_m` metres (great-circle distance on the sphere of earth_radius_m, as
// haversine_m) of `center`, and none lying wholly outside that circle.
// Appends them to `out` (no allocation when out has the capacity) and returns
// how many were appended. errc::invalid_radius ("radius") for NaN, negative,
// above geohash_max_cover_radius_m (1000 km) or needing more than
// geohash_max_cover_cells candidate cells at this bit count;
// invalid_longitude ("lon"), invalid_latitude ("lat"); invalid_geohash_bits ("bitCount").
result<std::size_t> cover(geo_point center, double radius_m, int bit_count,
                          std::vector<geohash_int>& out);

}  // namespace xiaoxiang
