// quantile_sketch: a fixed histogram of a positive quantity on a log scale
// (processing minutes, dwell seconds, ratios of actual to predicted time),
// from which median and P90 are read. Lock-free: any number of threads may
// add() and read at once, and nothing is allocated after construction.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace xiaoxiang {

class quantile_sketch {
 public:
  // Bins between lo and hi: adjacent bin edges differ by (hi/lo)^(1/kBins),
  // e.g. 7.5% for [1 s, 4 h]. Values are interpolated inside a bin, so a
  // quantile is off by at most one bin's width from the exact sample quantile.
  static constexpr int kBins = 128;

  // A sketch of values in [lo, hi] (same unit as the values, both > 0,
  // lo < hi); values outside are counted in the first / last bin.
  // Requires: 0 < lo < hi, finite.
  quantile_sketch(double lo, double hi) noexcept;
  quantile_sketch(const quantile_sketch&) = delete;
  quantile_sketch& operator=(const quantile_sketch&) = delete;

  // Counts one value; NaN is ignored, values <= lo land in the first bin.
  void add(double value) noexcept;

  // Number of values counted.
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

  // The q-quantile (q in [0, 1]) of the values counted, in their unit; lo
  // when nothing was counted yet (check count()).
  double quantile(double q) const noexcept;

  // The q-quantile of the values counted that are above x: the quantile of
  // "how long in total, knowing it has lasted x already". Returns x when no
  // counted value lies above x.
  double quantile_above(double x, double q) const noexcept;

  // Forgets every value (not atomic with concurrent add()s).
  void clear() noexcept;

  double lo() const noexcept { return lo_; }
  double hi() const noexcept { return hi_; }

 private:
  // Position of a value on the bin scale: bin b covers [b, b + 1).
  double scale(double value) const noexcept;
  // The value at a position of the bin scale (inverse of scale()).
  double unscale(double position) const noexcept;
  // The value below which `rank` (0..total) of `total` counted values lie.
  double value_at_rank(double rank, const std::array<std::uint32_t, kBins>& bins) const noexcept;
  std::uint64_t snapshot(std::array<std::uint32_t, kBins>& bins) const noexcept;

  double lo_, hi_;
  double log_lo_;
  double bins_per_log_;  // kBins / ln(hi / lo)
  std::array<std::atomic<std::uint32_t>, kBins> bins_{};
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace xiaoxiang
