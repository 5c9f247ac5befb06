// standstill: alerts when a delivering rider has not left a small area for
// too long — the streaming stop detector with a short limit on the way and a
// long one where stopping is planned (warehouse loading, customer handover).
#pragma once

#include "xiaoxiang/anomaly/alert_update.hpp"
#include "xiaoxiang/anomaly/stop_detector.hpp"
#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/time.hpp"

namespace xiaoxiang {

// Defaults suit the simulator (riders move >= 1.3 m/s, report every 15 s,
// GPS noise 5 m per axis; loading 30-90 s, handover 1-3 min).
struct standstill_options {
  streaming_stop_options stop{15, 0, 1};  // radius_m, (unused), max_outliers
  duration_ms raise_after_ms = 45'000;     // stopped this long on the way raises, ms
  // Stopped this long where the engine says a stop is planned (within reach
  // of the warehouse or of a customer of the rider's orders) raises, ms.
  duration_ms raise_after_at_planned_stop_ms = 6 * 60'000;
};

// Per-order state: 144 bytes, no heap, O(1) per fix. alert value: minutes
// stopped (since the stop's first fix, to the latest fix inside).
class standstill_detector {
 public:
  // One live fix, in time order (older ones are ignored); at_planned_stop
  // when the fix is where the rider is expected to stand (engine's call);
  // a stop with any such fix inside gets the planned limit.
  alert_update observe(timestamp_ms t, geo_point p, bool at_planned_stop,
                       const standstill_options& o = {}) noexcept;
  // The order left Delivering: clears an active alert and forgets the stop.
  alert_update reset() noexcept;
  const alert& current() const noexcept { return alert_; }
  const streaming_stop& stop_state() const noexcept { return stop_; }

 private:
  streaming_stop stop_;
  alert alert_;
  bool planned_ = false;  // a fix of the current stop was at a planned stop
};

}  // namespace xiaoxiang
