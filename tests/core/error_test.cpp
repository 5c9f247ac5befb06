#include "xiaoxiang/core/error.hpp"

#include <gtest/gtest.h>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/core/time.hpp"

#include <cmath>
#include <limits>

namespace xiaoxiang {
namespace {

TEST(Error, CodesAreStdErrorCodes) {
  const std::error_code code = errc::invalid_latitude;
  EXPECT_EQ(code.category().name(), std::string("xiaoxiang"));
  EXPECT_EQ(code.value(), 111);
  EXPECT_EQ(code, errc::invalid_latitude);
  EXPECT_NE(code, errc::invalid_longitude);
  EXPECT_STREQ(errc_name(errc::invalid_latitude), "invalid_latitude");
  EXPECT_STREQ(errc_name(static_cast<errc>(99999)), "unknown");
  EXPECT_EQ(describe(code, "lat"), "lat: latitude is NaN, infinite or outside [-90, 90]");
}

TEST(Error, EveryCodeHasANameAndMessage) {
  for (int value = 1; value < 1000; ++value) {
    const auto e = static_cast<errc>(value);
    if (std::string(errc_name(e)) == "unknown") continue;
    EXPECT_EQ(std::error_code(e).message().rfind("unknown xiaoxiang error", 0), std::string::npos) << value;
  }
}

TEST(Error, ExceptionCarriesCodeAndContext) {
  try {
    throw error(errc::storage_io, "opening /nonexistent/db.sqlite");
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/db.sqlite"), std::string::npos);
  }
}

TEST(Result, HoldsValueOrReason) {
  result<int> good = 42;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  EXPECT_EQ(good.message(), "");
  result<int> bad{errc::invalid_k, "k"};
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), errc::invalid_k);
  EXPECT_EQ(bad.message(), "k: k (number of results) must be at least 1");
  status_result fine;
  EXPECT_TRUE(fine.ok());
  status_result not_fine{errc::unknown_order, "orderId"};
  EXPECT_EQ(not_fine.code, errc::unknown_order);
}

TEST(GeoPoint, ChecksEveryBadCoordinate) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(check_point({116.4, 39.9}), errc::ok);
  EXPECT_EQ(check_point({180, 90}), errc::ok);
  EXPECT_EQ(check_point({-180, -90}), errc::ok);
  EXPECT_EQ(check_point({nan, 0}), errc::invalid_longitude);
  EXPECT_EQ(check_point({inf, 0}), errc::invalid_longitude);
  EXPECT_EQ(check_point({-inf, 0}), errc::invalid_longitude);
  EXPECT_EQ(check_point({180.0000001, 0}), errc::invalid_longitude);
  EXPECT_EQ(check_point({0, nan}), errc::invalid_latitude);
  EXPECT_EQ(check_point({0, 90.5}), errc::invalid_latitude);
  EXPECT_EQ(check_point({0, -inf}), errc::invalid_latitude);
  EXPECT_EQ(check_point({nan, nan}), errc::invalid_longitude);
  EXPECT_STREQ(point_field(errc::invalid_latitude), "lat");
  EXPECT_STREQ(point_field(errc::invalid_longitude), "lon");
}

TEST(Time, FormatsIso8601Utc) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(1764071100123), "2025-11-25T11:45:00.123Z");
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
  manual_clock clock(1000);
  clock.advance(500);
  EXPECT_EQ(clock.now(), 1500);
  EXPECT_GT(system_clock().now(), 1700000000000);
}

}  // namespace
}  // namespace xiaoxiang
