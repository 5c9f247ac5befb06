// The simulator's random numbers: splitmix64-seeded xoshiro256**, with our
// own distributions, because std:: distributions differ between standard
// libraries and the simulation must be the same bytes wherever it runs.
#pragma once

#include <cmath>
#include <cstdint>

namespace xiaoxiang::sim_detail {

class random {
 public:
  explicit random(std::uint64_t seed) noexcept {
    for (auto& word : s_) {
      seed += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      word = z ^ (z >> 31);
    }
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [lo, hi] (multiply-high: no division on the hot path;
  // the bias is below 2^-32 for the spans used here).
  std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
    __extension__ using u128 = unsigned __int128;
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(static_cast<std::uint64_t>((static_cast<u128>(next()) * span) >> 64));
  }
  bool chance(double p) noexcept { return uniform() < p; }
  // Exponential with the given mean.
  double exponential(double mean) noexcept { return -mean * std::log1p(-uniform()); }
  // An approximately standard normal: the sum of four 16-bit uniforms
  // (Irwin-Hall), scaled to unit variance. Integer arithmetic only, so it is
  // the same on every platform, and tails end at +-3.46 (GPS noise has no
  // use for more; outliers are a separate injection).
  double normal() noexcept {
    const std::uint64_t x = next();
    const auto sum = static_cast<std::int64_t>((x & 0xffff) + ((x >> 16) & 0xffff) +
                                               ((x >> 32) & 0xffff) + (x >> 48));
    // Mean 4 * 32767.5, variance 4 * (65536^2 - 1) / 12.
    return static_cast<double>(2 * sum - 4 * 65535) * (0.5 / 37837.227237);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace xiaoxiang::sim_detail
