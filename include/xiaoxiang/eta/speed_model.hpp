// speed_model: learned travel speed per GeoHash cell and time-of-day bucket,
// from the distance riders covered and the time it took, with a fallback
// through coarser knowledge when a cell has seen little traffic:
// fine cell + bucket -> fine cell -> coarse cell -> whole city -> default
// speed, the all-day levels scaled by the city's time-of-day factor (rush
// hours), and between two buckets' centres the two are mixed linearly so
// that a speed never jumps at the hour. Each level is blended with the one after it in proportion to how
// much it has seen (each observation counted at one level only), so a cell
// with a minute of data moves the estimate a little and one with an hour
// decides it. Lock-free: the engine's ingest threads observe and query at
// once; the tables are allocated at construction and never grow.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/time.hpp"

namespace xiaoxiang {

// Most time-of-day buckets a day is cut into (bucket_minutes >= 60).
inline constexpr int speed_model_max_buckets = 24;

struct speed_model_options {
  int fine_cell_bits = 35;         // GeoHash bits of a fine cell (35: ~120 m x 150 m at 40 deg N)
  int coarse_cell_bits = 25;       // of a coarse cell (25: ~3.7 km x 4.9 km at 40 deg N)
  std::size_t fine_cells = 1u << 14;   // capacity of the fine table (cells); more are not learned
  std::size_t coarse_cells = 1u << 10; // capacity of the coarse table
  int bucket_minutes = 60;         // width of a time-of-day bucket, minutes (60..1440, divides 1440)
  int utc_offset_minutes = 0;      // local time of the city (Beijing: 480), for the buckets
  double default_speed_mps = 5.0;  // before anything was learned, metres per second
  double prior_weight_s = 120;     // seconds of observation a level needs to count as much as its fallback
  double min_speed_mps = 0.3;      // answers are clamped to [min, max], metres per second
  double max_speed_mps = 40;
};

// What a level of the hierarchy has seen: distance and time, summed.
struct speed_observations {
  double distance_m = 0;
  double time_s = 0;
};

class speed_model {
 public:
  // Requires: options checked by eta_model::make (or the defaults).
  explicit speed_model(const speed_model_options& options);
  ~speed_model();
  speed_model(const speed_model&) = delete;
  speed_model& operator=(const speed_model&) = delete;

  // Counts `distance_m` metres covered in `time_s` seconds around point p at
  // time t (the midpoint of a fix pair). Ignores non-positive times, negative
  // distances and invalid points. No allocation.
  void observe(geo_point p, timestamp_ms t, double distance_m, double time_s) noexcept;

  // Takes back exactly what observe(p, t, distance_m, time_s) added (the same
  // arguments, rounded the same way), for learn_trips' leave-one-out. An
  // observation that observe ignored or dropped (full table) is ignored here
  // too: a cell is never removed, so one not found then is not found now.
  // Requires: the same observation was made before and not taken back.
  void take_back(geo_point p, timestamp_ms t, double distance_m, double time_s) noexcept;

  // The expected speed around p at time t, metres per second, through the
  // fallback hierarchy. Requires: p valid.
  double speed_mps(geo_point p, timestamp_ms t) const noexcept;

  // Starts loading what observe(p, t, ...) and speed_mps(p, t) will read
  // (the cells' keys and sums where their probes begin), so that a caller
  // who knows the next fix early overlaps the cache misses with other work.
  // Changes nothing; invalid points are ignored.
  void prefetch(geo_point p, timestamp_ms t) const noexcept;

  // The time-of-day bucket of t (0 .. buckets() - 1), in the city's local time.
  int bucket(timestamp_ms t) const noexcept;
  int buckets() const noexcept { return buckets_; }

  // What the fine cell (bucket < 0: every bucket) around p has seen.
  speed_observations fine_cell(geo_point p, int bucket) const noexcept;
  // The same for the whole city.
  speed_observations global(int bucket) const noexcept;
  // Observations that found their fine / coarse table full (not learned there).
  std::uint64_t dropped_fine() const noexcept { return dropped_fine_.load(std::memory_order_relaxed); }
  std::uint64_t dropped_coarse() const noexcept { return dropped_coarse_.load(std::memory_order_relaxed); }

  const speed_model_options& options() const noexcept { return options_; }

 private:
  // Distance in decimetres and time in milliseconds, as integers, so that
  // concurrent observers add with one fetch_add each.
  struct sums {
    std::atomic<std::uint64_t> dm{0};
    std::atomic<std::uint64_t> ms{0};
  };
  // One cell: sums for every bucket plus one for the whole day (index
  // buckets_). Its key lives apart, in table::keys.
  struct cell {
    std::array<sums, speed_model_max_buckets + 1> s;
  };
  // Keys (GeoHash bits + 1; 0 = empty) are an array of their own: a probe
  // reads consecutive 8-byte keys, eight to a cache line, instead of one
  // 400-byte cell per line (the lookup of every fix's cell was 9% of ingest).
  struct table {
    std::unique_ptr<std::atomic<std::uint64_t>[]> keys;
    std::unique_ptr<cell[]> cells;
    std::size_t mask = 0;
    int bits = 0;
  };
  static void add(sums& s, std::uint64_t dm, std::uint64_t ms) noexcept;
  static void subtract(sums& s, std::uint64_t dm, std::uint64_t ms) noexcept;
  // observe and take_back: adds or subtracts the observation.
  void apply(geo_point p, timestamp_ms t, double distance_m, double time_s, bool add_it) noexcept;
  static speed_observations read(const sums& s) noexcept;
  // The cell of GeoHash `bits` in t (inserting when `insert`), or nullptr.
  cell* find(const table& t, std::uint64_t bits, bool insert,
             std::atomic<std::uint64_t>& dropped) const noexcept;
  // The GeoHash bits of p's fine cell (its coarse cell is a prefix), or
  // nothing for an invalid point.
  bool fine_bits(geo_point p, std::uint64_t& bits) const noexcept;
  std::uint64_t coarse_of(std::uint64_t fine) const noexcept { return fine >> (fine_.bits - coarse_.bits); }
  double blend(speed_observations o, double parent) const noexcept;
  static void prefetch(const table& t, std::uint64_t geohash_bits, std::size_t bucket) noexcept;

  speed_model_options options_;
  int buckets_;
  table fine_, coarse_;
  std::array<sums, speed_model_max_buckets + 1> global_;
  mutable std::atomic<std::uint64_t> dropped_fine_{0}, dropped_coarse_{0};
};

}  // namespace xiaoxiang
