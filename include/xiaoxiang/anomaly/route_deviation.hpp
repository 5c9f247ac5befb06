// route_deviation: alerts when the rider is off the planned route for long
// enough, with hysteresis (raise beyond raise_m, clear back within clear_m).
#pragma once

#include "xiaoxiang/anomaly/alert_update.hpp"
#include "xiaoxiang/core/time.hpp"

namespace xiaoxiang {

// Defaults suit the simulator (a deviation is > 100 m off the route; GPS
// noise 5 m per axis, at most ~25 m; a fix every 15 s).
struct route_deviation_options {
  double raise_m = 80;                 // off the route by more than this, metres ...
  duration_ms raise_after_ms = 10'000; // ... from the first such fix to the current one, ms
  double clear_m = 60;                 // back within this, metres (< raise_m) ...
  duration_ms clear_after_ms = 0;      // ... for this long clears, ms
};

// Per-order state: 48 bytes, no heap, O(1) per fix. alert value: metres off
// the route at the latest fix.
class route_deviation_detector {
 public:
  // One fix: its time and its distance from the planned route (metres, the
  // engine's polyline projection). Older fixes and NaN / negative distances
  // are ignored.
  alert_update observe(timestamp_ms t, double distance_m,
                       const route_deviation_options& o = {}) noexcept;
  // The order left Delivering (or got a new route): clears an active alert.
  alert_update reset() noexcept;
  const alert& current() const noexcept { return alert_; }

 private:
  alert alert_;
  timestamp_ms last_ms_ = -1;
  timestamp_ms beyond_since_ms_ = -1;  // first fix of the current run beyond raise_m
  timestamp_ms within_since_ms_ = -1;  // first fix of the current run within clear_m
};

}  // namespace xiaoxiang
