#include "xiaoxiang/geo/geohash.hpp"
#include "xiaoxiang/geo/detail/bit_interleave.hpp"
#include "xiaoxiang/geo/detail/geohash_dispatch.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <cassert>
#include <cmath>
#include <numbers>
#include <utility>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define XIAOXIANG_GEOHASH_BMI2 1
#endif

#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {

constexpr char kAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";

// Character -> 5-bit value, -1 outside the alphabet; upper case accepted as
// GeographicLib does.
constexpr std::array<std::int8_t, 256> make_decode_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 32; ++i) {
    const char c = kAlphabet[i];
    table[static_cast<unsigned char>(c)] = static_cast<std::int8_t>(i);
    if (c >= 'a' && c <= 'z')
      table[static_cast<unsigned char>(c - 'a' + 'A')] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr auto kDecode = make_decode_table();

// GeographicLib quantises each axis to 45 bits with exactly these doubles:
// ulon = floor(lon / kLonEps) + 2^45. Reproducing its arithmetic (a
// correctly rounded division, then floor) is what makes every point, border
// cases included, land in the same cell.
constexpr double kShift = 35184372088832.0;  // 2^45
constexpr double kLonEps = 180.0 / kShift;   // exact: 45 * 2^-43
constexpr double kLatEps = 90.0 / kShift;
// Reciprocals for the fast path: a multiplication is within two ulps of the
// division, far less than one unit of the 45-bit grid.
constexpr double kLonScale = kShift / 180.0;
constexpr double kLatScale = kShift / 90.0;

// The top 30 of the 46 quantised bits of v (lon or lat), as GeographicLib.
// Multiplying instead of dividing can only change the result when the value
// lies within one grid unit of a 30-bit cell border, i.e. when its low 16
// bits come out as 0 or 0xFFFF; then (2 in 65536 points) redo it exactly.
// GeographicLib's edge rules (lon 180 is lon -180; lat 90 moves half a
// quantum down) live in that slow path too: both edges are cell borders, so
// the common path pays no test for them.
template <bool kLongitude>
inline std::uint64_t top30(double v) noexcept {
  constexpr double scale = kLongitude ? kLonScale : kLatScale;
  constexpr double eps = kLongitude ? kLonEps : kLatEps;
  // Non-negative (>= 2^45 - 2^45), so truncation is floor; the addition's
  // rounding is again far below one grid unit.
  const auto fast = static_cast<std::uint64_t>(static_cast<std::int64_t>(v * scale + kShift));
  if (((fast + 1) & 0xFFFFu) > 1u) return fast >> 16;
  if (kLongitude && v == 180.0) v = -180.0;
  if (!kLongitude && v == 90.0) v -= eps / 2;
  const double x = v / eps;  // GeographicLib's division, bit for bit
  auto t = static_cast<std::int64_t>(x);
  if (static_cast<double>(t) > x) --t;  // floor without a libm call
  return static_cast<std::uint64_t>(t + (std::int64_t{1} << 45)) >> 16;
}

// Magic-number bit interleaving (shared with the rider index).
using detail::compact_bits;
using detail::spread_bits;

// spread_bits() of every 10-bit value: three lookups spread 30 bits in fewer
// instructions than the five magic-number rounds.
constexpr std::array<std::uint32_t, 1024> make_spread_table() {
  std::array<std::uint32_t, 1024> table{};
  for (std::uint32_t v = 0; v < 1024; ++v) {
    std::uint32_t r = 0;
    for (int b = 0; b < 10; ++b) r |= ((v >> b) & 1u) << (2 * b);
    table[v] = r;
  }
  return table;
}
constexpr auto kSpread10 = make_spread_table();

inline std::uint64_t spread30(std::uint64_t x) noexcept {
  return std::uint64_t{kSpread10[x & 1023u]} | (std::uint64_t{kSpread10[(x >> 10) & 1023u]} << 20) |
         (std::uint64_t{kSpread10[(x >> 20) & 1023u]} << 40);
}

// The full 60-bit hash of a valid point (lon bit first in each pair).

// Cell sizes in degrees for 0..30 bits of an axis: exact powers of two
// times 360 and 180 (ldexp is a libm call).
struct cell_sizes {
  std::array<double, 31> lon{}, lat{};
  constexpr cell_sizes() {
    double w = 360.0, h = 180.0;
    for (int i = 0; i <= 30; ++i, w *= 0.5, h *= 0.5) {
      lon[static_cast<std::size_t>(i)] = w;
      lat[static_cast<std::size_t>(i)] = h;
    }
  }
};
constexpr cell_sizes kSizes;

struct axes {
  std::uint64_t ilon, ilat;
  int lon_bits, lat_bits;
};

inline axes split(geohash_int h) noexcept {
  const int n = h.bit_count;
  const std::uint64_t b60 = h.bits << (geohash_max_bits - n);
  const int lon_bits = (n + 1) / 2;
  const int lat_bits = n / 2;
  return {compact_bits(b60 >> 1) >> (30 - lon_bits), compact_bits(b60) >> (30 - lat_bits), lon_bits,
          lat_bits};
}

inline geohash_int join(const axes& a) noexcept {
  const int n = a.lon_bits + a.lat_bits;
  const std::uint64_t b60 =
      (spread_bits(a.ilon << (30 - a.lon_bits)) << 1) | spread_bits(a.ilat << (30 - a.lat_bits));
  return {b60 >> (geohash_max_bits - n), n};
}

// Base-32 text (1..12 chars) to bits; false on a character outside the
// alphabet. One test at the end instead of a branch per character.
template <std::size_t... I>
inline bool parse_fixed(const char* text, std::uint64_t& bits, std::index_sequence<I...>) noexcept {
  constexpr std::size_t n = sizeof...(I);
  int bad = 0;
  std::uint64_t acc = 0;
  ((bad |= kDecode[static_cast<unsigned char>(text[I])],
    acc |= static_cast<std::uint64_t>(kDecode[static_cast<unsigned char>(text[I])] & 31) << (5 * (n - 1 - I))),
   ...);
  bits = acc;
  return bad >= 0;
}

inline bool parse(std::string_view text, std::uint64_t& bits) noexcept {
  // Full-length hashes, the common case, take an unrolled path.
  if (text.size() == static_cast<std::size_t>(geohash_max_precision))
    return parse_fixed(text.data(), bits, std::make_index_sequence<geohash_max_precision>());
  std::uint64_t acc = 0;
  int bad = 0;
  for (const char c : text) {
    const int v = kDecode[static_cast<unsigned char>(c)];
    bad |= v;
    acc = (acc << 5) | static_cast<std::uint64_t>(v & 31);
  }
  bits = acc;
  return bad >= 0;
}

inline geo_box box_of(const axes& a) noexcept {
  // Powers of two times 360 / 180: every operation below is exact.
  const double w = kSizes.lon[static_cast<std::size_t>(a.lon_bits)];
  const double hgt = kSizes.lat[static_cast<std::size_t>(a.lat_bits)];
  const double min_lon = -180.0 + static_cast<double>(a.ilon) * w;
  const double min_lat = -90.0 + static_cast<double>(a.ilat) * hgt;
  return {min_lon, min_lat, min_lon + w, min_lat + hgt};
}

inline geo_box box_of(geohash_int h) noexcept { return box_of(split(h)); }

inline geohash_cell cell_of(const geo_box& b) noexcept {
  const double lon_err = (b.max_lon - b.min_lon) * 0.5;
  const double lat_err = (b.max_lat - b.min_lat) * 0.5;
  return {{b.min_lon + lon_err, b.min_lat + lat_err}, lon_err, lat_err};
}

constexpr double kRad = std::numbers::pi / 180.0;

// Central angle (radians) between two points given in radians.
inline double central_angle(double lat1, double lon1, double lat2, double lon2) noexcept {
  const double s = std::sin((lat2 - lat1) * 0.5);
  const double t = std::sin((lon2 - lon1) * 0.5);
  const double a = s * s + std::cos(lat1) * std::cos(lat2) * t * t;
  return 2.0 * std::asin(std::sqrt(std::min(1.0, a)));
}

// Smallest central angle (radians) from point (lat, lon) to a lon/lat box,
// all in radians; 0 inside. Exact on the sphere: for any fixed latitude the
// distance grows with the longitude difference, so the nearest point is
// either straight north / south on the point's own meridian (when that
// crosses the box) or on the box's meridian edge nearer in longitude, a
// great-circle arc whose nearest point is the clamped foot of the
// perpendicular (or an end, when the edge lies more than 90 degrees away).
double angle_to_box(double lat, double lon, double min_lon, double min_lat, double max_lon,
                    double max_lat) noexcept {
  constexpr double kTwoPi = 2.0 * std::numbers::pi;
  double offset = std::fmod(lon - min_lon, kTwoPi);
  if (offset < 0) offset += kTwoPi;
  if (offset <= max_lon - min_lon) {
    if (lat < min_lat) return min_lat - lat;
    if (lat > max_lat) return lat - max_lat;
    return 0.0;
  }
  const double to_min = std::remainder(lon - min_lon, kTwoPi);
  const double to_max = std::remainder(lon - max_lon, kTwoPi);
  const bool west = std::abs(to_min) <= std::abs(to_max);
  const double edge = west ? min_lon : max_lon;
  const double c = std::cos(west ? to_min : to_max);
  if (c > 0) {
    const double foot = std::clamp(std::atan2(std::sin(lat), std::cos(lat) * c), min_lat, max_lat);
    return central_angle(lat, lon, foot, edge);
  }
  return std::min(central_angle(lat, lon, min_lat, edge), central_angle(lat, lon, max_lat, edge));
}

}  // namespace

// Two characters per lookup, indexed by the pair's 5 longitude bits and 5
// latitude bits (lon5 << 5 | lat5) -> first char | second << 8. A pair of
// characters holds exactly 5 bits of each axis, so the string is built
// straight from the two quantised axes, without interleaving them first.
constexpr std::array<std::uint16_t, 1024> make_pair_table() {
  std::array<std::uint16_t, 1024> table{};
  for (std::uint32_t lon5 = 0; lon5 < 32; ++lon5) {
    for (std::uint32_t lat5 = 0; lat5 < 32; ++lat5) {
      std::uint32_t v = 0;  // the 10 interleaved bits, lon first
      for (int b = 4; b >= 0; --b) v = (v << 2) | (((lon5 >> b) & 1u) << 1) | ((lat5 >> b) & 1u);
      table[lon5 << 5 | lat5] = static_cast<std::uint16_t>(
          static_cast<unsigned char>(kAlphabet[v >> 5]) |
          (static_cast<unsigned char>(kAlphabet[v & 31]) << 8));
    }
  }
  return table;
}
constexpr auto kPairs = make_pair_table();

// Character pairs first .. first + sizeof...(I) - 1 of the hash of the
// quantised axes (30 bits each), packed little-endian into one word; a
// fold, because -O2 does not unroll loops.
template <std::size_t... I>
inline std::uint64_t pack(std::uint64_t ilon, std::uint64_t ilat, int first,
                          std::index_sequence<I...>) noexcept {
  const std::uint64_t lon_up = ilon << 5;  // lon5 lands in bits 5..9 of the index
  return ((std::uint64_t{kPairs[((lon_up >> (25 - 5 * (first + static_cast<int>(I)))) & (31u << 5)) |
                                ((ilat >> (25 - 5 * (first + static_cast<int>(I)))) & 31u)]}
           << (16 * I)) |
          ...);
}

// The quantised axes of a valid point (30 bits each).
inline std::pair<std::uint64_t, std::uint64_t> quantise(geo_point p) noexcept {
  return {top30<true>(p.lon), top30<false>(p.lat)};
}

// Decoding full-length hashes: per character, its longitude and latitude
// bits, already shifted to their place within the character pair (an even
// character holds lon,lat,lon,lat,lon; an odd one lat,lon,lat,lon,lat),
// longitude in bits 0..4 and latitude in bits 32..36; bit 63 marks a
// character outside the alphabet. OR-ing an even and an odd entry gives one
// pair's 5 bits of each axis, so both axes accumulate in one word.
struct pair_decode_tables {
  std::array<std::uint64_t, 256> even{}, odd{};
  constexpr pair_decode_tables() {
    for (int c = 0; c < 256; ++c) {
      const int v = kDecode[static_cast<std::size_t>(c)];
      if (v < 0) {
        even[static_cast<std::size_t>(c)] = odd[static_cast<std::size_t>(c)] = std::uint64_t{1} << 63;
        continue;
      }
      const auto b = [v](int i) { return static_cast<std::uint64_t>((v >> (4 - i)) & 1); };
      // Even: bits lon,lat,lon,lat,lon = lon bits 4,3,2 of the pair and lat 4,3.
      even[static_cast<std::size_t>(c)] = (b(0) << 4 | b(2) << 3 | b(4) << 2) |
                                          ((b(1) << 4 | b(3) << 3) << 32);
      // Odd: bits lat,lon,lat,lon,lat = lat bits 2,1,0 of the pair and lon 1,0.
      odd[static_cast<std::size_t>(c)] = (b(1) << 1 | b(3)) | ((b(0) << 2 | b(2) << 1 | b(4)) << 32);
    }
  }
};
constexpr pair_decode_tables kPairDecode;

// The axes of a full-length hash; false on a character outside the alphabet
// (one test at the end, not a branch per character).
template <std::size_t... I>
inline bool decode_pairs(const char* text, std::uint64_t& ilon, std::uint64_t& ilat,
                         std::index_sequence<I...>) noexcept {
  std::uint64_t acc = 0, seen = 0;
  ((seen |= kPairDecode.even[static_cast<unsigned char>(text[2 * I])] |
            kPairDecode.odd[static_cast<unsigned char>(text[2 * I + 1])],
    acc = (acc << 5) | kPairDecode.even[static_cast<unsigned char>(text[2 * I])] |
          kPairDecode.odd[static_cast<unsigned char>(text[2 * I + 1])]),
   ...);
  ilon = acc & 0x3FFFFFFFu;
  ilat = (acc >> 32) & 0x3FFFFFFFu;
  return (seen >> 63) == 0;
}

inline std::uint64_t encode60(geo_point p) noexcept {
  const auto [ilon, ilat] = quantise(p);
  return (spread30(ilon) << 1) | spread30(ilat);
}

// The one place that builds geohash values (the friend of geohash).
struct geohash_access {
  static geohash from_axes(std::uint64_t ilon, std::uint64_t ilat, int precision) noexcept {
    geohash h;
    if constexpr (std::endian::native == std::endian::little) {
      std::uint64_t lo = pack(ilon, ilat, 0, std::make_index_sequence<4>());
      std::uint64_t hi = pack(ilon, ilat, 4, std::make_index_sequence<2>());
      if (precision < 8) {
        lo &= (std::uint64_t{1} << (8 * precision)) - 1;
        hi = 0;
      } else {
        hi &= (std::uint64_t{1} << (8 * (precision - 8))) - 1;
      }
      hi |= static_cast<std::uint64_t>(precision) << 56;  // byte 15
      std::memcpy(h.bytes_.data(), &lo, 8);
      std::memcpy(h.bytes_.data() + 8, &hi, 8);
    } else {
      const std::uint64_t b60 = (spread30(ilon) << 1) | spread30(ilat);
      for (int i = 0; i < precision; ++i)
        h.bytes_[static_cast<std::size_t>(i)] = kAlphabet[(b60 >> (55 - 5 * i)) & 31u];
      h.bytes_[geohash::kSizeByte] = static_cast<char>(precision);
    }
    return h;
  }

#ifdef XIAOXIANG_GEOHASH_BMI2
  // The same hash with BMI2 and SSE4.1: two PDEPs interleave the axes, two
  // more spread the twelve 5-bit values into bytes, and byte arithmetic maps
  // them to the alphabet. About a third fewer instructions than the table
  // path; chosen at run time (kUseBmi2) so the library still runs anywhere.
  __attribute__((target("bmi2,sse4.1"))) static geohash from_axes_bmi2(
      std::uint64_t ilon, std::uint64_t ilat, int precision) noexcept {
    const std::uint64_t b60 =
        _pdep_u64(ilon, 0x0AAAAAAAAAAAAAAAull) | _pdep_u64(ilat, 0x0555555555555555ull);
    // Character i is bits 55-5i..59-5i; characters 0..7 are the top 40 bits.
    const std::uint64_t first8 = __builtin_bswap64(_pdep_u64(b60 >> 20, 0x1F1F1F1F1F1F1F1Full));
    const std::uint32_t last4 =
        __builtin_bswap32(static_cast<std::uint32_t>(_pdep_u64(b60 & 0xFFFFFu, 0x1F1F1F1Full)));
    const __m128i v = _mm_set_epi64x(static_cast<long long>(last4), static_cast<long long>(first8));
    // "0123456789bcdefghjkmnpqrstuvwxyz": '0' + v, then +40 from 'b' (10)
    // and +1 past each skipped letter (i after 16, l after 18, o after 20).
    __m128i c = _mm_add_epi8(v, _mm_set1_epi8('0'));
    c = _mm_add_epi8(c, _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(9)), _mm_set1_epi8(40)));
    c = _mm_sub_epi8(c, _mm_cmpgt_epi8(v, _mm_set1_epi8(16)));
    c = _mm_sub_epi8(c, _mm_cmpgt_epi8(v, _mm_set1_epi8(18)));
    c = _mm_sub_epi8(c, _mm_cmpgt_epi8(v, _mm_set1_epi8(20)));
    const __m128i index = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    c = _mm_and_si128(c, _mm_cmpgt_epi8(_mm_set1_epi8(static_cast<char>(precision)), index));
    // Byte 15 (the length) is zero after the mask: OR the precision in.
    c = _mm_or_si128(c, _mm_slli_si128(_mm_cvtsi32_si128(precision), 15));
    geohash h;
    _mm_store_si128(reinterpret_cast<__m128i*>(h.bytes_.data()), c);
    return h;
  }
#endif
};

namespace {
#ifdef XIAOXIANG_GEOHASH_BMI2
// PDEP is microcoded (tens to hundreds of cycles) on AMD family 17h (Zen 1
// and 2): the table path is faster there.
bool bmi2_is_fast() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("sse4.1") &&
         !__builtin_cpu_is("amdfam17h");
}
const bool kUseBmi2 = bmi2_is_fast();
#endif
}  // namespace

namespace detail {
bool geohash_uses_bmi2() noexcept {
#ifdef XIAOXIANG_GEOHASH_BMI2
  return kUseBmi2;
#else
  return false;
#endif
}

result<geohash> point_to_geohash_portable(geo_point p, int precision) noexcept {
  if (const errc e = check_point(p); e != errc::ok) return {e, point_field(e)};
  if (precision < 1 || precision > geohash_max_precision) return {errc::invalid_precision, "precision"};
  const auto [ilon, ilat] = quantise(p);
  return geohash_access::from_axes(ilon, ilat, precision);
}
}  // namespace detail

result<geohash> point_to_geohash(geo_point p, int precision) noexcept {
  if (const errc e = check_point(p); e != errc::ok) return {e, point_field(e)};
  if (precision < 1 || precision > geohash_max_precision) return {errc::invalid_precision, "precision"};
  const auto [ilon, ilat] = quantise(p);
#ifdef XIAOXIANG_GEOHASH_BMI2
  if (kUseBmi2) return geohash_access::from_axes_bmi2(ilon, ilat, precision);
#endif
  return geohash_access::from_axes(ilon, ilat, precision);
}

namespace {
// The loop of points_to_geohashes over one encoder: `encode(ilon, ilat)`
// builds a hash from the quantised axes.
template <class Encode>
inline std::size_t encode_points(const double* lon, const double* lat, geohash* out, std::size_t n,
                                 Encode encode) noexcept {
  std::size_t refused = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const geo_point p{lon[i], lat[i]};
    if (check_point(p) != errc::ok) {
      out[i] = geohash{};
      ++refused;
      continue;
    }
    const auto [ilon, ilat] = quantise(p);
    out[i] = encode(ilon, ilat);
  }
  return refused;
}

#ifdef XIAOXIANG_GEOHASH_BMI2
// The BMI2 loop, written out: GCC inlines a function of one target only
// into callers of the same target, so a shared template would leave a call
// per point here (it costs about as much as the encoding).
__attribute__((target("bmi2,sse4.1"))) std::size_t encode_points_bmi2(
    const double* lon, const double* lat, int precision, geohash* out, std::size_t n) noexcept {
  std::size_t refused = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const geo_point p{lon[i], lat[i]};
    const bool valid = check_point(p) == errc::ok;
    refused += valid ? 0 : 1;
    const auto [ilon, ilat] = valid ? quantise(p) : std::pair<std::uint64_t, std::uint64_t>{0, 0};
    out[i] = valid ? geohash_access::from_axes_bmi2(ilon, ilat, precision) : geohash{};
  }
  return refused;
}
#endif
}  // namespace

result<std::size_t> points_to_geohashes(std::span<const double> lon, std::span<const double> lat,
                                        int precision, std::span<geohash> out) noexcept {
  if (precision < 1 || precision > geohash_max_precision) return {errc::invalid_precision, "precision"};
  if (lon.size() != out.size() || lat.size() != out.size()) return {errc::size_mismatch, "out"};
#ifdef XIAOXIANG_GEOHASH_BMI2
  if (kUseBmi2) return encode_points_bmi2(lon.data(), lat.data(), precision, out.data(), out.size());
#endif
  return encode_points(lon.data(), lat.data(), out.data(), out.size(),
                       [precision](std::uint64_t ilon, std::uint64_t ilat) {
                         return geohash_access::from_axes(ilon, ilat, precision);
                       });
}

result<geohash_int> point_to_geohash_int(geo_point p, int bit_count) noexcept {
  if (const errc e = check_point(p); e != errc::ok) return {e, point_field(e)};
  if (bit_count < 1 || bit_count > geohash_max_bits) return {errc::invalid_geohash_bits, "bitCount"};
  return geohash_int{encode60(p) >> (geohash_max_bits - bit_count), bit_count};
}

result<geohash_int> geohash_to_int(std::string_view text) noexcept {
  if (text.empty()) return {errc::empty_geohash, "geohash"};
  if (text.size() > static_cast<std::size_t>(geohash_max_precision))
    return {errc::geohash_too_long, "geohash"};
  std::uint64_t bits = 0;
  if (!parse(text, bits)) return {errc::invalid_geohash_character, "geohash"};
  return geohash_int{bits, 5 * static_cast<int>(text.size())};
}

geohash int_to_geohash(geohash_int h) noexcept {
  assert(check_geohash_int(h).ok() && h.bit_count % 5 == 0);
  const std::uint64_t b60 = h.bits << (geohash_max_bits - h.bit_count);
  return geohash_access::from_axes(compact_bits(b60 >> 1), compact_bits(b60), h.bit_count / 5);
}

status_result check_geohash_int(geohash_int h) noexcept {
  if (h.bit_count < 1 || h.bit_count > geohash_max_bits || (h.bits >> h.bit_count) != 0)
    return {errc::invalid_geohash_bits, "bitCount"};
  return {};
}

result<geohash_cell> decode_geohash(std::string_view text) noexcept {
  if (text.size() == static_cast<std::size_t>(geohash_max_precision)) {
    std::uint64_t ilon = 0, ilat = 0;
    if (!decode_pairs(text.data(), ilon, ilat, std::make_index_sequence<geohash_max_precision / 2>()))
      return {errc::invalid_geohash_character, "geohash"};
    return cell_of(box_of(axes{ilon, ilat, 30, 30}));
  }
  if (text.empty()) return {errc::empty_geohash, "geohash"};
  if (text.size() > static_cast<std::size_t>(geohash_max_precision))
    return {errc::geohash_too_long, "geohash"};
  std::uint64_t bits = 0;
  if (!parse(text, bits)) return {errc::invalid_geohash_character, "geohash"};
  return cell_of(box_of(geohash_int{bits, 5 * static_cast<int>(text.size())}));
}

geohash_cell decode(geohash_int h) noexcept {
  assert(check_geohash_int(h).ok());
  return cell_of(box_of(h));
}

geo_box geohash_box(geohash_int h) noexcept {
  assert(check_geohash_int(h).ok());
  return box_of(h);
}

std::array<geohash_int, 8> neighbours(geohash_int h) noexcept {
  assert(check_geohash_int(h).ok());
  const axes a = split(h);
  const std::uint64_t lon_mask = (std::uint64_t{1} << a.lon_bits) - 1;
  const std::uint64_t lat_max = (std::uint64_t{1} << a.lat_bits) - 1;
  const std::uint64_t east = (a.ilon + 1) & lon_mask;
  const std::uint64_t west = (a.ilon - 1) & lon_mask;
  const std::uint64_t north = std::min(a.ilat + 1, lat_max);
  const std::uint64_t south = a.ilat == 0 ? 0 : a.ilat - 1;
  auto at = [&](std::uint64_t ilon, std::uint64_t ilat) {
    return join({ilon, ilat, a.lon_bits, a.lat_bits});
  };
  return {at(a.ilon, north), at(east, north), at(east, a.ilat), at(east, south),
          at(a.ilon, south), at(west, south), at(west, a.ilat), at(west, north)};
}

result<std::size_t> cover(geo_point center, double radius_m, int bit_count,
                          std::vector<geohash_int>& out) {
  if (const errc e = check_point(center); e != errc::ok) return {e, point_field(e)};
  if (!(radius_m >= 0.0 && radius_m <= geohash_max_cover_radius_m))
    return {errc::invalid_radius, "radius"};
  if (bit_count < 1 || bit_count > geohash_max_bits) return {errc::invalid_geohash_bits, "bitCount"};

  const double angle = radius_m / earth_radius_m;  // radians
  // A hair of slack so that rounding never drops a cell the circle touches;
  // it may keep one whose nearest point is a few micrometres outside.
  const double limit = angle * (1.0 + 1e-12) + 1e-15;
  const double lat = center.lat * kRad;
  const double lon = center.lon * kRad;
  const double angle_deg = angle / kRad;
  const double lat_lo = std::max(-90.0, center.lat - angle_deg - 1e-9);
  const double lat_hi = std::min(90.0, center.lat + angle_deg + 1e-9);

  const int lon_bits = (bit_count + 1) / 2;
  const int lat_bits = bit_count / 2;
  const std::uint64_t nlon = std::uint64_t{1} << lon_bits;
  const std::uint64_t nlat = std::uint64_t{1} << lat_bits;
  const double w = kSizes.lon[static_cast<std::size_t>(lon_bits)];
  const double hgt = kSizes.lat[static_cast<std::size_t>(lat_bits)];

  // Longitude reach of the spherical cap: asin(sin a / cos lat), or the
  // whole circle when the cap holds a pole.
  bool all_lon = lat_hi >= 90.0 || lat_lo <= -90.0;
  double reach_deg = 180.0;
  if (!all_lon) {
    const double s = std::sin(angle) / std::cos(lat);
    if (s >= 1.0) all_lon = true;
    else reach_deg = std::asin(s) / kRad + 1e-9;
    if (reach_deg >= 180.0) all_lon = true;
  }

  auto cell_of = [](double v, double origin, double size, std::uint64_t n) {
    const double i = std::floor((v - origin) / size);
    return static_cast<std::uint64_t>(std::clamp(i, 0.0, static_cast<double>(n - 1)));
  };
  const std::uint64_t ilat0 = cell_of(lat_lo, -90.0, hgt, nlat);
  const std::uint64_t ilat1 = cell_of(lat_hi, -90.0, hgt, nlat);
  std::uint64_t ilon0 = 0;
  std::uint64_t lon_count = nlon;
  if (!all_lon) {
    const double first = std::floor((center.lon - reach_deg + 180.0) / w);
    const double last = std::floor((center.lon + reach_deg + 180.0) / w);
    const double count = last - first + 1;
    if (count < static_cast<double>(nlon)) {
      lon_count = static_cast<std::uint64_t>(count);
      const double wrapped = std::fmod(first, static_cast<double>(nlon));
      ilon0 = static_cast<std::uint64_t>(wrapped < 0 ? wrapped + static_cast<double>(nlon) : wrapped);
    }
  }
  const std::uint64_t rows = ilat1 - ilat0 + 1;
  if (static_cast<double>(rows) * static_cast<double>(lon_count) >
      static_cast<double>(geohash_max_cover_cells))
    return {errc::invalid_radius, "radius"};

  std::size_t appended = 0;
  for (std::uint64_t ilat = ilat0; ilat <= ilat1; ++ilat) {
    const double min_lat = (-90.0 + static_cast<double>(ilat) * hgt) * kRad;
    const double max_lat = min_lat + hgt * kRad;
    for (std::uint64_t k = 0; k < lon_count; ++k) {
      const std::uint64_t ilon = (ilon0 + k) & (nlon - 1);
      const double min_lon = (-180.0 + static_cast<double>(ilon) * w) * kRad;
      if (angle_to_box(lat, lon, min_lon, min_lat, min_lon + w * kRad, max_lat) <= limit) {
        out.push_back(join({ilon, ilat, lon_bits, lat_bits}));
        ++appended;
      }
    }
  }
  return appended;
}

}  // namespace xiaoxiang
