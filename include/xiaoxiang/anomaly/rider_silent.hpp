// rider_silent: alerts when a delivering order's rider sends no position for
// too long; driven by the engine's clock (on each ingest and a periodic
// sweep), cleared by the next live fix.
#pragma once

#include "xiaoxiang/anomaly/alert_update.hpp"
#include "xiaoxiang/core/time.hpp"

namespace xiaoxiang {

// Defaults suit the simulator: its riders report every 15 s and may go
// offline (uploading a batch later, not an anomaly) for up to 4 min, so a
// shorter limit would raise on every offline episode.
struct rider_silent_options {
  duration_ms silent_after_ms = 270'000;   // no fix for this long raises, ms
  duration_ms report_interval_ms = 15'000; // expected period: since = last fix + this, ms
};

// Per-order state: 40 bytes, no heap, O(1). alert value: minutes since the
// latest fix.
class rider_silent_detector {
 public:
  // The order entered Delivering at `now`: the silence clock starts there.
  void start(timestamp_ms now) noexcept;
  // A live fix of the order's rider (device time); clears an active alert.
  // Older fixes (offline batches) count as contact too, if newer than the
  // latest one.
  alert_update on_fix(timestamp_ms fix_ms, timestamp_ms now) noexcept;
  // The engine's clock moved (an ingest or a periodic sweep).
  alert_update on_tick(timestamp_ms now, const rider_silent_options& o = {}) noexcept;
  // The order left Delivering: clears an active alert, stops the clock.
  alert_update stop(timestamp_ms now) noexcept;
  const alert& current() const noexcept { return alert_; }
  bool running() const noexcept { return running_; }

 private:
  alert alert_;
  timestamp_ms last_contact_ms_ = 0;
  bool running_ = false;
};

}  // namespace xiaoxiang
