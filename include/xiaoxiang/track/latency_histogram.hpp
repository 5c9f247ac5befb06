// latency_histogram: a fixed-bucket histogram of durations that many threads
// record into with relaxed atomic increments only (no lock, no allocation),
// read at scrape time as a snapshot in Prometheus' shape (cumulative buckets,
// sum, count). The buckets are fixed so that every instance and every process
// aggregates (histogram_quantile over a sum by le).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace xiaoxiang {

// A histogram as read at one moment: counts[i] is the number of observations
// <= upper_bounds[i] (cumulative, like Prometheus' le buckets); observations
// above the last bound are only in `count`. Units are the producer's
// (seconds for latencies, bytes for queue depths).
struct histogram_snapshot {
  std::vector<double> upper_bounds;   // increasing; +Inf is implicit
  std::vector<std::uint64_t> counts;  // cumulative, one per bound
  std::uint64_t count = 0;            // every observation
  double sum = 0;                     // sum of the observed values
};

// Upper bounds of the latency buckets, in microseconds: 50 us .. 10 s,
// roughly 1-2.5-5 per decade (ingest is microseconds, durable is a group
// commit of milliseconds, a stuck writer is seconds).
inline constexpr std::array<std::int64_t, 18> kLatencyBoundsUs{
    50,     100,     250,     500,     1'000,     2'500,     5'000,     10'000,     25'000,
    50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000};

class latency_histogram {
 public:
  // Records one duration in nanoseconds (negative counts as 0). Thread-safe,
  // lock-free: two relaxed fetch_adds and a short scan of the bounds.
  void record(std::int64_t nanoseconds) noexcept {
    if (nanoseconds < 0) nanoseconds = 0;
    const std::int64_t us = nanoseconds / 1000;
    std::size_t i = 0;
    while (i < kLatencyBoundsUs.size() && us >= kLatencyBoundsUs[i]) ++i;
    // Bucket i holds kLatencyBoundsUs[i-1] <= us < kLatencyBoundsUs[i]: "<=
    // bound" then holds up to the microsecond's truncation.
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(nanoseconds), std::memory_order_relaxed);
  }

  // The histogram now, bounds and sum in seconds. Each bucket is exact; the
  // set is not read atomically (a recording in flight may show in a bucket
  // but not yet in the sum).
  histogram_snapshot snapshot() const {
    histogram_snapshot s;
    s.upper_bounds.reserve(kLatencyBoundsUs.size());
    s.counts.reserve(kLatencyBoundsUs.size());
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < kLatencyBoundsUs.size(); ++i) {
      running += buckets_[i].load(std::memory_order_relaxed);
      s.upper_bounds.push_back(static_cast<double>(kLatencyBoundsUs[i]) / 1e6);
      s.counts.push_back(running);
    }
    s.count = running + buckets_.back().load(std::memory_order_relaxed);
    s.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return s;
  }

 private:
  std::array<std::atomic<std::uint64_t>, kLatencyBoundsUs.size() + 1> buckets_{};  // last: above every bound
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace xiaoxiang
