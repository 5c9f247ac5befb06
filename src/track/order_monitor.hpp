// order_monitor (internal to track/): the ETA and the anomaly detectors of
// one order, kept in the order's slot from payment until it is terminal.
// The tracker calls it under the order's lock at each step of the flow and
// on each fix; every call writes the estimate and the alerts into the
// order's tracking_state and returns the field bits it changed.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "xiaoxiang/anomaly/delivery_timeout.hpp"
#include "xiaoxiang/anomaly/rider_silent.hpp"
#include "xiaoxiang/anomaly/route_deviation.hpp"
#include "xiaoxiang/anomaly/standstill.hpp"
#include "xiaoxiang/eta/eta_model.hpp"
#include "xiaoxiang/eta/eta_route.hpp"
#include "xiaoxiang/eta/trip_eta.hpp"
#include "xiaoxiang/order/event.hpp"
#include "xiaoxiang/order/order.hpp"
#include "xiaoxiang/order/tracking_state.hpp"
#include "xiaoxiang/track/tracker.hpp"

namespace xiaoxiang::detail {

// What the monitors share: the options and the learned model.
struct monitor_context {
  const tracker_options& options;
  eta_model& model;
};

class order_monitor {
 public:
  // Paid, or a picking stage while Paid (`t` the event's time, `now` the
  // engine's clock): the processing estimate.
  std::uint32_t on_processing(const monitor_context& c, const order& row, timestamp_ms t,
                              timestamp_ms now, tracking_state& v);
  // A rider took the order at `t`; `route` is the planned route (may be
  // empty: straight lines). Takes the route's points.
  std::uint32_t on_assigned(const monitor_context& c, const order& row, timestamp_ms t,
                            timestamp_ms now, std::vector<geo_point>&& route, tracking_state& v);
  // A fix of the order's rider. `live`: newer than every fix applied so far
  // (older ones, from offline batches, only count as contact). `at_planned_stop`:
  // the fix is where the rider is expected to stand (a warehouse, a customer).
  // `learns_speeds`: this order teaches the model the street speeds of the
  // fix (one order per rider does, or a rider carrying three orders would
  // count each fix three times).
  std::uint32_t on_fix(const monitor_context& c, const order& row, const position_fix& f, bool live,
                       bool at_planned_stop, bool learns_speeds, timestamp_ms now,
                       tracking_state& v);
  // Delivered (learns from the trip) or cancelled at `t`: every alert clears.
  std::uint32_t on_finished(const monitor_context& c, bool delivered, timestamp_ms t,
                            tracking_state& v);
  // The clock moved: rider silence and lateness.
  std::uint32_t on_tick(const monitor_context& c, const order& row, timestamp_ms now,
                        tracking_state& v);

  // Starts loading this monitor's state and the route around the last
  // projection (hints for the CPU, no effect on results): the tracker calls
  // it as soon as it knows a fix is coming, so that the cache misses of a
  // cold order overlap instead of queueing one after another in on_fix.
  // Takes an address that may be stale and reads nothing through it.
  static void prefetch(const order_monitor* m) noexcept {
    const auto at = reinterpret_cast<std::uintptr_t>(m);
    for (std::size_t line = 0; line < sizeof(order_monitor); line += 64)
      __builtin_prefetch(reinterpret_cast<const void*>(at + line));
  }
  void prefetch_route() const noexcept {
    if (route_) route_->prefetch(hint_segment_);
  }

  // The planned route (empty when none was given or the order is not Delivering).
  const std::vector<geo_point>& route_points() const noexcept;
  bool has_route() const noexcept { return route_.has_value(); }

 private:
  std::uint32_t set_estimate(const monitor_context& c, const eta_estimate& e, timestamp_ms at,
                             tracking_state& v);
  std::uint32_t check_timeout(const monitor_context& c, const order& row, timestamp_ms now,
                              tracking_state& v);

  trip_eta eta_;
  std::optional<eta_route> route_;
  std::size_t hint_segment_ = 0;      // where the last fix projected (the next one starts there)
  timestamp_ms estimate_at_ = -1;     // when the current estimate was made
  double p90_s_ = -1;                 // its P90, seconds from estimate_at_
  route_deviation_detector deviation_;
  standstill_detector standstill_;
  delivery_timeout_detector timeout_;
  timestamp_ms timeout_clock_ = 0;    // latest "now" the timeout detector saw
  rider_silent_detector silent_;
};

}  // namespace xiaoxiang::detail
