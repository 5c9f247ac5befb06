#include "xiaoxiang/security/token_bucket.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>

namespace xiaoxiang {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

TEST(TokenBucket, BurstThenRate) {
  token_bucket b({.rate_per_s = 10, .burst = 5}, 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.try_take(0)) << i;
  EXPECT_FALSE(b.try_take(0));
  EXPECT_EQ(b.available(0), 0u);
  // One token every 100 ms.
  EXPECT_FALSE(b.try_take(kSecond / 10 - 1));
  EXPECT_TRUE(b.try_take(kSecond / 10));
  EXPECT_FALSE(b.try_take(kSecond / 10));
  // A long pause refills only up to the burst.
  EXPECT_EQ(b.available(100 * kSecond), 5u);
  EXPECT_TRUE(b.full(100 * kSecond));
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing) {
  token_bucket b({.rate_per_s = 1, .burst = 1}, 10 * kSecond);
  EXPECT_TRUE(b.try_take(10 * kSecond));
  EXPECT_FALSE(b.try_take(5 * kSecond));
  EXPECT_FALSE(b.try_take(10 * kSecond));
  EXPECT_TRUE(b.try_take(11 * kSecond));
}

TEST(TokenBucket, ZeroRateIsUnlimitedAndZeroBurstIsOne) {
  token_bucket unlimited({.rate_per_s = 0, .burst = 1}, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.try_take(0));
  EXPECT_EQ(unlimited.interval_ns(), 0);
  token_bucket one({.rate_per_s = 1, .burst = 0}, 0);
  EXPECT_TRUE(one.try_take(0));
  EXPECT_FALSE(one.try_take(0));
}

// The oracle: a token count in "nanotoken" units (interval ns per token),
// refilled by the elapsed time and capped at burst tokens.
struct oracle_bucket {
  std::int64_t interval, cap, level, last;
  bool take(std::int64_t now) {
    if (now > last) {
      level = std::min(cap, level + (now - last));
      last = now;
    }
    if (level < interval) return false;
    level -= interval;
    return true;
  }
  std::uint32_t available(std::int64_t now) const {
    const std::int64_t l = now > last ? std::min(cap, level + (now - last)) : level;
    return static_cast<std::uint32_t>(l / interval);
  }
};

TEST(TokenBucket, RandomizedAgainstOracle) {
  std::mt19937_64 rng(20261125);
  for (int round = 0; round < 200; ++round) {
    const double rate = std::uniform_real_distribution<double>(0.5, 5000)(rng);
    const auto burst = static_cast<std::uint32_t>(std::uniform_int_distribution<int>(1, 50)(rng));
    std::int64_t now = std::uniform_int_distribution<std::int64_t>(0, kSecond)(rng);
    token_bucket b({rate, burst}, now);
    const std::int64_t interval = b.interval_ns();
    oracle_bucket o{interval, interval * burst, interval * burst, now};
    for (int step = 0; step < 2000; ++step) {
      // Mostly small steps (bursts), some long pauses, a few backwards.
      const int kind = std::uniform_int_distribution<int>(0, 9)(rng);
      if (kind < 6) now += std::uniform_int_distribution<std::int64_t>(0, interval / 2)(rng);
      else if (kind < 9) now += std::uniform_int_distribution<std::int64_t>(0, interval * 3)(rng);
      else now -= std::uniform_int_distribution<std::int64_t>(0, interval)(rng);
      ASSERT_EQ(b.available(now), o.available(now)) << "round " << round << " step " << step;
      ASSERT_EQ(b.try_take(now), o.take(now)) << "round " << round << " step " << step;
    }
  }
}

}  // namespace
}  // namespace xiaoxiang
