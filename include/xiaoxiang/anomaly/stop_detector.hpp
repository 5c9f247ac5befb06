// stop_detector: finds stops (the mover stayed within a small area for long
// enough) in a trajectory — offline on whole arrays, either exactly as
// MovingPandas' TrajectoryStopDetector does or with the streaming rule the
// engine runs per fix (streaming_stop, fixed size, no heap).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/core/time.hpp"

namespace xiaoxiang {

// One detected stop, in the columns of MovingPandas' reference output.
struct stop {
  timestamp_ms start_ms = 0;  // time of the stop's first fix
  timestamp_ms end_ms = 0;    // time of the stop's last fix
  double duration_s = 0;      // (end_ms - start_ms) / 1000
  std::size_t n_points = 0;   // fixes with start_ms <= t <= end_ms (after de-duplication)
  double median_lon = 0;      // median longitude of those fixes, degrees
  double median_lat = 0;      // median latitude of those fixes, degrees

  friend bool operator==(const stop&, const stop&) = default;
};

// Which rule decides a stop.
enum class stop_mode : std::uint8_t {
  // MovingPandas' TrajectoryStopDetector(max_diameter, min_duration) exactly:
  // a window whose minimum rotated rectangle (lon/lat space) has a WGS-84
  // diagonal < max_diameter_m and spans >= min_duration_ms.
  movingpandas = 0,
  // streaming_stop with radius max_diameter_m / 2 (see below).
  streaming = 1,
};

// Options of detect_stops.
struct stop_options {
  double max_diameter_m = 30;          // metres, > 0
  duration_ms min_duration_ms = 60'000;  // a stop spans at least this long, ms, >= 0
  stop_mode mode = stop_mode::movingpandas;
  // true: times must increase strictly (errc::times_not_increasing otherwise);
  // false: fixes are sorted by time (stable) and repeated times keep the
  // first fix, as MovingPandas' Trajectory does.
  bool strict_times = false;
  std::uint8_t streaming_max_outliers = 1;  // streaming mode: see streaming_stop_options
};

// Rules of the streaming stop detector (stop_mode::streaming, standstill).
struct streaming_stop_options {
  double radius_m = 15;                  // a fix within this of the stop's centre stays in it, m
  duration_ms min_duration_ms = 60'000;  // a stop counts once it spans this long, ms
  // Consecutive fixes beyond radius_m tolerated as GPS spikes before the
  // stop ends (they do not move the centre; a stop ending keeps its last
  // fix inside as its end). The next candidate starts at the first of them
  // with the current fix replayed; with more than 1, the fixes in between
  // are not replayed (the state keeps one pending fix, to stay fixed-size).
  std::uint8_t max_outliers = 1;
};

// The streaming stop detector's per-mover state: fixed size, no heap, O(1)
// per fix. The centre of a candidate stop is the running mean of its fixes
// (metres east/north of its first fix, on a local ruler): a stop is "the
// mover stayed within radius_m of the mean of where it stayed, for at least
// min_duration_ms", which averages GPS jitter out instead of letting it widen
// a diameter. Gaps in the data do not end a stop (the next fix decides).
class streaming_stop {
 public:
  // What one fix did to the state.
  enum class transition : std::uint8_t {
    none = 0,     // nothing changed (also: a fix not newer than the last one, ignored)
    started = 1,  // the candidate now spans min_duration_ms: a stop (from candidate_start_ms())
    ended = 2,    // a confirmed stop ended; last_stop() has it
  };

  // Feeds one fix; fixes must come in increasing time (older ones are ignored).
  transition observe(timestamp_ms t, geo_point p, const streaming_stop_options& o) noexcept;
  // Ends the current stop at the end of the data (ended if one was confirmed).
  transition finish() noexcept;

  bool stopped() const noexcept { return stopped_; }            // a confirmed stop is open
  bool has_candidate() const noexcept { return n_ > 0; }
  timestamp_ms candidate_start_ms() const noexcept { return start_ms_; }  // first fix of the candidate
  timestamp_ms last_inside_ms() const noexcept { return last_in_ms_; }    // latest fix inside it
  std::uint32_t candidate_fixes() const noexcept { return n_; }
  geo_point centre() const noexcept;                            // mean position of the candidate
  // The latest ended stop: [start, end] of its fixes inside.
  timestamp_ms last_stop_start_ms() const noexcept { return ended_start_ms_; }
  timestamp_ms last_stop_end_ms() const noexcept { return ended_end_ms_; }

 private:
  void start_candidate(timestamp_ms t, geo_point p, duration_ms min_duration_ms) noexcept;
  geo_point anchor_{};          // first fix of the candidate
  double kx_ = 0, ky_ = 0;      // metres per degree at the anchor
  double sum_x_m_ = 0, sum_y_m_ = 0;  // sums of offsets from the anchor, metres
  geo_point pending_{};         // first outlier of the current run
  timestamp_ms pending_ms_ = 0;
  timestamp_ms start_ms_ = 0, last_in_ms_ = 0, last_ms_ = 0;
  timestamp_ms ended_start_ms_ = 0, ended_end_ms_ = 0;
  std::uint32_t n_ = 0;
  std::uint8_t outliers_ = 0;
  bool stopped_ = false;
  bool seen_ = false;
};

// Finds stops in a trajectory, reusing its buffers between calls (after the
// first few calls it allocates only the result). One per thread.
class stop_detector {
 public:
  // times[i] is the time of points[i]; errors: errc::size_mismatch ("points"),
  // errc::invalid_longitude / invalid_latitude ("points"),
  // errc::invalid_timestamp ("times"), errc::times_not_increasing ("times",
  // strict_times only), errc::invalid_detector_option ("max_diameter_m",
  // "min_duration_ms").
  result<std::vector<stop>> detect(std::span<const timestamp_ms> times,
                                   std::span<const geo_point> points,
                                   const stop_options& options = {});

 private:
  void detect_movingpandas(const stop_options& o, std::vector<stop>& out);
  void detect_streaming(const stop_options& o, std::vector<stop>& out);
  void add_stop(std::size_t first, std::size_t last, std::vector<stop>& out);

  std::vector<timestamp_ms> ts_;     // de-duplicated, sorted
  std::vector<geo_point> ps_;
  std::vector<std::size_t> order_;   // sort permutation (unsorted input only)
  std::vector<geo_point> hull_, hull_in_, scratch_;  // window hull and its work buffers
  std::vector<double> median_;
};

// One-shot form of stop_detector::detect.
result<std::vector<stop>> detect_stops(std::span<const timestamp_ms> times,
                                       std::span<const geo_point> points,
                                       const stop_options& options = {});

}  // namespace xiaoxiang
