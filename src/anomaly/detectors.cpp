// The per-order detectors the engine runs on every update: route deviation,
// standstill, delivery timeout, rider silent. Each is a small fixed-size
// state machine with hysteresis; see docs/anomaly.md for the rules.
#include <cmath>

#include "xiaoxiang/anomaly/delivery_timeout.hpp"
#include "xiaoxiang/anomaly/rider_silent.hpp"
#include "xiaoxiang/anomaly/route_deviation.hpp"
#include "xiaoxiang/anomaly/standstill.hpp"

namespace xiaoxiang {
namespace {
constexpr double kMsPerMinute = 60'000.0;

double minutes(duration_ms d) noexcept { return static_cast<double>(d) / kMsPerMinute; }

alert_update unchanged(const alert& a) noexcept { return {alert_change::none, a}; }
}  // namespace

// ---- route deviation ----

alert_update route_deviation_detector::observe(timestamp_ms t, double distance_m,
                                               const route_deviation_options& o) noexcept {
  if (!(distance_m >= 0) || !std::isfinite(distance_m)) return unchanged(alert_);
  if (last_ms_ >= 0 && t < last_ms_) return unchanged(alert_);
  last_ms_ = t;
  if (!alert_.active) {
    if (!(distance_m > o.raise_m)) {
      beyond_since_ms_ = -1;
      return unchanged(alert_);
    }
    if (beyond_since_ms_ < 0) beyond_since_ms_ = t;
    if (t - beyond_since_ms_ < o.raise_after_ms) return unchanged(alert_);
    alert_ = {true, beyond_since_ms_, distance_m};
    within_since_ms_ = -1;
    return {alert_change::raised, alert_};
  }
  alert_.value = distance_m;
  if (!(distance_m < o.clear_m)) {
    within_since_ms_ = -1;
    return unchanged(alert_);
  }
  if (within_since_ms_ < 0) within_since_ms_ = t;
  if (t - within_since_ms_ < o.clear_after_ms) return unchanged(alert_);
  alert_.active = false;
  beyond_since_ms_ = within_since_ms_ = -1;
  return {alert_change::cleared, alert_};
}

alert_update route_deviation_detector::reset() noexcept {
  const bool was_active = alert_.active;
  alert_.active = false;
  beyond_since_ms_ = within_since_ms_ = last_ms_ = -1;
  return {was_active ? alert_change::cleared : alert_change::none, alert_};
}

// ---- standstill ----

alert_update standstill_detector::observe(timestamp_ms t, geo_point p, bool at_planned_stop,
                                          const standstill_options& o) noexcept {
  streaming_stop_options so = o.stop;
  so.min_duration_ms = 0;  // every candidate is a stop; the limits below decide the alert
  const timestamp_ms candidate_before = stop_.has_candidate() ? stop_.candidate_start_ms() : -1;
  const auto transition = stop_.observe(t, p, so);
  alert_update out{alert_change::none, alert_};
  if (transition == streaming_stop::transition::ended && alert_.active) {
    alert_.active = false;
    alert_.value = minutes(stop_.last_stop_end_ms() - stop_.last_stop_start_ms());
    out = {alert_change::cleared, alert_};
  }
  if (!stop_.has_candidate() || stop_.last_inside_ms() != t) return out;  // outliers decide nothing
  // A stop is planned when any of its fixes was where stopping is expected:
  // decided on the fixes inside, not on the one that leaves.
  if (stop_.candidate_start_ms() != candidate_before) planned_ = false;
  planned_ = planned_ || at_planned_stop;
  const duration_ms stopped_for = t - stop_.candidate_start_ms();
  if (alert_.active) {
    alert_.value = minutes(stopped_for);
    return out;
  }
  const duration_ms limit = planned_ ? o.raise_after_at_planned_stop_ms : o.raise_after_ms;
  if (out.change == alert_change::none && stopped_for >= limit && stop_.candidate_fixes() >= 2) {
    alert_ = {true, stop_.candidate_start_ms(), minutes(stopped_for)};
    return {alert_change::raised, alert_};
  }
  return out;
}

alert_update standstill_detector::reset() noexcept {
  const bool was_active = alert_.active;
  stop_ = streaming_stop{};
  planned_ = false;
  alert_.active = false;
  return {was_active ? alert_change::cleared : alert_change::none, alert_};
}

// ---- delivery timeout ----

alert_update delivery_timeout_detector::observe(timestamp_ms now, timestamp_ms promised_ms,
                                                timestamp_ms p90_arrival_ms,
                                                const delivery_timeout_options& o) noexcept {
  promised_ms_ = promised_ms;
  if (now > promised_ms) {
    const double late_minutes = minutes(now - promised_ms);
    if (!alert_.active) {
      alert_ = {true, promised_ms, late_minutes};
      late_ = true;
      return {alert_change::raised, alert_};
    }
    alert_.value = late_minutes;
    if (late_) return unchanged(alert_);
    late_ = true;  // the warning came true: same episode, now measured in minutes late
    return {alert_change::updated, alert_};
  }
  if (late_) {  // the promise moved later than now
    alert_.active = late_ = false;
    return {alert_change::cleared, alert_};
  }
  if (p90_arrival_ms < 0) return unchanged(alert_);
  const double predicted_minutes = minutes(p90_arrival_ms - promised_ms);
  if (!alert_.active) {
    if (p90_arrival_ms <= promised_ms + o.warn_margin_ms) return unchanged(alert_);
    alert_ = {true, now, -predicted_minutes};
    return {alert_change::raised, alert_};
  }
  // Negative means "predicted late": while the warning holds within the
  // hysteresis band with the P90 back before the promise, it stays at
  // -0 rather than turning positive, which would read as minutes late.
  alert_.value = -std::max(predicted_minutes, 0.0);
  if (p90_arrival_ms >= promised_ms - o.warn_clear_margin_ms) return unchanged(alert_);
  alert_.active = false;
  return {alert_change::cleared, alert_};
}

alert_update delivery_timeout_detector::finish(timestamp_ms now) noexcept {
  if (!alert_.active) return unchanged(alert_);
  if (late_) alert_.value = minutes(now - promised_ms_);
  alert_.active = late_ = false;
  return {alert_change::cleared, alert_};
}

// ---- rider silent ----

void rider_silent_detector::start(timestamp_ms now) noexcept {
  alert_ = {};
  last_contact_ms_ = now;
  running_ = true;
}

alert_update rider_silent_detector::on_fix(timestamp_ms fix_ms, timestamp_ms now) noexcept {
  if (!running_) return unchanged(alert_);
  const timestamp_ms before = last_contact_ms_;
  if (fix_ms > last_contact_ms_) last_contact_ms_ = fix_ms;
  if (!alert_.active || fix_ms <= before) return unchanged(alert_);
  alert_.active = false;
  alert_.value = minutes(now - before);
  return {alert_change::cleared, alert_};
}

alert_update rider_silent_detector::on_tick(timestamp_ms now,
                                            const rider_silent_options& o) noexcept {
  if (!running_) return unchanged(alert_);
  const duration_ms silent_for = now - last_contact_ms_;
  if (alert_.active) {
    alert_.value = minutes(silent_for);
    return unchanged(alert_);
  }
  if (silent_for < o.silent_after_ms) return unchanged(alert_);
  const timestamp_ms first_missed = last_contact_ms_ + o.report_interval_ms;
  alert_ = {true, first_missed < now ? first_missed : now, minutes(silent_for)};
  return {alert_change::raised, alert_};
}

alert_update rider_silent_detector::stop(timestamp_ms now) noexcept {
  running_ = false;
  if (!alert_.active) return unchanged(alert_);
  alert_.active = false;
  alert_.value = minutes(now - last_contact_ms_);
  return {alert_change::cleared, alert_};
}

}  // namespace xiaoxiang
