// eta_model: everything the ETA learns from completed trips, shared by every
// order of a tracker — warehouse processing time (Paid -> picked up) per
// warehouse and time-of-day bucket, travel speed per cell (speed_model), the
// rider's departure delay and hand-over dwell, the detour factor of streets
// over straight lines, and the error model that turns a point estimate into
// a median and a P90 by trip progress. Learning is online (trip_eta feeds it
// fix by fix and at delivery) or offline (learn_trip in trip_eta.hpp, from a
// list of completed trips). Thread-safe: any number of threads may learn and
// estimate at once, lock-free; nothing is allocated per observation except
// the first time a warehouse is seen.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/eta/quantile_sketch.hpp"
#include "xiaoxiang/eta/speed_model.hpp"

namespace xiaoxiang {

// Buckets of trip progress (share of the route covered) of the error model.
inline constexpr int eta_progress_buckets = 10;

struct eta_model_options {
  speed_model_options speed;             // cells, buckets, fallback weights
  std::size_t warehouses = 1024;         // most warehouses learned separately; beyond it, city-wide only
  int processing_bucket_minutes = 60;    // time-of-day buckets of processing time, minutes
  double default_processing_s = 600;     // processing time before anything was learned, seconds
  double default_departure_s = 60;       // rider's delay from assignment to moving, seconds
  double default_dwell_s = 60;           // from arrival at the customer to delivery, seconds
  double default_detour = 1.3;           // street distance / straight-line distance, before learning
  double default_p90_ratio = 1.35;       // P90 / median before the error model has samples
  std::uint64_t min_error_samples = 20;  // samples a progress bucket needs before it is used alone
  double depart_radius_m = 40;           // a rider this far along (or from the start) has left
  double arrive_radius_m = 40;           // this close to the end (remaining), it has arrived
  double max_gap_s = 120;                // fix pairs further apart are not learned from (offline rider)
  double rider_memory_s = 600;           // time constant of "how this rider is doing now", seconds
  // Expected seconds of progress before the rider's own pace counts as much
  // as the model. Large on purpose: on the simulator and the bus trips a
  // quicker correction did worse (docs/eta.md), stops being what they are.
  double rider_prior_s = 1800;
  double rider_moving_mps = 0;           // fix pairs slower than this (stops) do not count in it, m/s
  double rider_factor_min = 0.5;         // the rider correction is clamped to [min, max]
  double rider_factor_max = 2.5;
};

// A median and a P90, in seconds from now; negative when unknown.
struct eta_estimate {
  double median_s = -1;
  double p90_s = -1;
  bool known() const noexcept { return median_s >= 0; }
};

// The error model's correction at one progress bucket: actual / raw estimate.
struct eta_calibration {
  double median_ratio = 1;  // multiply a raw estimate by this for the median
  double p90_ratio = 1.35;  // ... and by this for the P90 (>= median_ratio)
};

class eta_model {
 public:
  // errc::eta_invalid_option naming the option ("speed.fineCellBits", ...).
  static result<std::unique_ptr<eta_model>> make(const eta_model_options& options = {});
  static status_result check_options(const eta_model_options& options);
  ~eta_model();
  eta_model(const eta_model&) = delete;
  eta_model& operator=(const eta_model&) = delete;

  const eta_model_options& options() const noexcept { return options_; }
  speed_model& speeds() noexcept { return speeds_; }
  const speed_model& speeds() const noexcept { return speeds_; }

  // --- learning (called by trip_eta; also usable alone) ---
  // A processing time (paid -> picked up), seconds, at warehouse w, paid at t.
  void observe_processing(const warehouse_id& w, timestamp_ms paid_at, double seconds);
  // Delay from assignment to the rider moving, seconds.
  void observe_departure(double seconds) noexcept;
  // From arrival at the customer to delivery, seconds.
  void observe_dwell(double seconds) noexcept;
  // A trip's travelled path and its straight line start -> end, metres.
  void observe_detour(double path_m, double straight_m) noexcept;
  // actual / raw estimate at a progress bucket (0 .. eta_progress_buckets - 1).
  void observe_error(int progress_bucket, double ratio) noexcept;
  // Recomputes the cached quantiles read on every fix (calibration(),
  // departure_s(), dwell_s(), detour()); trip_eta calls it at each delivery.
  void refresh() noexcept;

  // --- what was learned ---
  // Remaining processing at warehouse w for an order paid at `paid_at`, `now`
  // being later: median and P90 of the learned distribution conditioned on
  // having taken (now - paid_at) already, seconds. Defaults when unknown.
  eta_estimate processing_remaining(const warehouse_id& w, timestamp_ms paid_at,
                                    timestamp_ms now) const noexcept;
  // Median departure delay / dwell, seconds (cached at refresh()).
  double departure_s() const noexcept { return departure_s_.load(std::memory_order_relaxed); }
  double dwell_s() const noexcept { return dwell_s_.load(std::memory_order_relaxed); }
  // Remaining departure delay / dwell, knowing `elapsed_s` passed already.
  double departure_remaining_s(double elapsed_s) const noexcept;
  double dwell_remaining_s(double elapsed_s) const noexcept;
  // Street distance / straight-line distance (cached at refresh()).
  double detour() const noexcept { return detour_.load(std::memory_order_relaxed); }
  // The error model at a progress bucket (cached at refresh()).
  eta_calibration calibration(int progress_bucket) const noexcept;
  // The error model at a progress share (0..1), interpolated between the
  // buckets' centres so that the estimate does not jump at a bucket border.
  eta_calibration calibration_at(double progress) const noexcept;
  // Samples of the error model at a bucket (bucket < 0: all buckets).
  std::uint64_t error_samples(int progress_bucket) const noexcept;
  // Trips whose delivery was learned (trip_eta::finish with learning on).
  std::uint64_t trips_learned() const noexcept { return trips_.load(std::memory_order_relaxed); }
  void count_trip() noexcept { trips_.fetch_add(1, std::memory_order_relaxed); }

 private:
  explicit eta_model(const eta_model_options& options);
  struct warehouse_entry;
  warehouse_entry* warehouse(const warehouse_id& w, bool insert) const;
  int processing_bucket(timestamp_ms t) const noexcept;

  eta_model_options options_;
  speed_model speeds_;
  int processing_buckets_;
  std::size_t warehouse_mask_;
  std::unique_ptr<std::atomic<warehouse_entry*>[]> warehouses_;
  quantile_sketch processing_all_{1, 14400};  // every warehouse: the fallback
  quantile_sketch departure_{1, 3600};
  quantile_sketch dwell_{1, 3600};
  std::atomic<std::uint64_t> path_dm_{0}, straight_dm_{0};
  std::array<std::unique_ptr<quantile_sketch>, eta_progress_buckets + 1> errors_;
  std::array<std::atomic<double>, eta_progress_buckets + 1> median_ratio_;
  std::array<std::atomic<double>, eta_progress_buckets + 1> p90_ratio_;
  std::atomic<double> departure_s_, dwell_s_, detour_;
  std::atomic<std::uint64_t> trips_{0};
};

}  // namespace xiaoxiang
