// Timestamps: milliseconds since the Unix epoch, UTC, as the tables store
// create_time and as devices report fixes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace xiaoxiang {

using timestamp_ms = std::int64_t;
using duration_ms = std::int64_t;

// Wall-clock now, in ms since the epoch (UTC).
inline timestamp_ms now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The clock an engine reads "now" from: the wall clock by default, a
// simulated clock in the simulator and in tests.
class clock {
 public:
  virtual ~clock() = default;
  virtual timestamp_ms now() const noexcept = 0;
};

class system_clock final : public clock {
 public:
  timestamp_ms now() const noexcept override { return now_ms(); }
};

// A clock the owner moves by hand (simulation, tests).
class manual_clock final : public clock {
 public:
  explicit manual_clock(timestamp_ms start = 0) noexcept : now_(start) {}
  timestamp_ms now() const noexcept override { return now_.load(std::memory_order_relaxed); }
  void set(timestamp_ms t) noexcept { now_.store(t, std::memory_order_relaxed); }
  void advance(duration_ms d) noexcept { now_.fetch_add(d, std::memory_order_relaxed); }

 private:
  std::atomic<timestamp_ms> now_;
};

// ISO-8601 UTC with milliseconds, "2026-11-25T11:45:00.000Z".
std::string format_iso8601(timestamp_ms t);

}  // namespace xiaoxiang
