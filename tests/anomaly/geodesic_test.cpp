// geodesic_distance_m against GeographicLib's Karney inverse (what geopy
// uses), and geodesic_distance_below against the plain comparison.
#include "xiaoxiang/anomaly/geodesic.hpp"

#include <GeographicLib/Geodesic.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace xiaoxiang {
namespace {

double karney_m(geo_point a, geo_point b) {
  double s = 0;
  GeographicLib::Geodesic::WGS84().Inverse(a.lat, a.lon, b.lat, b.lon, s);
  return s;
}

TEST(Geodesic, MatchesKarneyWithinMicrometresAtStopScale) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> lat(-85, 85), lon(-180, 180), off(-0.001, 0.001);
  double worst = 0;
  for (int i = 0; i < 20000; ++i) {
    const geo_point a{lon(rng), lat(rng)};
    geo_point b{a.lon + off(rng), std::clamp(a.lat + off(rng), -90.0, 90.0)};
    if (b.lon > 180) b.lon -= 360;
    worst = std::max(worst, std::fabs(geodesic_distance_m(a, b) - karney_m(a, b)));
  }
  EXPECT_LT(worst, 1e-6);  // metres, on lines up to ~150 m
}

TEST(Geodesic, MatchesKarneyOnLongLines) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-80, 80), lon(-180, 180);
  for (int i = 0; i < 5000; ++i) {
    const geo_point a{lon(rng), lat(rng)}, b{lon(rng), lat(rng)};
    const double k = karney_m(a, b);
    // Vincenty converges except near the antipode (spherical fallback, < 0.5%).
    EXPECT_NEAR(geodesic_distance_m(a, b), k, std::max(1e-4, k * 0.005)) << i;
  }
  EXPECT_EQ(geodesic_distance_m({116.3, 39.9}, {116.3, 39.9}), 0.0);
  EXPECT_NEAR(geodesic_distance_m({0, 0}, {1, 0}), 111319.49079327357, 1e-6);
  EXPECT_NEAR(geodesic_distance_m({179.9999, 10}, {-179.9999, 10}), karney_m({179.9999, 10}, {-179.9999, 10}), 1e-6);
}

TEST(Geodesic, BelowAgreesWithTheComparison) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> lat(-89, 89), lon(-180, 180), off(-0.0006, 0.0006);
  for (int i = 0; i < 50000; ++i) {
    const geo_point a{lon(rng), lat(rng)};
    const geo_point b{std::clamp(a.lon + off(rng), -180.0, 180.0), std::clamp(a.lat + off(rng), -90.0, 90.0)};
    for (const double limit : {30.0, 45.0}) {
      EXPECT_EQ(geodesic_distance_below(a, b, limit), geodesic_distance_m(a, b) < limit) << i;
    }
  }
}

}  // namespace
}  // namespace xiaoxiang
