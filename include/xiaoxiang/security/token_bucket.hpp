// token_bucket: a rate limit of `rate_per_s` events per second with bursts of
// up to `burst` events, as GCRA (one "theoretical arrival time" in integer
// nanoseconds, so no drift and no floating-point rounding at the borders).
// Pure: the caller passes the time, which makes it testable and cheap
// (no clock call inside). Not thread-safe; guard it where it is shared.
#pragma once

#include <cstdint>

namespace xiaoxiang {

// How fast a bucket refills and how much it holds.
struct token_bucket_options {
  double rate_per_s = 10;   // tokens added per second (> 0; <= 0 disables the limit)
  std::uint32_t burst = 20; // tokens a full bucket holds (>= 1)
};

class token_bucket {
 public:
  // A full bucket at time `now_ns` (any monotonic clock, nanoseconds).
  explicit token_bucket(token_bucket_options options = {}, std::int64_t now_ns = 0) noexcept;

  // Takes one token at `now_ns` if there is one; false (nothing taken) if the
  // bucket is empty. Time going backwards counts as no time passing.
  bool try_take(std::int64_t now_ns) noexcept;
  // Whole tokens available at `now_ns` (0..burst), without taking any.
  std::uint32_t available(std::int64_t now_ns) const noexcept;
  // True when the bucket is full at `now_ns` (an idle key that may be forgotten).
  bool full(std::int64_t now_ns) const noexcept { return available(now_ns) >= burst_; }
  // Nanoseconds per token (the refill interval); 0 when unlimited.
  std::int64_t interval_ns() const noexcept { return interval_ns_; }

 private:
  std::int64_t interval_ns_;  // 1e9 / rate, at least 1; 0: unlimited
  std::uint32_t burst_;
  std::int64_t tat_ns_;   // theoretical arrival time: bucket full when now >= tat
  std::int64_t last_ns_;  // latest time seen (time never goes backwards here)
};

}  // namespace xiaoxiang
