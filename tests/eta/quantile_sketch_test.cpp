#include "xiaoxiang/eta/quantile_sketch.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

namespace xiaoxiang {
namespace {

// Width of one bin as a ratio: a sketch quantile is within it of the exact one.
double bin_ratio(const quantile_sketch& s) {
  return std::pow(s.hi() / s.lo(), 1.0 / quantile_sketch::kBins);
}

double exact_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::clamp(q * static_cast<double>(v.size()), 0.0,
                                                      static_cast<double>(v.size() - 1)));
  return v[i];
}

TEST(QuantileSketch, EmptyAnswersLo) {
  quantile_sketch s(1, 1000);
  EXPECT_EQ(s.count(), 0u);
  EXPECT_DOUBLE_EQ(s.quantile(0.5), 1.0);
  EXPECT_DOUBLE_EQ(s.quantile_above(42, 0.5), 42.0);
}

TEST(QuantileSketch, IgnoresNanAndClampsOutOfRange) {
  quantile_sketch s(1, 1000);
  s.add(std::nan(""));
  EXPECT_EQ(s.count(), 0u);
  s.add(-5);
  s.add(0);
  s.add(1e9);
  EXPECT_EQ(s.count(), 3u);
  EXPECT_LE(s.quantile(0.0), 1.0 * bin_ratio(s));
  EXPECT_LE(s.quantile(1.0), 1000.0);
  EXPECT_GE(s.quantile(1.0), 1000.0 / bin_ratio(s));
}

// Seeded random samples from several shapes against the exact sample
// quantile (the oracle): always within one bin's width.
TEST(QuantileSketch, RandomizedAgainstSortedOracle) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 40; ++round) {
    quantile_sketch s(0.5, 20'000);
    std::vector<double> values;
    const int n = 50 + static_cast<int>(rng() % 3000);
    std::lognormal_distribution<double> logn(std::log(300.0), 0.2 + 0.1 * (round % 8));
    std::uniform_real_distribution<double> uni(1, 5000);
    for (int i = 0; i < n; ++i) {
      const double v = round % 2 ? logn(rng) : uni(rng);
      const double clamped = std::clamp(v, 0.5, 20'000.0);
      values.push_back(clamped);
      s.add(v);
    }
    ASSERT_EQ(s.count(), static_cast<std::uint64_t>(n));
    const double tol = bin_ratio(s) * 1.0001;
    for (double q : {0.1, 0.25, 0.5, 0.75, 0.9}) {
      // The sketch's rank q*n falls between the exact q-quantile's neighbours.
      const double lo = exact_quantile(values, q - 1.0 / n);
      const double hi = exact_quantile(values, q + 1.0 / n);
      const double got = s.quantile(q);
      EXPECT_GE(got * tol, lo) << "round " << round << " q " << q;
      EXPECT_LE(got, hi * tol) << "round " << round << " q " << q;
    }
    // Quantiles are ordered.
    EXPECT_LE(s.quantile(0.5), s.quantile(0.9));
    // Conditional quantile against the oracle of the values above x.
    const double x = exact_quantile(values, 0.3);
    std::vector<double> above;
    for (double v : values)
      if (v > x) above.push_back(v);
    if (above.size() > 20) {
      const double got = s.quantile_above(x, 0.5);
      const double want = exact_quantile(above, 0.5);
      EXPECT_NEAR(std::log(got), std::log(want), 2 * std::log(tol) + 2.0 / static_cast<double>(above.size()))
          << "round " << round;
      EXPECT_GE(got, x);
    }
  }
}

TEST(QuantileSketch, QuantileAboveBeyondEveryValueIsX) {
  quantile_sketch s(1, 1000);
  for (int i = 0; i < 100; ++i) s.add(10);
  EXPECT_DOUBLE_EQ(s.quantile_above(500, 0.5), 500);
  s.clear();
  EXPECT_EQ(s.count(), 0u);
}

TEST(QuantileSketch, ConcurrentAddsAllCounted) {
  quantile_sketch s(1, 1000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&s, t] {
      for (int i = 0; i < 10'000; ++i) s.add(1.0 + (i * 7 + t) % 900);
      (void)s.quantile(0.5);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(s.count(), 40'000u);
}

}  // namespace
}  // namespace xiaoxiang
