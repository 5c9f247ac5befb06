// trip_eta: the ETA of one order, a fixed-size value with no heap (the
// engine embeds it in its per-order slot). While Paid it estimates the
// warehouse's remaining processing plus the ride; while Delivering it updates
// on every fix: the expected time of the route still ahead (eta_route, from
// the learned cell speeds), scaled by how this rider is doing now (actual vs
// expected time over its recent progress), plus the hand-over dwell, and
// turned into a median and a P90 by the learned error model. With learning
// on, it also teaches the shared eta_model as the trip goes (speeds per fix
// pair) and at delivery (processing, departure, dwell, detour, errors).
//
// Threading: one trip_eta is used by one thread at a time (the order's
// lock); the eta_model it reads and teaches is shared and lock-free.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/eta/eta_model.hpp"
#include "xiaoxiang/eta/eta_route.hpp"
#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/geo/polyline.hpp"
#include "xiaoxiang/order/event.hpp"

namespace xiaoxiang {

enum class eta_phase : std::uint8_t {
  idle = 0,        // nothing started
  processing = 1,  // Paid: the warehouse is picking
  delivering = 2,  // a rider has the order
  done = 3,        // delivered (or abandoned)
};

// What an update teaches the shared model: everything (online), nothing
// (evaluating held-out trips), or one half of learn_trips' two passes.
enum class eta_learning : std::uint8_t {
  off = 0,          // estimate only
  on = 1,           // speeds, processing, departure, dwell, detour, and the error model
  model_only = 2,   // all but the error model
  errors_only = 3,  // the error model only (of estimates by the model as it is)
  // learn_trips' leave-one-out of the error pass: take back exactly the
  // street speeds this trip's replay added (speeds_taken_back), then add
  // them again (speeds_only); nothing else is learned or unlearned.
  speeds_taken_back = 4,
  speeds_only = 5,
};

class trip_eta {
 public:
  // Paid at `paid_at` at warehouse w, to be ridden from origin to destination.
  // errc::invalid_timestamp ("paidAt"), invalid_longitude / invalid_latitude
  // ("origin" / "destination").
  status_result start_processing(const warehouse_id& w, timestamp_ms paid_at, geo_point origin,
                                 geo_point destination);
  // While processing: time from `now` to delivery (processing still to come,
  // departure, ride by straight line x detour, dwell). Unknown in other phases.
  eta_estimate estimate_processing(const eta_model& model, timestamp_ms now) const noexcept;

  // A rider took the order at `assigned_at` (Delivering). `route` is the
  // planned route built at assignment (eta_route::make), or nullptr: then
  // distances are straight lines x the learned detour. The route must live
  // as long as the delivery. With learning on and a start_processing before,
  // the processing time is learned. errc::invalid_timestamp ("assignedAt"),
  // invalid_longitude / invalid_latitude ("origin" / "destination"),
  // eta_invalid_trip_time ("assignedAt") when before the payment.
  //
  // `stops_along_m`: where on the route the rider hands over its other
  // orders before this one (metres along route->line(), e.g. the projection
  // of each other active order's destination that lies on the route before
  // its end). Each adds a learned dwell until the rider has left it, and the
  // time spent there is not learned as slow street. Up to kMaxStops are
  // kept (the nearest); ignored without a route.
  status_result start_delivery(eta_model& model, timestamp_ms assigned_at, const eta_route* route,
                               geo_point origin, geo_point destination,
                               eta_learning learn = eta_learning::on,
                               std::span<const double> stops_along_m = {});

  // Most intermediate stops a trip_eta keeps.
  static constexpr std::size_t kMaxStops = 4;

  // A live fix of the rider at time t (ms), p its position, `proj` its
  // projection on route->line() (the engine computes it once per fix; pass
  // nullptr when there is no route). Returns the new estimate, seconds from t.
  // Fixes not newer than the last one, invalid points and calls outside the
  // Delivering phase change nothing and return the last estimate. O(1)
  // amortised, no allocation.
  eta_estimate on_fix(eta_model& model, timestamp_ms t, geo_point p, const eta_route* route,
                      const polyline_projection* proj, eta_learning learn = eta_learning::on) noexcept;

  // Delivered at `delivered_at`: with learning on, teaches the model the
  // trip's departure delay, dwell, detour and the errors of the estimates
  // made on the way, then refreshes its cached quantiles. Phase becomes done.
  void finish(eta_model& model, timestamp_ms delivered_at, eta_learning learn = eta_learning::on) noexcept;

  // Abandons the trip (cancelled): nothing is learned at the end.
  void cancel() noexcept { phase_ = eta_phase::done; }

  eta_phase phase() const noexcept { return phase_; }
  // The estimate of the latest update (unknown before the first).
  eta_estimate last() const noexcept { return last_; }
  // The current rider correction: actual / expected time, clamped.
  double rider_factor(const eta_model& model) const noexcept;
  // Metres along the route (or toward the destination) covered so far.
  double progress_m() const noexcept { return progress_m_; }
  bool departed() const noexcept { return departed_; }
  bool arrived() const noexcept { return arrived_; }

 private:
  double expected_remaining_s(const eta_model& model, geo_point p, timestamp_ms t,
                              const eta_route* route) const noexcept;

  eta_phase phase_ = eta_phase::idle;
  bool has_route_ = false;
  bool departed_ = false;
  bool arrived_ = false;
  bool has_fix_ = false;
  std::uint16_t error_recorded_ = 0;  // bit per progress bucket with a recorded estimate
  warehouse_id warehouse_;
  timestamp_ms paid_at_ = -1;
  timestamp_ms assigned_at_ = 0;
  timestamp_ms arrived_at_ = 0;
  timestamp_ms last_t_ = 0;
  geo_point origin_, destination_, last_point_;
  cheap_ruler ruler_{0};       // the trip's local metric (one per trip, not per fix)
  double total_m_ = 0;        // route length, or the straight line at assignment
  double progress_m_ = 0;     // furthest progress so far, metres
  double expected_left_s_ = 0;  // the model's time still to ride at progress_m_ (no rider factor)
  double path_m_ = 0;         // fix-to-fix distance ridden (for the detour)
  double actual_s_ = 0;       // decayed sums of actual and expected seconds of progress
  double expected_s_ = 0;
  std::array<float, kMaxStops> stops_m_{};  // intermediate stops, metres along, ascending
  std::uint8_t stops_ = 0;       // how many
  std::uint8_t next_stop_ = 0;   // the first one not left yet
  std::array<float, eta_progress_buckets> error_raw_s_{};  // raw estimate at each bucket
  std::array<float, eta_progress_buckets> error_at_s_{};   // when it was made, s after assignment
  eta_estimate last_;
};

// A completed trip to learn from, as plain arrays (from storage's records
// and trajectory, a log, or a data frame).
struct completed_trip {
  std::span<const double> stops_along_m;  // other orders handed over on the way (see start_delivery)
  warehouse_id warehouse;           // may be empty (no processing learned)
  timestamp_ms paid_at = -1;        // -1: unknown (no processing learned)
  timestamp_ms assigned_at = 0;     // rider assigned (Delivering)
  timestamp_ms delivered_at = 0;    // delivered; the ETA's target
  std::span<const geo_point> route; // planned route; empty: none
  geo_point origin, destination;    // used when route is empty (else its ends)
  std::span<const position_fix> fixes;  // the rider's fixes, by time; outside
                                        // [assigned_at, delivered_at] ignored
};

// errc::eta_too_few_fixes ("fixes"), eta_unordered_fixes ("fixes"),
// invalid_longitude / invalid_latitude ("fixes", "origin", "destination"),
// invalid_polyline ("route"), invalid_timestamp ("assignedAt"),
// eta_invalid_trip_time ("deliveredAt" before assignment, "paidAt" after it).
status_result check_trip(const completed_trip& trip);

// Teaches the model a completed trip: replays it through a trip_eta with
// learning on (so online and offline learning are one code path).
status_result learn_trip(eta_model& model, const completed_trip& trip);

// Teaches the model a list of completed trips in two passes: first speeds,
// processing, departure, dwell and detour from all of them, then the error
// model from replaying them all with the model so learned — so that the
// errors describe the model that will predict, not the empty one the first
// trips met. In the error pass each trip's own street speeds are taken out
// of the model while it is replayed (and put back after): its errors are
// then those of a trip the model has not seen, as every trip it will
// predict is, not the near-zero errors of predicting its own data. All
// trips are checked first; on an error nothing is learned (check_trip's
// codes; `failed`, when given, receives the trip's index).
status_result learn_trips(eta_model& model, std::span<const completed_trip> trips,
                          std::size_t* failed = nullptr);

// Replays a trip without learning, appending one estimate per fix of
// trip.fixes (unknown for fixes outside [assigned_at, delivered_at]).
// Errors as check_trip.
status_result predict_trip(eta_model& model, const completed_trip& trip, std::vector<eta_estimate>& out);

}  // namespace xiaoxiang
