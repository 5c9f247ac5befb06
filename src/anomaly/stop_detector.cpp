#include "xiaoxiang/anomaly/stop_detector.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "xiaoxiang/anomaly/detail/min_rect.hpp"
#include "xiaoxiang/anomaly/geodesic.hpp"
#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {
// 2500-01-01T00:00:00Z in ms, the bound errc::invalid_timestamp names.
constexpr timestamp_ms kMaxTimestamp = 16'725'225'600'000;

// Median as pandas computes it: the mean of the two middle values for an
// even count.
double median_of(std::vector<double>& v) {
  const std::size_t k = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  const double upper = v[k];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k));
  return (lower + upper) / 2.0;
}
}  // namespace

// ---- streaming_stop ----

void streaming_stop::start_candidate(timestamp_ms t, geo_point p, duration_ms min_duration_ms) noexcept {
  anchor_ = p;
  const cheap_ruler ruler(p.lat);
  kx_ = ruler.kx();
  ky_ = ruler.ky();
  sum_x_m_ = sum_y_m_ = 0;
  start_ms_ = last_in_ms_ = t;
  n_ = 1;
  outliers_ = 0;
  stopped_ = min_duration_ms <= 0;  // with no minimum, one fix is a stop
}

geo_point streaming_stop::centre() const noexcept {
  if (n_ == 0) return anchor_;
  const double n = static_cast<double>(n_);
  return {anchor_.lon + sum_x_m_ / n / kx_, anchor_.lat + sum_y_m_ / n / ky_};
}

streaming_stop::transition streaming_stop::observe(timestamp_ms t, geo_point p,
                                                   const streaming_stop_options& o) noexcept {
  if (seen_ && t <= last_ms_) return transition::none;
  seen_ = true;
  last_ms_ = t;
  if (n_ == 0) {
    start_candidate(t, p, o.min_duration_ms);
    return stopped_ ? transition::started : transition::none;
  }
  double dlon = p.lon - anchor_.lon;
  if (dlon > 180.0) dlon -= 360.0;
  if (dlon < -180.0) dlon += 360.0;
  const double x = dlon * kx_;
  const double y = (p.lat - anchor_.lat) * ky_;
  const double n = static_cast<double>(n_);
  const double ex = x - sum_x_m_ / n, ey = y - sum_y_m_ / n;
  if (ex * ex + ey * ey <= o.radius_m * o.radius_m) {
    sum_x_m_ += x;
    sum_y_m_ += y;
    ++n_;
    last_in_ms_ = t;
    outliers_ = 0;
    if (!stopped_ && t - start_ms_ >= o.min_duration_ms) {
      stopped_ = true;
      return transition::started;
    }
    return transition::none;
  }
  if (outliers_ == 0) {
    pending_ = p;
    pending_ms_ = t;
  }
  if (++outliers_ <= o.max_outliers) return transition::none;
  // The mover left: the stop (if any) ends at its last fix inside, and a new
  // candidate starts at the first fix of the run outside.
  const bool was_stopped = stopped_;
  if (was_stopped) {
    ended_start_ms_ = start_ms_;
    ended_end_ms_ = last_in_ms_;
  }
  const geo_point first = pending_;
  const timestamp_ms first_ms = pending_ms_;
  start_candidate(first_ms, first, o.min_duration_ms);
  if (first_ms != t) {
    // Replay the current fix against the new candidate (one level deep: the
    // candidate has one fix, so this cannot end a stop again).
    last_ms_ = first_ms;
    const transition again = observe(t, p, o);
    if (!was_stopped) return again;
  }
  return was_stopped ? transition::ended : transition::none;
}

streaming_stop::transition streaming_stop::finish() noexcept {
  const bool was_stopped = stopped_;
  if (was_stopped) {
    ended_start_ms_ = start_ms_;
    ended_end_ms_ = last_in_ms_;
  }
  n_ = 0;
  outliers_ = 0;
  stopped_ = false;
  return was_stopped ? transition::ended : transition::none;
}

// ---- stop_detector ----

result<std::vector<stop>> stop_detector::detect(std::span<const timestamp_ms> times,
                                                std::span<const geo_point> points,
                                                const stop_options& o) {
  if (!(o.max_diameter_m > 0) || !std::isfinite(o.max_diameter_m))
    return {errc::invalid_detector_option, "max_diameter_m"};
  if (o.min_duration_ms < 0) return {errc::invalid_detector_option, "min_duration_ms"};
  if (o.mode != stop_mode::movingpandas && o.mode != stop_mode::streaming)
    return {errc::invalid_detector_option, "mode"};
  if (times.size() != points.size()) return {errc::size_mismatch, "points"};
  const std::size_t n = times.size();
  bool sorted = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (times[i] < 0 || times[i] > kMaxTimestamp) return {errc::invalid_timestamp, "times"};
    if (const errc e = check_point(points[i]); e != errc::ok) return {e, "points"};
    if (i > 0 && times[i] <= times[i - 1]) {
      if (o.strict_times) return {errc::times_not_increasing, "times"};
      if (times[i] < times[i - 1]) sorted = false;
    }
  }
  // MovingPandas' Trajectory: sort by time, keep the first fix of each time.
  ts_.clear();
  ps_.clear();
  auto keep = [&](std::size_t i) {
    if (!ts_.empty() && ts_.back() == times[i]) return;
    ts_.push_back(times[i]);
    ps_.push_back(points[i]);
  };
  if (sorted) {
    for (std::size_t i = 0; i < n; ++i) keep(i);
  } else {
    order_.resize(n);
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    std::stable_sort(order_.begin(), order_.end(),
                     [&](std::size_t a, std::size_t b) { return times[a] < times[b]; });
    for (const std::size_t i : order_) keep(i);
  }
  std::vector<stop> out;
  if (o.mode == stop_mode::movingpandas)
    detect_movingpandas(o, out);
  else
    detect_streaming(o, out);
  return out;
}

void stop_detector::add_stop(std::size_t first, std::size_t last, std::vector<stop>& out) {
  stop s;
  s.start_ms = ts_[first];
  s.end_ms = ts_[last];
  s.duration_s = static_cast<double>(s.end_ms - s.start_ms) / 1000.0;
  s.n_points = last - first + 1;
  median_.clear();
  for (std::size_t i = first; i <= last; ++i) median_.push_back(ps_[i].lon);
  s.median_lon = median_of(median_);
  median_.clear();
  for (std::size_t i = first; i <= last; ++i) median_.push_back(ps_[i].lat);
  s.median_lat = median_of(median_);
  out.push_back(s);
}

// TrajectoryStopDetector._process_traj step by step (see docs/anomaly.md);
// the window is always a contiguous range [lo, i] of the de-duplicated fixes.
// What is incremental: while the window only grows (a stop is open, or it
// has not been trimmed), its bounding box is extended and its convex hull is
// kept — a fix inside the hull changes neither hull nor rectangle, so the
// answer stands without recomputing; a fix outside rebuilds the hull from
// the old hull's vertices plus the fix.
void stop_detector::detect_movingpandas(const stop_options& o, std::vector<stop>& out) {
  const std::size_t n = ts_.size();
  const double max_d = o.max_diameter_m;
  const double box_limit = max_d * 1.5;
  const duration_ms min_dur = o.min_duration_ms;
  std::size_t lo = 0;
  bool stopped = false;
  bool previously_stopped = false;
  bool cache_ok = false;     // box (and maybe hull) describe [lo, cache_hi]
  bool hull_ok = false;      // hull_ is the hull of [lo, cache_hi], hull_below its answer
  bool hull_below = false;
  std::size_t cache_lo = 0, cache_hi = 0;
  double min_x = 0, min_y = 0, max_x = 0, max_y = 0;

  for (std::size_t i = 0; i < n; ++i) {
    if (!stopped) {
      while (i - lo + 1 > 2 && ts_[i] - ts_[lo] >= min_dur) ++lo;
    }
    const std::size_t count = i - lo + 1;
    const geo_point& p = ps_[i];
    stopped = false;
    if (count > 1) {
      const bool grow = cache_ok && cache_lo == lo && cache_hi + 1 == i;
      if (grow) {
        min_x = std::min(min_x, p.lon), max_x = std::max(max_x, p.lon);
        min_y = std::min(min_y, p.lat), max_y = std::max(max_y, p.lat);
      } else {
        hull_ok = false;
        min_x = max_x = ps_[lo].lon;
        min_y = max_y = ps_[lo].lat;
        for (std::size_t k = lo + 1; k <= i; ++k) {
          min_x = std::min(min_x, ps_[k].lon), max_x = std::max(max_x, ps_[k].lon);
          min_y = std::min(min_y, ps_[k].lat), max_y = std::max(max_y, ps_[k].lat);
        }
      }
      cache_ok = true;
      cache_lo = lo;
      cache_hi = i;
      if (geodesic_distance_below({min_x, min_y}, {max_x, max_y}, box_limit)) {
        if (count == 2) {
          hull_ok = false;
          stopped = geodesic_distance_below(ps_[lo], p, max_d);
        } else {
          if (grow && hull_ok && hull_.size() >= 3 && detail::hull_contains(hull_, p)) {
            // Hull and rectangle unchanged: hull_below stands.
          } else {
            if (grow && hull_ok) {
              hull_in_.assign(hull_.begin(), hull_.end());
              hull_in_.push_back(p);
              detail::convex_hull(hull_in_, scratch_, hull_);
            } else {
              detail::convex_hull(std::span<const geo_point>(ps_).subspan(lo, count), scratch_,
                                  hull_);
            }
            hull_below = detail::hull_rect_diagonal_m(hull_) < max_d;
            hull_ok = true;
          }
          stopped = hull_below;
        }
      } else {
        hull_ok = false;  // the box only grows with the window: no hull needed until lo moves
      }
    }
    if (!stopped && previously_stopped && count > 1) {
      if (ts_[i - 1] - ts_[lo] >= min_dur) {
        add_stop(lo, i - 1, out);
        lo = i;
        cache_ok = hull_ok = false;
      }
    }
    previously_stopped = stopped;
  }
  if (stopped && n > 0 && ts_[n - 1] - ts_[lo] >= min_dur) add_stop(lo, n - 1, out);
}

void stop_detector::detect_streaming(const stop_options& o, std::vector<stop>& out) {
  const streaming_stop_options so{o.max_diameter_m / 2.0, o.min_duration_ms,
                                  o.streaming_max_outliers};
  streaming_stop state;
  auto record = [&] {
    const auto first = std::lower_bound(ts_.begin(), ts_.end(), state.last_stop_start_ms());
    const auto last = std::lower_bound(first, ts_.end(), state.last_stop_end_ms());
    add_stop(static_cast<std::size_t>(first - ts_.begin()),
             static_cast<std::size_t>(last - ts_.begin()), out);
  };
  for (std::size_t i = 0; i < ts_.size(); ++i)
    if (state.observe(ts_[i], ps_[i], so) == streaming_stop::transition::ended) record();
  if (state.finish() == streaming_stop::transition::ended) record();
}

result<std::vector<stop>> detect_stops(std::span<const timestamp_ms> times,
                                       std::span<const geo_point> points,
                                       const stop_options& options) {
  stop_detector detector;
  return detector.detect(times, points, options);
}

}  // namespace xiaoxiang
