#include "xiaoxiang/eta/eta_route.hpp"

#include <gtest/gtest.h>

#include "xiaoxiang/eta/eta_model.hpp"

namespace xiaoxiang {
namespace {

constexpr timestamp_ms kT0 = 1'764'072'000'000;

TEST(EtaRoute, TimesFromTheLearnedSpeeds) {
  eta_model_options o;
  o.speed.fine_cells = 256;
  o.speed.coarse_cells = 16;
  auto model = eta_model::make(o).value();
  const cheap_ruler r(39.9);
  std::vector<geo_point> pts;
  for (int i = 0; i <= 10; ++i) pts.push_back({116.4 + i * 200 / r.kx(), 39.9});
  auto route = eta_route::make(*model, pts, kT0);
  ASSERT_TRUE(route.ok());
  // Default 5 m/s over 2 km.
  EXPECT_NEAR(route->total_s(), 400, 1.0);
  EXPECT_NEAR(route->length_m(), 2000, 2.0);
  ASSERT_EQ(route->time_s().size(), pts.size());
  EXPECT_DOUBLE_EQ(route->time_s()[0], 0);
  for (std::size_t i = 1; i < pts.size(); ++i) EXPECT_GT(route->time_s()[i], route->time_s()[i - 1]);
  // Projection and along agree, and are monotone.
  const geo_point mid{116.4 + 1050 / r.kx(), 39.9 + 0.0001};
  const polyline_projection p = route->line().project(mid);
  EXPECT_NEAR(route->time_at(p), route->time_at_along(p.along_m), 1e-9);
  EXPECT_NEAR(route->time_at(p), 210, 1.0);
  EXPECT_DOUBLE_EQ(route->time_at_along(-5), 0);
  EXPECT_DOUBLE_EQ(route->time_at_along(1e9), route->total_s());

  // Learn 10 m/s on the first half only: that half's times halve.
  for (int i = 0; i < 500; ++i) model->speeds().observe({116.4 + (i % 10) * 100 / r.kx(), 39.9}, kT0, 150, 15);
  auto faster = eta_route::make(*model, pts, kT0);
  ASSERT_TRUE(faster.ok());
  EXPECT_NEAR(faster->time_at_along(1000), 100, 10);
  EXPECT_LT(faster->total_s(), route->total_s());
}

TEST(EtaRoute, BadRoute) {
  auto model = eta_model::make({}).value();
  auto r = eta_route::make(*model, {geo_point{116.4, 39.9}}, kT0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), make_error_code(errc::invalid_polyline));
  EXPECT_STREQ(r.field(), "route");
  r = eta_route::make(*model, {geo_point{116.4, 39.9}, geo_point{116.4, 99}}, kT0);
  EXPECT_EQ(r.error(), make_error_code(errc::invalid_polyline));
}

}  // namespace
}  // namespace xiaoxiang
