#include "xiaoxiang/eta/quantile_sketch.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace xiaoxiang {

quantile_sketch::quantile_sketch(double lo, double hi) noexcept
    : lo_(lo), hi_(hi), log_lo_(std::log(lo)), bins_per_log_(kBins / std::log(hi / lo)) {
  assert(lo > 0 && hi > lo && std::isfinite(hi));
}

double quantile_sketch::scale(double value) const noexcept {
  if (!(value > lo_)) return 0.0;
  return (std::log(value) - log_lo_) * bins_per_log_;
}

double quantile_sketch::unscale(double position) const noexcept {
  return std::exp(log_lo_ + position / bins_per_log_);
}

void quantile_sketch::add(double value) noexcept {
  if (std::isnan(value)) return;
  const double pos = scale(value);
  const int bin = pos >= kBins ? kBins - 1 : static_cast<int>(pos);
  bins_[static_cast<std::size_t>(bin)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t quantile_sketch::snapshot(std::array<std::uint32_t, kBins>& bins) const noexcept {
  // Concurrent add()s may land between the loads; the snapshot's own total
  // keeps every rank inside it consistent.
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < bins.size(); ++i) {
    bins[i] = bins_[i].load(std::memory_order_relaxed);
    total += bins[i];
  }
  return total;
}

double quantile_sketch::value_at_rank(double rank,
                                      const std::array<std::uint32_t, kBins>& bins) const noexcept {
  double below = 0;
  for (int b = 0; b < kBins; ++b) {
    const double n = bins[static_cast<std::size_t>(b)];
    if (n > 0 && below + n >= rank) {
      // Values spread evenly over the bin on the log scale.
      const double frac = std::clamp((rank - below) / n, 0.0, 1.0);
      return std::min(hi_, unscale(b + frac));
    }
    below += n;
  }
  return hi_;
}

double quantile_sketch::quantile(double q) const noexcept {
  std::array<std::uint32_t, kBins> bins;
  const std::uint64_t total = snapshot(bins);
  if (total == 0) return lo_;
  q = std::clamp(q, 0.0, 1.0);
  return value_at_rank(q * static_cast<double>(total), bins);
}

double quantile_sketch::quantile_above(double x, double q) const noexcept {
  std::array<std::uint32_t, kBins> bins;
  const std::uint64_t total = snapshot(bins);
  if (total == 0) return x;
  q = std::clamp(q, 0.0, 1.0);
  // Rank of x among the counted values, interpolated inside its bin as
  // value_at_rank() does, so that the conditional quantile is continuous in x.
  const double pos = scale(x);
  double below = 0;
  if (pos >= kBins) {
    below = static_cast<double>(total);
  } else {
    const int bx = static_cast<int>(pos);
    for (int b = 0; b < bx; ++b) below += bins[static_cast<std::size_t>(b)];
    below += bins[static_cast<std::size_t>(bx)] * (pos - bx);
  }
  const double above = static_cast<double>(total) - below;
  if (above <= 0.5) return x;
  return std::max(x, value_at_rank(below + q * above, bins));
}

void quantile_sketch::clear() noexcept {
  for (auto& b : bins_) b.store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
}

}  // namespace xiaoxiang
