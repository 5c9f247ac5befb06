#include "xiaoxiang/eta/trip_eta.hpp"

#include <algorithm>
#include <cmath>

#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {

constexpr timestamp_ms kMaxTimestamp = 16'725'225'600'000;  // year 2500, as core's check

// Beyond this distance from the hinted projection, replay projects on the
// whole route (metres): GPS noise stays well below it.
constexpr double kRescanM = 30;

bool teaches_model(eta_learning l) { return l == eta_learning::on || l == eta_learning::model_only; }
bool teaches_errors(eta_learning l) { return l == eta_learning::on || l == eta_learning::errors_only; }
// Whether the update adds (or, speeds_taken_back, subtracts) street speeds.
bool touches_speeds(eta_learning l) {
  return teaches_model(l) || l == eta_learning::speeds_only || l == eta_learning::speeds_taken_back;
}

bool valid_time(timestamp_ms t) { return t >= 0 && t <= kMaxTimestamp; }

status_result check_endpoint(geo_point p, const char* field) {
  if (const errc e = check_point(p); e != errc::ok) return {e, field};
  return {};
}

double distance_m(geo_point a, geo_point b) { return cheap_ruler((a.lat + b.lat) * 0.5).distance_m(a, b); }

// Seconds to ride the straight line a -> b stretched by the detour factor,
// at the learned speeds of up to 8 cells along it.
double straight_time_s(const eta_model& model, geo_point a, geo_point b, timestamp_ms t) {
  const double d = distance_m(a, b);
  if (d <= 0) return 0;
  const int n = std::clamp(static_cast<int>(std::ceil(d / 250)), 1, 8);
  double s = 0;
  for (int k = 0; k < n; ++k) {
    const double f = (k + 0.5) / n;
    const geo_point m{a.lon + (b.lon - a.lon) * f, a.lat + (b.lat - a.lat) * f};
    s += 1.0 / model.speeds().speed_mps(m, t);
  }
  return d * model.detour() * s / n;
}

int progress_bucket(double progress_m, double total_m) {
  if (!(total_m > 0)) return 0;
  return std::clamp(static_cast<int>(progress_m / total_m * eta_progress_buckets), 0,
                    eta_progress_buckets - 1);
}

}  // namespace

status_result trip_eta::start_processing(const warehouse_id& w, timestamp_ms paid_at, geo_point origin,
                                         geo_point destination) {
  if (!valid_time(paid_at)) return {errc::invalid_timestamp, "paidAt"};
  if (auto s = check_endpoint(origin, "origin"); !s) return s;
  if (auto s = check_endpoint(destination, "destination"); !s) return s;
  *this = trip_eta{};
  phase_ = eta_phase::processing;
  warehouse_ = w;
  paid_at_ = paid_at;
  origin_ = origin;
  destination_ = destination;
  return {};
}

eta_estimate trip_eta::estimate_processing(const eta_model& model, timestamp_ms now) const noexcept {
  if (phase_ != eta_phase::processing) return {};
  const eta_estimate proc = model.processing_remaining(warehouse_, paid_at_, now);
  const double depart = model.departure_s();
  const timestamp_ms leave = now + static_cast<timestamp_ms>((proc.median_s + depart) * 1000);
  const double ride = straight_time_s(model, origin_, destination_, leave);
  const eta_calibration cal = model.calibration(0);
  const double ride_m = (ride + model.dwell_s()) * cal.median_ratio;
  const double ride_p90 = (ride + model.dwell_s()) * cal.p90_ratio;
  const double median = proc.median_s + depart + ride_m;
  // The two spreads are nearly independent: add them in quadrature.
  const double a = proc.p90_s - proc.median_s, b = ride_p90 - ride_m;
  return {median, median + std::sqrt(a * a + b * b)};
}

status_result trip_eta::start_delivery(eta_model& model, timestamp_ms assigned_at, const eta_route* route,
                                       geo_point origin, geo_point destination, eta_learning learn,
                                       std::span<const double> stops_along_m) {
  if (!valid_time(assigned_at)) return {errc::invalid_timestamp, "assignedAt"};
  if (route != nullptr) {
    origin = route->line().points().front();
    destination = route->line().points().back();
  }
  if (auto s = check_endpoint(origin, "origin"); !s) return s;
  if (auto s = check_endpoint(destination, "destination"); !s) return s;
  const bool had_payment = phase_ == eta_phase::processing && paid_at_ >= 0;
  if (had_payment && assigned_at < paid_at_) return {errc::eta_invalid_trip_time, "assignedAt"};
  if (had_payment && teaches_model(learn))
    model.observe_processing(warehouse_, paid_at_, static_cast<double>(assigned_at - paid_at_) / 1000.0);
  const warehouse_id w = warehouse_;
  const timestamp_ms paid = paid_at_;
  *this = trip_eta{};
  warehouse_ = w;
  paid_at_ = paid;
  phase_ = eta_phase::delivering;
  has_route_ = route != nullptr;
  assigned_at_ = assigned_at;
  last_t_ = assigned_at;
  origin_ = origin;
  destination_ = destination;
  ruler_ = has_route_ ? route->line().ruler() : cheap_ruler((origin.lat + destination.lat) * 0.5);
  total_m_ = has_route_ ? route->length_m() : distance_m(origin, destination);
  if (has_route_) {
    for (const double along : stops_along_m)
      if (along > 0 && along < total_m_ - model.options().arrive_radius_m && stops_ < kMaxStops)
        stops_m_[stops_++] = static_cast<float>(along);
    std::sort(stops_m_.begin(), stops_m_.begin() + stops_);
  }
  expected_left_s_ = has_route_ ? route->total_s() : straight_time_s(model, origin, destination, assigned_at);
  const double raw = model.departure_s() + expected_left_s_ + model.dwell_s() * (1 + stops_);
  const eta_calibration cal = model.calibration(0);
  last_ = {raw * cal.median_ratio, raw * cal.p90_ratio};
  return {};
}

double trip_eta::expected_remaining_s(const eta_model& model, geo_point p, timestamp_ms t,
                                      const eta_route* route) const noexcept {
  if (route != nullptr) return route->total_s() - route->time_at_along(progress_m_);
  return straight_time_s(model, p, destination_, t);
}

double trip_eta::rider_factor(const eta_model& model) const noexcept {
  const eta_model_options& o = model.options();
  const double k = o.rider_prior_s;
  return std::clamp((actual_s_ + k) / (expected_s_ + k), o.rider_factor_min, o.rider_factor_max);
}

eta_estimate trip_eta::on_fix(eta_model& model, timestamp_ms t, geo_point p, const eta_route* route,
                              const polyline_projection* proj, eta_learning learn) noexcept {
  if (phase_ != eta_phase::delivering || (t <= last_t_ && has_fix_) || t < assigned_at_ ||
      !is_valid_point(p) || (has_route_ && (route == nullptr || proj == nullptr)))
    return last_;
  if (!has_route_) route = nullptr;
  const eta_model_options& o = model.options();
  const double dt = static_cast<double>(t - last_t_) / 1000.0;
  const double step_m = has_fix_ ? ruler_.distance_m(last_point_, p) : 0.0;

  // Progress: along the route, or toward the destination; never backwards,
  // so GPS jitter does not make the rider seem to lose ground.
  const double before_m = progress_m_;
  const double remaining_m = route ? proj->remaining_m : ruler_.distance_m(p, destination_);
  const double progress = route ? proj->along_m : total_m_ - remaining_m;
  progress_m_ = std::max(progress_m_, progress);

  if (!departed_ && (progress_m_ > o.depart_radius_m || ruler_.distance_m(p, origin_) > o.depart_radius_m)) {
    departed_ = true;
    // It left some time between the previous fix and this one.
    const timestamp_ms left = has_fix_ ? (last_t_ + t) / 2 : t;
    if (teaches_model(learn))
      model.observe_departure(static_cast<double>(left - assigned_at_) / 1000.0);
  }
  // At an intermediate stop the rider hands over another order: that time
  // is dwell, not a slow street, and says nothing of the rider's pace.
  while (next_stop_ < stops_ && progress_m_ > stops_m_[next_stop_] + o.arrive_radius_m) ++next_stop_;
  const bool at_stop = next_stop_ < stops_ && progress_m_ >= stops_m_[next_stop_] - o.arrive_radius_m;
  const bool was_riding = departed_ && !arrived_ && has_fix_;
  if (departed_ && !arrived_ && remaining_m <= o.arrive_radius_m) {
    arrived_ = true;
    arrived_at_ = t;
  }

  const double left_before = expected_left_s_;
  if (departed_) {
    const double left_now = route ? expected_remaining_s(model, p, t, route)
                                  : std::min(expected_left_s_, expected_remaining_s(model, p, t, route));
    expected_left_s_ = arrived_ ? 0.0 : left_now;
  }
  if (was_riding) {
    path_m_ += step_m;
    // How this rider is doing now: actual and expected seconds of progress,
    // both decayed with the same memory, so a slow street a while ago fades.
    const double moved = route ? progress_m_ - before_m : step_m;
    if (!at_stop && moved >= o.rider_moving_mps * dt) {
      const double decay = std::exp(-dt / o.rider_memory_s);
      actual_s_ = actual_s_ * decay + dt;
      expected_s_ = expected_s_ * decay + std::max(0.0, left_before - expected_left_s_);
    }
    if (touches_speeds(learn) && dt <= o.max_gap_s && !at_stop) {
      const geo_point mid{(last_point_.lon + p.lon) * 0.5, (last_point_.lat + p.lat) * 0.5};
      // Along the route the lateral GPS noise does not count as distance.
      const timestamp_ms when = t - static_cast<timestamp_ms>(dt * 500);
      if (learn == eta_learning::speeds_taken_back) model.speeds().take_back(mid, when, moved, dt);
      else model.speeds().observe(mid, when, moved, dt);
    }
  }
  has_fix_ = true;
  last_t_ = t;
  last_point_ = p;

  const double elapsed = static_cast<double>(t - assigned_at_) / 1000.0;
  double raw;
  const double stop_dwell = model.dwell_s() * (stops_ - next_stop_);
  if (!departed_)
    raw = model.departure_remaining_s(elapsed) + expected_left_s_ + stop_dwell + model.dwell_s();
  else if (!arrived_)
    raw = expected_left_s_ * rider_factor(model) + stop_dwell + model.dwell_s();
  else
    raw = model.dwell_remaining_s(static_cast<double>(t - arrived_at_) / 1000.0);

  const int bucket = departed_ ? progress_bucket(progress_m_, total_m_) : 0;
  if (teaches_errors(learn) && !(error_recorded_ & (1u << bucket)) && !arrived_) {
    error_recorded_ = static_cast<std::uint16_t>(error_recorded_ | (1u << bucket));
    error_raw_s_[static_cast<std::size_t>(bucket)] = static_cast<float>(raw);
    error_at_s_[static_cast<std::size_t>(bucket)] = static_cast<float>(elapsed);
  }
  const eta_calibration cal =
      model.calibration_at(departed_ && total_m_ > 0 ? progress_m_ / total_m_ : 0.0);
  last_ = {raw * cal.median_ratio, raw * cal.p90_ratio};
  return last_;
}

void trip_eta::finish(eta_model& model, timestamp_ms delivered_at, eta_learning learn) noexcept {
  if (phase_ != eta_phase::delivering) {
    phase_ = eta_phase::done;
    return;
  }
  phase_ = eta_phase::done;
  if (learn == eta_learning::off || delivered_at < assigned_at_) return;
  const double total_s = static_cast<double>(delivered_at - assigned_at_) / 1000.0;
  for (int b = 0; b < eta_progress_buckets && teaches_errors(learn); ++b) {
    if (!(error_recorded_ & (1u << b))) continue;
    const auto i = static_cast<std::size_t>(b);
    // Floors of a second: near the end both are tiny and their ratio noise.
    const double actual = std::max(1.0, total_s - error_at_s_[i]);
    model.observe_error(b, actual / std::max(1.0, static_cast<double>(error_raw_s_[i])));
  }
  if (teaches_model(learn)) {
    if (arrived_) model.observe_dwell(static_cast<double>(delivered_at - arrived_at_) / 1000.0);
    if (!has_route_) model.observe_detour(path_m_, distance_m(origin_, destination_));
    model.count_trip();
  }
  model.refresh();
}

status_result check_trip(const completed_trip& trip) {
  if (!valid_time(trip.assigned_at)) return {errc::invalid_timestamp, "assignedAt"};
  if (!valid_time(trip.delivered_at)) return {errc::invalid_timestamp, "deliveredAt"};
  if (trip.delivered_at < trip.assigned_at) return {errc::eta_invalid_trip_time, "deliveredAt"};
  if (trip.paid_at >= 0 && trip.paid_at > trip.assigned_at) return {errc::eta_invalid_trip_time, "paidAt"};
  if (trip.route.size() == 1) return {errc::invalid_polyline, "route"};
  for (const geo_point& p : trip.route)
    if (!is_valid_point(p)) return {errc::invalid_polyline, "route"};
  if (trip.route.empty()) {
    if (auto s = check_endpoint(trip.origin, "origin"); !s) return s;
    if (auto s = check_endpoint(trip.destination, "destination"); !s) return s;
  }
  if (trip.fixes.size() < 2) return {errc::eta_too_few_fixes, "fixes"};
  for (std::size_t i = 0; i < trip.fixes.size(); ++i) {
    if (const errc e = check_point(trip.fixes[i].point); e != errc::ok) return {e, "fixes"};
    if (i > 0 && trip.fixes[i].time < trip.fixes[i - 1].time) return {errc::eta_unordered_fixes, "fixes"};
  }
  return {};
}

namespace {

status_result replay(eta_model& model, const completed_trip& trip, eta_learning learn,
                     std::vector<eta_estimate>* out) {
  if (auto s = check_trip(trip); !s) return s;
  std::optional<eta_route> route;
  if (!trip.route.empty()) {
    auto r = eta_route::make(model, std::vector<geo_point>(trip.route.begin(), trip.route.end()),
                             trip.assigned_at);
    if (!r) return {r.error(), r.field()};
    route.emplace(std::move(*r));
  }
  trip_eta eta;
  if (trip.paid_at >= 0) {
    if (auto s = eta.start_processing(trip.warehouse, trip.paid_at, trip.origin, trip.destination); !s &&
        trip.route.empty())
      return s;
  }
  const eta_route* rp = route ? &*route : nullptr;
  if (auto s = eta.start_delivery(model, trip.assigned_at, rp, trip.origin, trip.destination, learn,
                                  trip.stops_along_m);
      !s)
    return s;
  projection_hint hint;
  for (const position_fix& f : trip.fixes) {
    if (f.time < trip.assigned_at || f.time > trip.delivered_at) {
      if (out) out->push_back({});
      continue;
    }
    polyline_projection proj;
    if (rp) {
      // A step or two back allows for GPS jitter across a vertex.
      proj = rp->line().project(f.point, hint);
      // Far from the hinted branch (a loop the route does not have, a jump
      // after a gap): look at the whole route once, as the engine should.
      if (proj.distance_m > kRescanM) {
        const polyline_projection full = rp->line().project(f.point);
        if (full.distance_m < proj.distance_m) proj = full;
      }
      hint.segment = proj.segment >= 2 ? proj.segment - 2 : 0;
    }
    const eta_estimate e = eta.on_fix(model, f.time, f.point, rp, rp ? &proj : nullptr, learn);
    if (out) out->push_back(e);
  }
  eta.finish(model, trip.delivered_at, learn);
  return {};
}

}  // namespace

status_result learn_trip(eta_model& model, const completed_trip& trip) {
  return replay(model, trip, eta_learning::on, nullptr);
}

status_result learn_trips(eta_model& model, std::span<const completed_trip> trips, std::size_t* failed) {
  for (std::size_t i = 0; i < trips.size(); ++i) {
    if (auto s = check_trip(trips[i]); !s) {
      if (failed) *failed = i;
      return s;
    }
  }
  for (const completed_trip& t : trips)
    if (auto s = replay(model, t, eta_learning::model_only, nullptr); !s) return s;  // checked above
  // Out of sample: a trip's errors with its own speeds taken out of the model.
  // (Its dwell, departure and detour stay in: one trip among many in medians.)
  for (const completed_trip& t : trips) {
    if (auto s = replay(model, t, eta_learning::speeds_taken_back, nullptr); !s) return s;
    if (auto s = replay(model, t, eta_learning::errors_only, nullptr); !s) return s;
    if (auto s = replay(model, t, eta_learning::speeds_only, nullptr); !s) return s;
  }
  return {};
}

status_result predict_trip(eta_model& model, const completed_trip& trip, std::vector<eta_estimate>& out) {
  return replay(model, trip, eta_learning::off, &out);
}

}  // namespace xiaoxiang
