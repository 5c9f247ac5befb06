// GeoHash against GeographicLib::Geohash (the reference for conventions at
// borders, poles and the antimeridian), round trips, neighbours, cover.
#include "xiaoxiang/geo/geohash.hpp"

#include <GeographicLib/Geohash.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "xiaoxiang/geo/detail/geohash_dispatch.hpp"
#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {

std::string reference(geo_point p, int precision) {
  std::string s;
  GeographicLib::Geohash::Forward(p.lat, p.lon, precision, s);
  return s;
}

void expect_same_as_reference(geo_point p) {
  const std::string ref = reference(p, geohash_max_precision);
  for (int k = 1; k <= geohash_max_precision; ++k) {
    const auto h = point_to_geohash(p, k);
    ASSERT_TRUE(h.ok()) << p.lon << "," << p.lat;
    ASSERT_EQ(h->view(), std::string_view(ref).substr(0, static_cast<std::size_t>(k)))
        << "lon=" << p.lon << " lat=" << p.lat << " precision=" << k;
  }
}

TEST(Geohash, MillionRandomPointsMatchGeographicLibAtEveryPrecision) {
  std::mt19937_64 rng(20240501);
  std::uniform_real_distribution<double> lon(-180.0, 180.0), lat(-90.0, 90.0);
  for (int i = 0; i < 1'000'000; ++i) {
    const geo_point p{lon(rng), lat(rng)};
    // GeographicLib's shorter hashes are prefixes of its longer ones (one
    // quantisation, bits read in order); PrefixPropertyOfReference checks it.
    const std::string ref = reference(p, geohash_max_precision);
    for (int k = 1; k <= geohash_max_precision; ++k) {
      const auto h = point_to_geohash(p, k);
      ASSERT_TRUE(h.ok());
      ASSERT_EQ(h->view(), std::string_view(ref).substr(0, static_cast<std::size_t>(k)))
          << "lon=" << p.lon << " lat=" << p.lat << " precision=" << k;
    }
  }
}

// point_to_geohash takes the BMI2 path on CPUs with a fast PDEP (the tests
// above then cover it); the portable table path must give the same strings,
// so check it against the reference wherever the tests run.
TEST(Geohash, PortablePathMatchesGeographicLibAndTheDispatchedPath) {
  std::mt19937_64 rng(20261125);
  std::uniform_real_distribution<double> lon(-180.0, 180.0), lat(-90.0, 90.0);
  for (int i = 0; i < 100'000; ++i) {
    const geo_point p{lon(rng), lat(rng)};
    const std::string ref = reference(p, geohash_max_precision);
    for (int k = 1; k <= geohash_max_precision; ++k) {
      const auto portable = detail::point_to_geohash_portable(p, k);
      ASSERT_TRUE(portable.ok());
      ASSERT_EQ(portable->view(), std::string_view(ref).substr(0, static_cast<std::size_t>(k)));
      ASSERT_EQ(*portable, *point_to_geohash(p, k));
    }
  }
  for (const geo_point p : {geo_point{180.0, 90.0}, geo_point{-180.0, -90.0}, geo_point{0.0, 0.0}})
    for (int k = 1; k <= geohash_max_precision; ++k)
      EXPECT_EQ(*detail::point_to_geohash_portable(p, k), *point_to_geohash(p, k));
  EXPECT_EQ(detail::point_to_geohash_portable({0.0, 91.0}, 5).error(), make_error_code(errc::invalid_latitude));
  EXPECT_EQ(detail::point_to_geohash_portable({0.0, 0.0}, 13).error(), make_error_code(errc::invalid_precision));
  RecordProperty("bmi2_path", detail::geohash_uses_bmi2() ? "yes" : "no");
}

TEST(Geohash, BulkEncodingEqualsOneByOne) {
  std::mt19937_64 rng(20261126);
  std::uniform_real_distribution<double> lon_of(-181.0, 181.0), lat_of(-91.0, 91.0);
  constexpr std::size_t n = 5000;
  std::vector<double> lon(n), lat(n);
  for (std::size_t i = 0; i < n; ++i) {
    lon[i] = lon_of(rng);
    lat[i] = lat_of(rng);
  }
  lon[3] = std::numeric_limits<double>::quiet_NaN();
  lat[4] = std::numeric_limits<double>::infinity();
  for (int k = 1; k <= geohash_max_precision; ++k) {
    std::vector<geohash> out(n);
    const auto refused = points_to_geohashes(lon, lat, k, out);
    ASSERT_TRUE(refused.ok());
    std::size_t expected_refused = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto one = point_to_geohash({lon[i], lat[i]}, k);
      if (one.ok()) {
        ASSERT_EQ(out[i], *one) << i;
      } else {
        ++expected_refused;
        ASSERT_EQ(out[i].precision(), 0) << i;
      }
    }
    EXPECT_EQ(*refused, expected_refused);
    EXPECT_GT(expected_refused, 2u);  // the NaN, the infinity and points outside the ranges
  }
  std::vector<geohash> out(n);
  auto r = points_to_geohashes(lon, lat, 0, out);
  EXPECT_EQ(r.error(), make_error_code(errc::invalid_precision));
  EXPECT_STREQ(r.field(), "precision");
  r = points_to_geohashes(lon, std::span<const double>(lat).first(n - 1), 12, out);
  EXPECT_EQ(r.error(), make_error_code(errc::size_mismatch));
  EXPECT_STREQ(r.field(), "out");
  EXPECT_EQ(*points_to_geohashes({}, {}, 12, {}), 0u);
}

TEST(Geohash, PrefixPropertyOfReference) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lon(-180.0, 180.0), lat(-90.0, 90.0);
  for (int i = 0; i < 20'000; ++i) {
    const geo_point p{lon(rng), lat(rng)};
    for (int k = 1; k <= geohash_max_precision; ++k)
      ASSERT_EQ(point_to_geohash(p, k)->view(), reference(p, k));
  }
}

TEST(Geohash, CityPointsWithSixDecimalsMatchGeographicLib) {
  // GPS data with 6 decimals: Beijing box, integer micro-degrees.
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> lon(116'200'000, 116'600'000), lat(39'800'000, 40'100'000);
  for (int i = 0; i < 200'000; ++i)
    expect_same_as_reference({lon(rng) / 1e6, lat(rng) / 1e6});
}

TEST(Geohash, EdgesMatchGeographicLib) {
  const double lons[] = {-180.0, 180.0, 0.0, -0.0, 179.99999999999997, -179.99999999999997,
                         90.0, -90.0, 45.0, 1e-300, -1e-300, 5e-324};
  const double lats[] = {-90.0, 90.0, 0.0, -0.0, 89.99999999999999, -89.99999999999999,
                         45.0, -45.0, 1e-300, -1e-300, 5e-324};
  for (double lon : lons)
    for (double lat : lats) expect_same_as_reference({lon, lat});
  // lat 90 and lon 180 follow GeographicLib: lon 180 is lon -180, lat 90 is
  // in the top row.
  EXPECT_EQ(point_to_geohash({180.0, 0.0}, 12)->view(), point_to_geohash({-180.0, 0.0}, 12)->view());
  EXPECT_EQ(point_to_geohash({0.0, 90.0}, 1)->view(), "u");
  EXPECT_EQ(point_to_geohash({0.0, -90.0}, 1)->view(), "h");
  EXPECT_EQ(point_to_geohash({0.0, 0.0}, 5)->view(), "s0000");
  EXPECT_EQ(point_to_geohash({-0.0, -0.0}, 5)->view(), "s0000");
  // The canonical example of geohash.org / Wikipedia.
  EXPECT_EQ(point_to_geohash({10.40744, 57.64911}, 11)->view(), "u4pruydqqvj");
}

TEST(Geohash, ExactCellBordersMatchGeographicLib) {
  // Borders built from cell boxes are exact doubles; the point on a border
  // belongs to the upper / eastern cell, and the doubles just below it to
  // the lower one (or wherever GeographicLib's rounding puts them).
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> lon(-180.0, 180.0), lat(-90.0, 90.0);
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 20'000; ++i) {
    const int bits = 1 + static_cast<int>(rng() % geohash_max_bits);
    const geohash_int h = *point_to_geohash_int({lon(rng), lat(rng)}, bits);
    const geo_box b = geohash_box(h);
    for (double x : {b.min_lon, b.max_lon, std::nextafter(b.min_lon, -inf),
                     std::nextafter(b.min_lon, inf), std::nextafter(b.max_lon, -inf)})
      for (double y : {b.min_lat, b.max_lat, std::nextafter(b.min_lat, -inf),
                       std::nextafter(b.min_lat, inf), std::nextafter(b.max_lat, -inf)}) {
        if (x < -180 || x > 180 || y < -90 || y > 90) continue;
        expect_same_as_reference({x, y});
      }
    // The south-west corner itself is inside the cell.
    EXPECT_EQ(*point_to_geohash_int({b.min_lon, b.min_lat}, bits), h);
  }
}

TEST(Geohash, DecodeContainsThePointAndMatchesReverse) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> lon(-180.0, 180.0), lat(-90.0, 90.0);
  for (int i = 0; i < 100'000; ++i) {
    const geo_point p{lon(rng), lat(rng)};
    const int k = 1 + static_cast<int>(rng() % geohash_max_precision);
    const geohash h = *point_to_geohash(p, k);
    const auto cell = decode_geohash(h.view());
    ASSERT_TRUE(cell.ok());
    EXPECT_LE(std::abs(p.lon - cell->center.lon), cell->lon_err);
    EXPECT_LE(std::abs(p.lat - cell->center.lat), cell->lat_err);
    const geo_box b = geohash_box(*geohash_to_int(h.view()));
    EXPECT_TRUE(p.lon >= b.min_lon && p.lon < b.max_lon);
    EXPECT_TRUE(p.lat >= b.min_lat && p.lat < b.max_lat);
    double rlat = 0, rlon = 0;
    int len = 0;
    GeographicLib::Geohash::Reverse(h.str(), rlat, rlon, len, true);
    EXPECT_EQ(cell->center.lon, rlon);
    EXPECT_EQ(cell->center.lat, rlat);
    EXPECT_EQ(2 * cell->lon_err, GeographicLib::Geohash::LongitudeResolution(k));
    EXPECT_EQ(2 * cell->lat_err, GeographicLib::Geohash::LatitudeResolution(k));
    // Encoding the centre gives the same hash back.
    EXPECT_EQ(point_to_geohash(cell->center, k)->view(), h.view());
  }
}

TEST(Geohash, IntegerAndStringFormsRoundTrip) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> lon(-180.0, 180.0), lat(-90.0, 90.0);
  for (int i = 0; i < 100'000; ++i) {
    const geo_point p{lon(rng), lat(rng)};
    const int k = 1 + static_cast<int>(rng() % geohash_max_precision);
    const geohash s = *point_to_geohash(p, k);
    const geohash_int n = *point_to_geohash_int(p, 5 * k);
    EXPECT_EQ(*geohash_to_int(s.view()), n);
    EXPECT_EQ(int_to_geohash(n), s);
    EXPECT_TRUE(check_geohash_int(n).ok());
    // Any bit count is the prefix of the 60-bit hash.
    const int bits = 1 + static_cast<int>(rng() % geohash_max_bits);
    const geohash_int full = *point_to_geohash_int(p, geohash_max_bits);
    const geohash_int part = *point_to_geohash_int(p, bits);
    EXPECT_EQ(part.bits, full.bits >> (geohash_max_bits - bits));
    // Its box contains the point.
    const geo_box b = geohash_box(part);
    EXPECT_TRUE(p.lon >= b.min_lon && p.lon < b.max_lon && p.lat >= b.min_lat && p.lat < b.max_lat);
  }
  // Upper case decodes like lower case; the output is lower case.
  EXPECT_EQ(*geohash_to_int("WX4G0BM6C408"), *geohash_to_int("wx4g0bm6c408"));
  EXPECT_EQ(int_to_geohash(*geohash_to_int("WX4G0BM6C408")).view(), "wx4g0bm6c408");
  EXPECT_EQ(geohash_to_int("zzzzzzzzzzzz")->bits, (std::uint64_t{1} << 60) - 1);
}

// The neighbour the brute-force way: step from the centre by one cell size.
geohash_int step(geohash_int h, int dx, int dy) {
  const geohash_cell c = decode(h);
  double lon = c.center.lon + 2 * c.lon_err * dx;
  double lat = c.center.lat + 2 * c.lat_err * dy;
  if (lon >= 180) lon -= 360;
  if (lon < -180) lon += 360;
  lat = std::clamp(lat, c.center.lat - (c.center.lat - c.lat_err > -90 ? 2 * c.lat_err : 0),
                   c.center.lat + (c.center.lat + c.lat_err < 90 ? 2 * c.lat_err : 0));
  return *point_to_geohash_int({lon, lat}, h.bit_count);
}

TEST(Geohash, NeighboursAgreeWithSteppingByOneCell) {
  constexpr int dx[] = {0, 1, 1, 1, 0, -1, -1, -1};
  constexpr int dy[] = {1, 1, 0, -1, -1, -1, 0, 1};
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> lon(-180.0, 180.0), lat(-90.0, 90.0);
  for (int i = 0; i < 50'000; ++i) {
    const int bits = 1 + static_cast<int>(rng() % geohash_max_bits);
    geo_point p{lon(rng), lat(rng)};
    if (i % 4 == 0) p.lon = (i % 8 == 0) ? -180.0 : 179.9999999999;  // antimeridian columns
    if (i % 5 == 0) p.lat = (i % 10 == 0) ? 90.0 : -90.0;           // polar rows
    const geohash_int h = *point_to_geohash_int(p, bits);
    const auto n = neighbours(h);
    for (int d = 0; d < 8; ++d)
      ASSERT_EQ(n[static_cast<std::size_t>(d)], step(h, dx[d], dy[d])) << "bits=" << bits << " dir=" << d;
  }
}

TEST(Geohash, NeighboursWrapAndClamp) {
  // "b" is the north-west corner cell of the world at precision 1, "z" the
  // north-east, "0" the south-west, "p" the south-east.
  const auto b = neighbours(*geohash_to_int("b"));
  EXPECT_EQ(int_to_geohash(b[static_cast<int>(direction::w)]).view(), "z");
  EXPECT_EQ(int_to_geohash(b[static_cast<int>(direction::n)]).view(), "b");   // clamped: itself
  EXPECT_EQ(int_to_geohash(b[static_cast<int>(direction::ne)]).view(), "c");  // = E
  EXPECT_EQ(int_to_geohash(b[static_cast<int>(direction::e)]).view(), "c");
  EXPECT_EQ(int_to_geohash(b[static_cast<int>(direction::nw)]).view(), "z");  // = W
  EXPECT_EQ(int_to_geohash(b[static_cast<int>(direction::sw)]).view(), "x");
  const auto p = neighbours(*geohash_to_int("p"));
  EXPECT_EQ(int_to_geohash(p[static_cast<int>(direction::e)]).view(), "0");
  EXPECT_EQ(int_to_geohash(p[static_cast<int>(direction::s)]).view(), "p");
  EXPECT_EQ(int_to_geohash(p[static_cast<int>(direction::se)]).view(), "0");
  // A 12-character cell on the antimeridian: its west neighbour is at +180.
  const geohash_int h = *point_to_geohash_int({-180.0, 39.9}, 60);
  const geohash_cell w = decode(neighbours(h)[static_cast<int>(direction::w)]);
  EXPECT_GT(w.center.lon, 179.99999);
  EXPECT_EQ(w.center.lat, decode(h).center.lat);
  // The usual Beijing example.
  const auto wx = neighbours(*geohash_to_int("wx4g0"));
  EXPECT_EQ(int_to_geohash(wx[0]).view(), "wx4g2");
  EXPECT_EQ(int_to_geohash(wx[2]).view(), "wx4g1");
}

// Destination on the sphere of earth_radius_m.
geo_point destination(geo_point from, double bearing_rad, double distance_m) {
  const double d = distance_m / earth_radius_m;
  const double lat1 = from.lat * std::numbers::pi / 180;
  const double lon1 = from.lon * std::numbers::pi / 180;
  const double lat2 = std::asin(std::sin(lat1) * std::cos(d) + std::cos(lat1) * std::sin(d) * std::cos(bearing_rad));
  const double lon2 = lon1 + std::atan2(std::sin(bearing_rad) * std::sin(d) * std::cos(lat1),
                                        std::cos(d) - std::sin(lat1) * std::sin(lat2));
  double lon = lon2 * 180 / std::numbers::pi;
  while (lon >= 180) lon -= 360;
  while (lon < -180) lon += 360;
  return {lon, std::clamp(lat2 * 180 / std::numbers::pi, -90.0, 90.0)};
}

// Smallest haversine distance from c to a fine grid over the cell's box.
double sampled_min_distance(geo_point c, geohash_int h, int n) {
  const geo_box b = geohash_box(h);
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i <= n; ++i)
    for (int j = 0; j <= n; ++j) {
      const geo_point q{b.min_lon + (b.max_lon - b.min_lon) * i / n,
                        b.min_lat + (b.max_lat - b.min_lat) * j / n};
      best = std::min(best, haversine_m(c, q));
    }
  return best;
}

// Bit count whose cells are about radius / 2 .. radius wide at this latitude.
int bits_for(double radius_m, double lat) {
  for (int bits = geohash_max_bits; bits >= 1; --bits) {
    const geohash_cell c = decode(*point_to_geohash_int({0.0, std::clamp(lat, -89.0, 89.0)}, bits));
    const double width = 2 * c.lon_err * 111'320 * std::cos(lat * std::numbers::pi / 180);
    const double height = 2 * c.lat_err * 110'574;
    if (std::min(width, height) >= radius_m / 2) return bits;
  }
  return 1;
}

TEST(Geohash, CoverAgreesWithBruteForce) {
  std::mt19937_64 rng(2024);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double lats[] = {0.0, 39.9, 60.0, 80.0, -33.9, 89.99};
  const double radii[] = {50, 200, 1000, 5000, 20000};
  std::vector<geohash_int> cells;
  for (double lat : lats)
    for (double r : radii)
      for (int extra : {0, 2}) {
        const geo_point c{-180.0 + 360.0 * unit(rng), lat};
        const int bits = std::min(geohash_max_bits, bits_for(r, lat) + extra);
        cells.clear();
        const auto n = cover(c, r, bits, cells);
        ASSERT_TRUE(n.ok()) << n.message();
        ASSERT_EQ(*n, cells.size());
        const std::set<geohash_int> set(cells.begin(), cells.end());
        ASSERT_EQ(set.size(), cells.size()) << "duplicates";
        // Every point within r is in a returned cell (points on the rim too).
        for (int i = 0; i < 4000; ++i) {
          const double dist = i < 500 ? r * (1 - 1e-9) : r * 1.3 * std::sqrt(unit(rng));
          const geo_point q = destination(c, 2 * std::numbers::pi * unit(rng), dist);
          if (haversine_m(c, q) > r) continue;
          ASSERT_TRUE(set.count(*point_to_geohash_int(q, bits)))
              << "lat=" << lat << " r=" << r << " bits=" << bits << " q=" << q.lon << "," << q.lat;
        }
        // No returned cell lies wholly outside: some sample of it is within
        // r, give or take the sampling step.
        for (const geohash_int h : cells) {
          const geohash_cell cell = decode(h);
          const double step = 2 * std::hypot(cell.lon_err * 111'320 * std::cos(cell.center.lat * std::numbers::pi / 180),
                                             cell.lat_err * 110'574) / 64;
          ASSERT_LE(sampled_min_distance(c, h, 64), r + step + 1e-6)
              << "lat=" << lat << " r=" << r << " bits=" << bits;
        }
        // And the cells around the cover that it left out are wholly outside.
        for (const geohash_int h : cells)
          for (const geohash_int nb : neighbours(h)) {
            if (!set.count(nb)) {
              ASSERT_GT(sampled_min_distance(c, nb, 16), r * (1 - 1e-9));
            }
          }
      }
}

TEST(Geohash, CoverEdges) {
  std::vector<geohash_int> cells;
  // Radius 0: the one cell of the centre (or the cells sharing its border).
  ASSERT_EQ(*cover({116.4, 39.9}, 0.0, 30, cells), 1u);
  EXPECT_EQ(cells[0], *point_to_geohash_int({116.4, 39.9}, 30));
  // Across the antimeridian: both sides.
  cells.clear();
  ASSERT_TRUE(cover({179.999, 0.0}, 1000.0, 25, cells).ok());
  bool west = false, east = false;
  for (auto h : cells) (decode(h).center.lon < 0 ? west : east) = true;
  EXPECT_TRUE(west && east);
  // Around a pole: a whole ring of longitudes.
  cells.clear();
  ASSERT_TRUE(cover({10.0, 90.0}, 5000.0, 20, cells).ok());
  EXPECT_EQ(cells.size(), 1024u);  // 2^10 columns, one row
  // No allocation when the capacity is there.
  std::vector<geohash_int> reserved;
  reserved.reserve(1000);
  const auto* data = reserved.data();
  ASSERT_TRUE(cover({116.4, 39.9}, 3000.0, 30, reserved).ok());
  EXPECT_EQ(reserved.data(), data);
  // Appends.
  const std::size_t before = reserved.size();
  const auto again = cover({116.4, 39.9}, 3000.0, 30, reserved);
  EXPECT_EQ(reserved.size(), before + *again);
}

template <class R>
void expect_error(const R& r, errc code, const char* field) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), make_error_code(code)) << r.message();
  ASSERT_NE(r.field(), nullptr);
  EXPECT_STREQ(r.field(), field);
}

TEST(Geohash, BadInputReturnsExactCodeAndField) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (double lon : {nan, inf, -inf, 180.000001, -180.000001, 1e300}) {
    expect_error(point_to_geohash({lon, 0}, 5), errc::invalid_longitude, "lon");
    expect_error(point_to_geohash_int({lon, 0}, 5), errc::invalid_longitude, "lon");
    std::vector<geohash_int> out;
    expect_error(cover({lon, 0}, 10, 20, out), errc::invalid_longitude, "lon");
  }
  for (double lat : {nan, inf, -inf, 90.000001, -90.000001}) {
    expect_error(point_to_geohash({0, lat}, 5), errc::invalid_latitude, "lat");
    expect_error(point_to_geohash_int({0, lat}, 5), errc::invalid_latitude, "lat");
    std::vector<geohash_int> out;
    expect_error(cover({0, lat}, 10, 20, out), errc::invalid_latitude, "lat");
  }
  for (int precision : {0, 13, -1, 1000})
    expect_error(point_to_geohash({0, 0}, precision), errc::invalid_precision, "precision");
  for (int bits : {0, 61, -5})
    expect_error(point_to_geohash_int({0, 0}, bits), errc::invalid_geohash_bits, "bitCount");
  expect_error(geohash_to_int(""), errc::empty_geohash, "geohash");
  expect_error(decode_geohash(""), errc::empty_geohash, "geohash");
  expect_error(geohash_to_int("wx4g0bm6c408s"), errc::geohash_too_long, "geohash");
  expect_error(decode_geohash("0123456789bcdefghjkmnpqrstuvwxyz"), errc::geohash_too_long, "geohash");
  for (const char* bad : {"a", "i", "l", "o", "A", "I", "L", "O", "wx4 ", "wx-4", "\xff", "\xe5\x8c\x97"})
    expect_error(geohash_to_int(bad), errc::invalid_geohash_character, "geohash");
  expect_error(decode_geohash(std::string_view("wx\0g", 4)), errc::invalid_geohash_character, "geohash");
  for (geohash_int h : {geohash_int{0, 0}, geohash_int{0, 61}, geohash_int{4, 2}, geohash_int{1, -1}}) {
    const status_result s = check_geohash_int(h);
    EXPECT_EQ(s.code, make_error_code(errc::invalid_geohash_bits));
    EXPECT_STREQ(s.field, "bitCount");
  }
  std::vector<geohash_int> out;
  for (double r : {nan, inf, -1.0, -0.0 - 1e-300, 1'000'000.5})
    expect_error(cover({0, 0}, r, 20, out), errc::invalid_radius, "radius");
  expect_error(cover({0, 0}, 1'000'000.0, 60, out), errc::invalid_radius, "radius");  // too many cells
  for (int bits : {0, 61})
    expect_error(cover({0, 0}, 10, bits, out), errc::invalid_geohash_bits, "bitCount");
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(point_to_geohash({0, 0}, 5).message().empty(), true);
  EXPECT_EQ(point_to_geohash({0, 91}, 5).message(),
            "lat: latitude is NaN, infinite or outside [-90, 90]");
}

TEST(Geohash, StoredInline) {
  static_assert(sizeof(geohash) <= 16);
  const geohash h = *point_to_geohash({116.397, 39.918}, 12);
  EXPECT_EQ(h.precision(), 12);
  EXPECT_EQ(h.str(), std::string(h.view()));
  EXPECT_EQ(geohash{}.precision(), 0);
  EXPECT_LT(*point_to_geohash({0, 0}, 12), *point_to_geohash({1, 1}, 12));
}

}  // namespace
}  // namespace xiaoxiang
