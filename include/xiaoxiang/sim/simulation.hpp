// simulation: a deterministic front-warehouse grocery city that emits the
// events a host's queue would carry — orders through their whole flow,
// riders reporting every 15 s, at-least-once delivery, GPS noise, offline
// batches — plus injected anomalies with their ground truth (docs/sim.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/order/event.hpp"
#include "xiaoxiang/order/tracking_state.hpp"
#include "xiaoxiang/sim/city_map.hpp"

namespace xiaoxiang {

// Parameters of a simulation. Rates are probabilities per item unless the
// name says otherwise; durations in milliseconds, distances in metres.
struct sim_options {
  std::uint64_t seed = 1;                  // same seed and options, same event stream
  int warehouses = 4;                      // front warehouses (city_options::warehouses)
  int riders = 50;                         // spread evenly over the warehouses
  double orders_per_rider_hour = 2.5;      // demand; a rider can do about 4 an hour
  timestamp_ms start = 1'764'036'000'000;  // 2025-11-25 10:00 in Beijing (UTC+8)
  duration_ms report_interval_ms = 15'000; // each rider reports its position this often
  double gps_noise_m = 5;                  // standard deviation of each axis of a fix
  double coordinate_step_deg = 1e-7;       // fixes are rounded to this (1e-7 deg ~ 1 cm)
  duration_ms queue_latency_min_ms = 20;   // queue delay of an event, uniform in [min, max]
  duration_ms queue_latency_max_ms = 300;
  double duplicate_rate = 0.01;            // an event is delivered twice (same eventId)
  duration_ms duplicate_delay_max_ms = 3'000;  // the copy comes up to this much later
  double drop_rate = 0.01;                 // a position report is never sent
  double late_fix_rate = 0.002;            // a position arrives after the rider's next one
  double offline_per_rider_hour = 0.3;     // a delivering rider loses the network...
  duration_ms offline_min_ms = 60'000;     // ...for this long (uniform), caching fixes,
  duration_ms offline_max_ms = 240'000;    // then uploads them as one position_batch
  duration_ms batch_upload_delay_max_ms = 10'000;  // the batch arrives after the live fix
  double cancel_unpaid_rate = 0.03;        // cancelled from PendingPayment
  double cancel_paid_rate = 0.02;          // cancelled from Paid (while picking)
  double cancel_delivering_rate = 0.01;    // cancelled from Delivering
  duration_ms promise_min_ms = 35 * 60'000;  // promised delivery after creation, uniform
  duration_ms promise_max_ms = 45 * 60'000;
  // Injected anomalies (docs/sim.md): per trip, except timeouts (per order).
  double route_deviation_rate = 0.02;      // the rider takes a detour off the planned route
  double standstill_rate = 0.02;           // the rider stops mid-route...
  duration_ms standstill_min_ms = 8 * 60'000;   // ...for this long (uniform)
  duration_ms standstill_max_ms = 15 * 60'000;
  double silent_rate = 0.01;               // the rider's app goes silent (no batch later)...
  duration_ms silent_min_ms = 6 * 60'000;  // ...for this long (uniform)
  duration_ms silent_max_ms = 12 * 60'000;
  double timeout_rate = 0.02;              // picking stalls so the order misses its promise
  double deviation_truth_m = 100;          // off-route distance that counts as a deviation
  city_options city;                       // seed and warehouses are taken from above
};

// One item of the queue: when the queue hands it over, and the event.
struct sim_event {
  timestamp_ms delivered_at = 0;  // queue delivery time (>= ev.time; later for batches)
  event ev;
};

// An injected (or, for delivery_timeout, also a natural) anomaly.
struct anomaly_truth {
  order_id order;
  rider_id rider;               // empty when no rider was assigned yet
  alert_kind kind = alert_kind::route_deviation;
  timestamp_ms start_ms = 0;    // when it began (see docs/sim.md per kind)
  timestamp_ms end_ms = -1;     // when it ended; -1 while still going on
};

// What was emitted, and what was injected on purpose, so that tests can
// match an engine's rejection counts exactly. Counted at emission.
struct sim_counters {
  std::uint64_t events = 0;              // items emitted, duplicates included
  std::uint64_t positions = 0;           // rider_position items, duplicates included
  std::uint64_t duplicates = 0;          // items whose eventId was emitted before
  std::uint64_t duplicate_positions = 0; // of which rider_position
  std::uint64_t late_fixes = 0;          // positions emitted after the rider's next position
  std::uint64_t batches = 0;             // position_batch items (first deliveries)
  std::uint64_t batch_fixes = 0;         // fixes in them; each older than the rider's live fix
  std::uint64_t dropped_fixes = 0;       // reports never sent (drop_rate)
  std::uint64_t silent_fixes = 0;        // reports not sent while a rider was silent
  std::uint64_t orders_created = 0;      // first deliveries, per kind
  std::uint64_t orders_paid = 0;
  std::uint64_t picking_stages = 0;
  std::uint64_t riders_assigned = 0;
  std::uint64_t orders_delivered = 0;
  std::uint64_t orders_cancelled = 0;
};

// The kind's name in ground_truth.csv: "route_deviation", "standstill",
// "delivery_timeout", "rider_silent".
const char* anomaly_kind_name(alert_kind k) noexcept;

// Appends one line of events.jsonl: the event's JSON (event_to_json) with a
// leading "deliveredAt" key, and a newline. Decoders ignore the extra key.
void append_jsonl(const sim_event& item, std::string& out);

// Appends ground_truth.csv: a header "order_id,rider_id,kind,start_ms,end_ms"
// and one row per anomaly; end_ms is empty while the anomaly goes on.
void append_ground_truth_csv(const std::vector<anomaly_truth>& truth, std::string& out);

class simulation {
 public:
  explicit simulation(const sim_options& options);
  ~simulation();
  simulation(simulation&&) noexcept;
  simulation& operator=(simulation&&) noexcept;

  // Advances the clock by dt (> 0) and appends the items the queue delivers
  // in (now, now + dt], in delivery order. The stream does not depend on how
  // the time is cut into steps. Returns true (the city never closes).
  bool step(duration_ms dt, std::vector<sim_event>& out);

  const sim_options& options() const noexcept;
  const city_map& city() const noexcept;
  // Anomalies begun so far, in the order they began.
  const std::vector<anomaly_truth>& ground_truth() const noexcept;
  const sim_counters& counters() const noexcept;
  // The simulated clock: end of the last step, ms since epoch.
  timestamp_ms now() const noexcept;
  // The rider ids, "R0" .. ("R" + riders - 1).
  rider_id rider_name(std::size_t index) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace xiaoxiang
