// polyline against Boost.Geometry (distance to a linestring and lengths, in
// the route's local metres) and against a plain oracle for progress.
#include "xiaoxiang/geo/polyline.hpp"

#include <GeographicLib/Geodesic.hpp>
#include <gtest/gtest.h>

#include <boost/geometry.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {

namespace bg = boost::geometry;
using xy_point = bg::model::d2::point_xy<double>;
using linestring = bg::model::linestring<xy_point>;

// The route's local frame, computed independently of polyline's internals.
xy_point local(const polyline& route, geo_point p) {
  const geo_point o = route.points().front();
  double dlon = p.lon - o.lon;
  if (dlon > 180) dlon -= 360;
  if (dlon < -180) dlon += 360;
  return {dlon * route.ruler().kx(), (p.lat - o.lat) * route.ruler().ky()};
}

linestring local_line(const polyline& route, std::size_t count) {
  linestring line;
  for (std::size_t i = 0; i < count; ++i) line.push_back(local(route, route.points()[i]));
  return line;
}

// A random walk of n vertices through a city, heading roughly east.
std::vector<geo_point> random_route(std::mt19937_64& rng, std::size_t n, geo_point start) {
  std::normal_distribution<double> turn(0.0, 0.6);
  std::uniform_real_distribution<double> step(20.0, 300.0);
  std::vector<geo_point> points{start};
  double heading = 1.2;
  const cheap_ruler ruler(start.lat);
  for (std::size_t i = 1; i < n; ++i) {
    heading = std::clamp(heading + turn(rng), 0.2, 2.9);  // east-ish: never turns back
    const double s = step(rng);
    const geo_point last = points.back();
    points.push_back({last.lon + s * std::sin(heading) / ruler.kx(), last.lat + s * std::cos(heading) / ruler.ky()});
  }
  return points;
}

TEST(Polyline, AgreesWithBoostGeometry) {
  std::mt19937_64 rng(8);
  for (int route_no = 0; route_no < 20; ++route_no) {
    const auto points = random_route(rng, 200, {116.3, 39.9});
    const auto route = polyline::make(points);
    ASSERT_TRUE(route.ok());
    const linestring line = local_line(*route, points.size());
    EXPECT_NEAR(route->length_m(), static_cast<double>(bg::length(line)), 1e-6);
    std::uniform_real_distribution<double> lon(116.28, 116.5), lat(39.85, 40.0);
    for (int i = 0; i < 500; ++i) {
      const geo_point p{lon(rng), lat(rng)};
      const polyline_projection r = route->project(p);
      const double ref = bg::distance(local(*route, p), line);
      ASSERT_NEAR(r.distance_m, ref, 1e-6 * (1 + ref));
      // Progress: the Boost length of the route up to the projected point.
      linestring upto = local_line(*route, r.segment + 1);
      upto.push_back(local(*route, r.point));
      EXPECT_NEAR(r.along_m, static_cast<double>(bg::length(upto)), 1e-5);
      EXPECT_NEAR(r.along_m + r.remaining_m, route->length_m(), 1e-6);
      EXPECT_NEAR(bg::distance(local(*route, r.point), local(*route, p)), r.distance_m, 1e-5);
      // In the real world: the local frame (WGS-84 scale factors at the
      // route's mid latitude) stays within 0.2% + 1 m of the geodesic here.
      double s12 = 0;
      GeographicLib::Geodesic::WGS84().Inverse(p.lat, p.lon, r.point.lat, r.point.lon, s12);
      EXPECT_NEAR(s12, r.distance_m, 0.002 * r.distance_m + 1.0);
    }
  }
}

TEST(Polyline, LengthCloseToGeodesic) {
  std::mt19937_64 rng(9);
  const auto points = random_route(rng, 200, {116.3, 39.9});
  const auto route = polyline::make(points);
  double sum = 0;
  for (std::size_t i = 0; i + 1 < points.size(); ++i) sum += haversine_m(points[i], points[i + 1]);
  // Planar lengths in the local frame against great-circle lengths: the
  // frame is WGS-84 based, haversine a sphere, so allow the 0.5% between them.
  EXPECT_NEAR(route->length_m(), sum, 0.005 * sum);
  EXPECT_EQ(route->along_at(0), 0.0);
  EXPECT_EQ(route->along_at(points.size() - 1), route->length_m());
}

TEST(Polyline, HintedProjectionFollowsAdvancingRider) {
  std::mt19937_64 rng(10);
  std::normal_distribution<double> noise(0.0, 15.0);
  for (int route_no = 0; route_no < 20; ++route_no) {
    const auto points = random_route(rng, 200, {116.3, 39.9});
    const auto route = polyline::make(points);
    const cheap_ruler ruler(39.9);
    projection_hint hint;
    // A rider going along the route with GPS noise, some fixes far apart.
    for (double along = 0; along < route->length_m(); along += 37.0 + (static_cast<int>(along) % 7) * 90.0) {
      std::size_t seg = 0;
      while (seg + 2 < points.size() && route->along_at(seg + 1) < along) ++seg;
      const double t = std::clamp((along - route->along_at(seg)) / (route->along_at(seg + 1) - route->along_at(seg)), 0.0, 1.0);
      const geo_point on{points[seg].lon + t * (points[seg + 1].lon - points[seg].lon),
                         points[seg].lat + t * (points[seg + 1].lat - points[seg].lat)};
      const geo_point fix{on.lon + noise(rng) / ruler.kx(), on.lat + noise(rng) / ruler.ky()};
      const polyline_projection full = route->project(fix);
      const polyline_projection hinted = route->project(fix, hint);
      // Noise can make a fix nearer an earlier segment than the hint; then
      // the hinted answer may differ, but never by much.
      if (full.segment >= hint.segment) {
        EXPECT_EQ(hinted.segment, full.segment);
        EXPECT_DOUBLE_EQ(hinted.distance_m, full.distance_m);
        EXPECT_DOUBLE_EQ(hinted.along_m, full.along_m);
      } else {
        EXPECT_LT(hinted.distance_m - full.distance_m, 100.0);
      }
      hint.segment = hinted.segment > 0 ? hinted.segment - 1 : 0;
    }
  }
}

TEST(Polyline, EndsDegenerateSegmentsAndAntimeridian) {
  const auto route = polyline::make({{116.0, 39.9}, {116.0, 39.9}, {116.01, 39.9}, {116.01, 39.9}});
  ASSERT_TRUE(route.ok());
  const auto before = route->project({115.99, 39.9});
  EXPECT_EQ(before.along_m, 0.0);
  EXPECT_NEAR(before.distance_m, 0.01 * route->ruler().kx(), 1e-6);
  EXPECT_EQ(before.segment, 0u);  // the earliest segment wins a tie
  const auto after = route->project({116.02, 39.9});
  EXPECT_NEAR(after.along_m, route->length_m(), 1e-9);
  EXPECT_EQ(after.remaining_m, 0.0);
  const auto on = route->project({116.005, 39.9});
  EXPECT_NEAR(on.distance_m, 0.0, 1e-9);
  EXPECT_NEAR(on.along_m, route->length_m() / 2, 1e-6);
  EXPECT_NEAR(on.point.lon, 116.005, 1e-12);
  // A hint past the end is clamped to the last segment.
  const auto clamped = route->project({116.005, 39.9}, {1000, 4});
  EXPECT_EQ(clamped.segment, 2u);
  // Across the antimeridian the route is short, not round the world.
  const auto wrap = polyline::make({{179.999, 0.0}, {-179.999, 0.0}});
  EXPECT_NEAR(wrap->length_m(), 0.002 * wrap->ruler().kx(), 1e-6);
  const auto mid = wrap->project({180.0, 0.001});
  EXPECT_NEAR(mid.along_m, wrap->length_m() / 2, 1e-6);
  EXPECT_NEAR(std::abs(mid.point.lon), 180.0, 1e-9);
}

TEST(Polyline, BadInputReturnsExactCodeAndField) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::vector<geo_point>> bad = {
      {}, {{116.0, 39.9}}, {{116.0, 39.9}, {nan, 39.9}}, {{116.0, 91.0}, {116.0, 39.9}},
      {{116.0, 39.9}, {181.0, 39.9}}, {{116.0, 39.9}, {116.0, -std::numeric_limits<double>::infinity()}}};
  for (const auto& points : bad) {
    const auto r = polyline::make(points);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), make_error_code(errc::invalid_polyline));
    EXPECT_STREQ(r.field(), "route");
  }
}

}  // namespace
}  // namespace xiaoxiang
