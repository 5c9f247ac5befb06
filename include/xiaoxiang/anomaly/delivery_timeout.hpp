// delivery_timeout: alerts when an order is late (now past the promised
// time) and warns early when the ETA's P90 arrival passes the promised time.
#pragma once

#include "xiaoxiang/anomaly/alert_update.hpp"
#include "xiaoxiang/core/time.hpp"

namespace xiaoxiang {

struct delivery_timeout_options {
  // Warn when the P90 arrival is later than promised + this, ms.
  duration_ms warn_margin_ms = 0;
  // A warning clears once the P90 arrival is earlier than promised - this, ms
  // (hysteresis: an ETA hovering at the promise does not flap).
  duration_ms warn_clear_margin_ms = 120'000;
};

// Per-order state: 40 bytes, no heap, O(1). alert value: minutes late
// (now - promised) once late; while only predicted, minus the minutes the
// P90 arrival is past the promise (e.g. -4.5: predicted 4.5 min late).
// `since`: when the warning or the lateness started.
class delivery_timeout_detector {
 public:
  // On every update of the order (and on a periodic sweep): the time now, the
  // promised delivery time and the ETA's P90 arrival time (ms since epoch;
  // -1 when no ETA is known, which keeps a warning as it is).
  alert_update observe(timestamp_ms now, timestamp_ms promised_ms, timestamp_ms p90_arrival_ms,
                       const delivery_timeout_options& o = {}) noexcept;
  // Delivered or cancelled: clears an active alert (value: final minutes late).
  alert_update finish(timestamp_ms now) noexcept;
  const alert& current() const noexcept { return alert_; }
  bool late() const noexcept { return late_; }  // active and past the promise (not only predicted)

 private:
  alert alert_;
  timestamp_ms promised_ms_ = 0;
  bool late_ = false;
};

}  // namespace xiaoxiang
