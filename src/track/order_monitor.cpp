#include "order_monitor.hpp"

#include <cmath>
#include <limits>

namespace xiaoxiang::detail {
namespace {

// Writes a detector's change into the watcher's view.
// The value may move while nothing else changes (metres off, minutes
// stopped): that goes out with the next message that has the alerts key.
std::uint32_t apply(const alert_update& u, alert_kind kind, tracking_state& v) {
  v.alerts[static_cast<std::size_t>(kind)] = u.current;
  return u.change == alert_change::none ? 0 : field::alerts;
}

std::int32_t seconds(double s) {
  if (!(s >= 0)) return -1;
  return static_cast<std::int32_t>(std::min(std::round(s), 2.0e9));
}

const std::vector<geo_point> kNoRoute;

}  // namespace

std::uint32_t order_monitor::set_estimate(const monitor_context& c, const eta_estimate& e,
                                          timestamp_ms at, tracking_state& v) {
  if (!c.options.eta || !e.known()) return 0;
  estimate_at_ = at;
  p90_s_ = e.p90_s;
  const std::int32_t median = seconds(e.median_s);
  const std::int32_t p90 = std::max(median, seconds(e.p90_s));
  if (median == v.eta_seconds && p90 == v.eta_p90_seconds) return 0;
  v.eta_seconds = median;
  v.eta_p90_seconds = p90;
  return field::eta;
}

std::uint32_t order_monitor::check_timeout(const monitor_context& c, const order& row,
                                           timestamp_ms now, tracking_state& v) {
  if (!c.options.detectors || row.promised_time <= 0) return 0;
  // Events carry device times and arrive late or out of order; lateness is
  // judged on the engine's clock, which never goes back for this check.
  now = timeout_clock_ = std::max(timeout_clock_, now);
  const timestamp_ms p90_arrival =
      estimate_at_ >= 0 && p90_s_ >= 0 ? estimate_at_ + static_cast<timestamp_ms>(p90_s_ * 1000.0) : -1;
  return apply(timeout_.observe(now, row.promised_time, p90_arrival, c.options.delivery_timeout),
               alert_kind::delivery_timeout, v);
}

std::uint32_t order_monitor::on_processing(const monitor_context& c, const order& row,
                                           timestamp_ms t, timestamp_ms now, tracking_state& v) {
  if (eta_.phase() == eta_phase::idle)
    (void)eta_.start_processing(row.warehouse, t, row.origin, row.destination);
  std::uint32_t changed = 0;
  if (eta_.phase() == eta_phase::processing)
    changed |= set_estimate(c, eta_.estimate_processing(c.model, t), t, v);
  return changed | check_timeout(c, row, std::max(now, t), v);
}

std::uint32_t order_monitor::on_assigned(const monitor_context& c, const order& row, timestamp_ms t,
                                         timestamp_ms now, std::vector<geo_point>&& route,
                                         tracking_state& v) {
  route_.reset();
  hint_segment_ = 0;
  if (route.size() >= 2) {
    if (auto r = eta_route::make(c.model, std::move(route), t)) route_.emplace(std::move(*r));
  }
  const eta_learning learn = c.options.eta_learning ? eta_learning::on : eta_learning::off;
  (void)eta_.start_delivery(c.model, t, route_ ? &*route_ : nullptr, row.origin, row.destination,
                            learn);
  std::uint32_t changed = 0;
  if (c.options.detectors) {
    changed |= apply(deviation_.reset(), alert_kind::route_deviation, v);
    changed |= apply(standstill_.reset(), alert_kind::standstill, v);
    silent_.start(t);
  }
  // The processing estimate stands until the rider's first fix.
  return changed | check_timeout(c, row, std::max(now, t), v);
}

std::uint32_t order_monitor::on_fix(const monitor_context& c, const order& row,
                                    const position_fix& f, bool live, bool at_planned_stop,
                                    bool learns_speeds, timestamp_ms now, tracking_state& v) {
  std::uint32_t changed = 0;
  if (c.options.detectors) changed |= apply(silent_.on_fix(f.time, now), alert_kind::rider_silent, v);
  if (!live) return changed;
  if (eta_.phase() != eta_phase::delivering) {
    // Recovered after a restart: the planned route is not stored, so the
    // estimate goes on by straight lines from here.
    (void)eta_.start_delivery(c.model, f.time, nullptr, row.origin, row.destination,
                              eta_learning::off);
    if (c.options.detectors && !silent_.running()) silent_.start(f.time);
  }
  polyline_projection proj;
  const polyline_projection* projected = nullptr;
  if (route_) {
    proj = route_->line().project(f.point, projection_hint{hint_segment_});
    // A hinted projection looks ahead only: after a gap (offline) or where
    // the route loops it may miss the nearest part, so a fix that seems off
    // the route is projected on the whole route before it counts.
    if (proj.distance_m > c.options.route_deviation.clear_m) proj = route_->line().project(f.point);
    hint_segment_ = proj.segment > 0 ? proj.segment - 1 : 0;
    projected = &proj;
  }
  const eta_learning learn = !c.options.eta_learning ? eta_learning::off
                             : learns_speeds          ? eta_learning::on
                                                      : eta_learning::errors_only;
  const eta_estimate e = eta_.on_fix(c.model, f.time, f.point, route_ ? &*route_ : nullptr,
                                     projected, learn);
  changed |= set_estimate(c, e, f.time, v);
  if (c.options.detectors) {
    if (projected)
      changed |= apply(deviation_.observe(f.time, proj.distance_m, c.options.route_deviation),
                       alert_kind::route_deviation, v);
    changed |= apply(standstill_.observe(f.time, f.point, at_planned_stop, c.options.standstill),
                     alert_kind::standstill, v);
  }
  return changed | check_timeout(c, row, std::max(now, f.time), v);
}

std::uint32_t order_monitor::on_finished(const monitor_context& c, bool delivered, timestamp_ms t,
                                         tracking_state& v) {
  if (delivered && eta_.phase() == eta_phase::delivering)
    eta_.finish(c.model, t, c.options.eta_learning ? eta_learning::on : eta_learning::off);
  else
    eta_.cancel();
  route_.reset();
  std::uint32_t changed = 0;
  if (c.options.eta && (v.eta_seconds != -1 || v.eta_p90_seconds != -1)) {
    v.eta_seconds = v.eta_p90_seconds = -1;
    changed |= field::eta;
  }
  if (c.options.detectors) {
    changed |= apply(deviation_.reset(), alert_kind::route_deviation, v);
    changed |= apply(standstill_.reset(), alert_kind::standstill, v);
    changed |= apply(timeout_.finish(t), alert_kind::delivery_timeout, v);
    changed |= apply(silent_.stop(t), alert_kind::rider_silent, v);
    // A terminal order shows no active alert: the last episode's details
    // went out with the clearing message.
    for (alert& a : v.alerts) a.active = false;
  }
  return changed;
}

std::uint32_t order_monitor::on_tick(const monitor_context& c, const order& row, timestamp_ms now,
                                     tracking_state& v) {
  if (!c.options.detectors) return 0;
  std::uint32_t changed = 0;
  if (row.status == order_status::delivering)
    changed |= apply(silent_.on_tick(now, c.options.rider_silent), alert_kind::rider_silent, v);
  return changed | check_timeout(c, row, now, v);
}

const std::vector<geo_point>& order_monitor::route_points() const noexcept {
  return route_ ? route_->line().points() : kNoRoute;
}

}  // namespace xiaoxiang::detail
