// anomaly_scoring: how well a detector's alerts match the simulator's ground
// truth — precision, recall and detection delay per alert kind. Used by
// `xiaoxiang anomaly-eval`, the tests and the Python bindings, so that every
// score of the anomaly detectors is computed the same way.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/order/tracking_state.hpp"
#include "xiaoxiang/sim/simulation.hpp"

namespace xiaoxiang {

// One alert as a detector raised it on an order.
struct detected_alert {
  order_id order;
  alert_kind kind = alert_kind::route_deviation;
  timestamp_ms raised_at = 0;  // simulated time at which it was raised (pushed)
};

// How alerts and truth rows are paired. An alert matches a truth row of the
// same order and kind when it is raised within
// [start - early_tolerance, end + late_grace] (end: the row's end, or the
// end of the run while it goes on).
struct scoring_options {
  // Alerts a little before the truth's start still count: the truth is taken
  // on the rider's true position, the detector sees noisy fixes.
  duration_ms early_tolerance_ms = 120'000;
  // A predicted timeout (ETA P90 beyond the promise) may fire any time
  // before the promised time: for delivery_timeout the early tolerance is
  // this instead.
  duration_ms timeout_early_tolerance_ms = 24LL * 3600 * 1000;
  duration_ms late_grace_ms = 120'000;  // alerts this long after the end still count
  timestamp_ms end_of_run = 0;          // the end of ongoing truth rows
  // Rows that began less than this before the end of the run are left out
  // of recall (no detector could have confirmed them yet); alerts matching
  // them still count as true.
  duration_ms min_observable_ms = 6 * 60'000;
};

// The score of one kind.
struct kind_score {
  std::size_t truths = 0;        // truth rows observable long enough (see scoring_options)
  std::size_t found = 0;         // of them, rows matched by at least one alert
  std::size_t alerts = 0;        // alerts raised
  std::size_t true_alerts = 0;   // alerts that match a truth row
  double precision = 1;          // true_alerts / alerts (1 when no alert)
  double recall = 1;             // found / truths (1 when no truth)
  double median_delay_s = 0;     // of found rows: first matching alert - start, at least 0
  double p90_delay_s = 0;
  double max_delay_s = 0;
};

using anomaly_scores = std::array<kind_score, alert_kind_count>;

// Scores `alerts` against `truth`, per kind (index: alert_kind).
anomaly_scores score_alerts(const std::vector<anomaly_truth>& truth,
                            const std::vector<detected_alert>& alerts,
                            const scoring_options& options);

}  // namespace xiaoxiang
