// rider_index: the live positions of riders in a grid of GeoHash cells, for
// "which riders are near this warehouse / order" and per-cell heatmaps.
//
// Semantics (docs/rider_index.md has the details and the measured figures):
// - Positions are stored in binary fixed point, 2^-23 degree (1.3 cm) per unit
//   in 32-bit integers; position() and every query see the stored position,
//   stored_position(p), not the raw input. GPS fixes are good to metres. Being
//   binary, the stored values are exact doubles and every GeoHash cell border
//   of up to 26 longitude bits lies exactly on the grid.
// - "Distance" is the metric of cheap_ruler(center.lat).distance_m(center, p)
//   (distance.hpp): WGS-84 local approximation around the query centre,
//   within 0.1% of the geodesic up to 50 km for |lat| <= 70. Queries are exact
//   for that metric: the same answer as a brute-force scan, ties broken by
//   rider id.
// - Threading: not thread-safe. Any number of threads may call the const
//   functions at once while nobody writes; update/remove/clear need exclusive
//   access (the engine wraps the index in its own lock or shard).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/geo/geohash.hpp"

namespace xiaoxiang {

// Largest radius a rider_index query accepts, metres. Beyond it the local
// metric drifts from the geodesic by more than 0.1%.
inline constexpr double rider_index_max_radius_m = 100'000.0;

// Most riders one rider_index holds (2^24 - 1); more throws std::length_error,
// as a standard container beyond max_size() does.
inline constexpr std::size_t rider_index_max_size = (std::size_t{1} << 24) - 1;

struct rider_index_options {
  // GeoHash bits of a grid cell, 20..40. 33 (17 longitude, 16 latitude bits)
  // gives nearly square cells of 234 m x 305 m at Beijing's latitude.
  int cell_bits = 33;
};

// One answer of a query: the rider and its distance from the centre, metres.
struct nearby_rider {
  rider_id rider;
  double distance_m = 0;

  friend bool operator==(const nearby_rider&, const nearby_rider&) = default;
};

// One answer of a query by reference: the rider's id as the index stores it
// (valid until the index next changes) and its distance, metres. 16 bytes
// instead of nearby_rider's 48: for a caller that reads the ids and moves on.
struct nearby_rider_ref {
  const rider_id* rider = nullptr;
  double distance_m = 0;
};

// One position report for rider_index::update_many.
struct rider_update {
  rider_id rider;
  geo_point position;  // degrees
};

// A rider's place in one rider_index, for hosts that keep their own per-rider
// state: update(handle, p) moves the rider without hashing and looking up its
// id. Valid from the rider's first update until its remove() or clear(); a
// handle used after that is recognised (errc::unknown_rider) unless its slot
// has since been freed and reused 256 times. Handles of one index mean
// nothing to another.
struct rider_handle {
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  std::uint32_t value = kNone;  // generation << 24 | slot

  bool valid() const noexcept { return value != kNone; }
  friend bool operator==(const rider_handle&, const rider_handle&) = default;
};

// Number of riders in one GeoHash cell, for heatmaps.
struct cell_count {
  geohash_int cell;
  std::size_t count = 0;

  friend bool operator==(const cell_count&, const cell_count&) = default;
};

class rider_index {
 public:
  // An empty index; errc-free: bad options throw xiaoxiang::error
  // (errc::invalid_geohash_bits) since they are a programming error of the host.
  explicit rider_index(rider_index_options options = {});
  ~rider_index();
  rider_index(rider_index&&) noexcept;
  rider_index& operator=(rider_index&&) noexcept;
  rider_index(const rider_index&) = delete;
  rider_index& operator=(const rider_index&) = delete;

  // Inserts the rider or moves it to `p` (degrees). O(1); no allocation once
  // the cells it moves between have held as many riders before. errc::empty_id ("riderId"),
  // errc::invalid_longitude ("lon"), errc::invalid_latitude ("lat"); the index
  // is unchanged on error.
  status_result update(const rider_id& rider, geo_point p);

  // update() of the rider the handle names (see rider_handle): the same
  // move without the id lookup. errc::unknown_rider ("riderId") for a handle
  // that names nobody (never issued, or its rider removed); point errors as
  // update(). The index is unchanged on error.
  status_result update(rider_handle rider, geo_point p);

  // The handle of a rider in the index. errc::unknown_rider ("riderId").
  result<rider_handle> handle_of(const rider_id& rider) const;

  // update() for each report in order, with the memory accesses of
  // consecutive reports overlapped (software prefetch), for hosts that
  // receive positions in batches (a queue poll). Reports update() would
  // reject are skipped. Returns how many were applied.
  std::size_t update_many(std::span<const rider_update> batch);

  // Removes the rider (logout). O(1). errc::unknown_rider ("riderId").
  status_result remove(const rider_id& rider);

  // The rider's stored position. errc::unknown_rider ("riderId").
  result<geo_point> position(const rider_id& rider) const;

  // Whether the rider is in the index.
  bool contains(const rider_id& rider) const noexcept;

  // Number of riders in the index.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // The k nearest riders within radius_m metres of center (inclusive), nearest
  // first, ties by rider id, written into out (cleared first; no allocation
  // when out has capacity for min(k, matches)). errc::invalid_longitude /
  // invalid_latitude ("lon" / "lat"), invalid_radius ("radius": NaN, negative
  // or above rider_index_max_radius_m), invalid_k ("k": 0).
  status_result nearby(geo_point center, double radius_m, std::size_t k,
                       std::vector<nearby_rider>& out) const;

  // Every rider within radius_m metres of center (inclusive), in no
  // particular order, written into out (cleared first). Errors as nearby().
  status_result within(geo_point center, double radius_m, std::vector<nearby_rider>& out) const;
  // The same riders, in the same order, by reference: no id is copied (a
  // 3 km query in a dense city answers thousands). The pointers are valid
  // until the next update, remove or clear.
  status_result within(geo_point center, double radius_m,
                       std::vector<nearby_rider_ref>& out) const;

  // Riders whose stored position lies in the GeoHash cell h (any bit count).
  // O(1) for h.bit_count >= cell_bits() - 8 ... cell_bits(); coarser cells sum
  // the grid cells they hold; finer ones scan one grid cell.
  // errc::invalid_geohash_bits ("bitCount").
  result<std::size_t> count_in_cell(geohash_int h) const;

  // The non-empty GeoHash cells of bit_count bits (1..60) with their rider
  // counts, sorted by cell, into out (cleared first). For heatmaps.
  // errc::invalid_geohash_bits ("bitCount").
  status_result cell_counts(int bit_count, std::vector<cell_count>& out) const;

  // Removes every rider; memory is kept for reuse.
  void clear() noexcept;

  // GeoHash bits of the grid cells.
  int cell_bits() const noexcept { return lon_bits_ + lat_bits_; }

  // Bytes the index holds on the heap and inline, counted from the capacity
  // of its containers (not malloc's own per-block overhead).
  std::size_t memory_bytes() const noexcept;

  // The position the index stores for p: each coordinate rounded to the
  // nearest 2^-23 degree. Requires: is_valid_point(p).
  static geo_point stored_position(geo_point p) noexcept {
    return {from_fixed(to_fixed(p.lon)), from_fixed(to_fixed(p.lat))};
  }

  // The distance every query ranks by, metres: the cheap-ruler metric around
  // the query centre (see the top of this header). Brute-force oracles use it.
  static double distance_m(const cheap_ruler& ruler, geo_point center, geo_point p) noexcept {
    return ruler.distance_m(center, p);
  }

 private:
  struct fixed_point;
  struct cell;
  struct tile;
  struct query_box;
  struct candidate;
  struct found;
  struct place;
  struct tile_entry;
  struct grid_spot;
  static constexpr std::uint64_t kNoTileKey = ~std::uint64_t{0};

  // Fixed point: 2^23 units per degree, so +-180 degrees fit an int32.
  static constexpr double kUnitsPerDeg = 8388608.0;
  static constexpr double kDegPerUnit = 1.0 / kUnitsPerDeg;
  // llround(deg * 2^23) without the call into libm (a tenth of a move's
  // cost): the product is exact, |x| < 2^31, so truncation and the exact
  // remainder decide the rounding, halves away from zero as llround does.
  static std::int32_t to_fixed(double deg) noexcept {
    const double x = deg * kUnitsPerDeg;
    auto i = static_cast<std::int64_t>(x);
    const double rest = x - static_cast<double>(i);
    i += (rest >= 0.5) - (rest <= -0.5);
    return static_cast<std::int32_t>(i);
  }
  static double from_fixed(std::int32_t v) noexcept { return static_cast<double>(v) * kDegPerUnit; }

  // A tile holds 16 x 16 grid cells in a dense array; tiles are hashed.
  static constexpr int kTileShift = 4;
  static constexpr std::uint32_t kTileSide = 1u << kTileShift;

  status_result update_hashed(const rider_id& rider, geo_point p, std::uint64_t h);
  grid_spot locate(geo_point p) const noexcept;
  void move_slot(std::uint32_t slot, place at, const grid_spot& to, const tile_entry* t_entry);
  void move_across(std::uint32_t slot, place at, const grid_spot& to, const tile_entry* t_entry);
  void prefetch_update(const rider_update& u, std::uint64_t h, int stage) const noexcept;
  found find(const rider_id& rider, std::uint64_t h) const noexcept;
  const rider_id& id_of(std::uint32_t slot) const noexcept;
  void table_reserve(std::size_t riders);
  void table_insert(std::uint32_t bucket, std::uint64_t h) noexcept;
  void table_erase(std::size_t at) noexcept;
  void places_reserve();

  const tile_entry* find_tile_entry(std::uint32_t tx, std::uint32_t ty) const noexcept;
  std::uint32_t find_tile(std::uint32_t tx, std::uint32_t ty) const noexcept;
  void tile_map_put(std::uint32_t number) noexcept;
  std::uint32_t find_or_add_tile(std::uint32_t tx, std::uint32_t ty);
  void tile_map_grow();
  cell& cell_at(std::uint32_t global) noexcept;
  const cell& cell_at(std::uint32_t global) const noexcept;
  void cell_reserve(std::uint32_t global);
  static void prefetch_cell(const cell& c, bool with_ids = true) noexcept;
  std::uint32_t cell_push(std::uint32_t global, const rider_id& rider, std::uint32_t slot,
                          std::int32_t lon, std::int32_t lat) noexcept;
  void cell_erase(std::uint32_t global, std::uint32_t pos) noexcept;

  status_result check_query(geo_point center, double radius_m) const noexcept;
  query_box make_box(geo_point center, double radius_m, const cheap_ruler& ruler) const noexcept;
  // reads_ids: fn reads the cells' ids (prefetched with the points).
  template <class F>
  void visit_box(const query_box& box, F&& fn, bool reads_ids = true) const;
  template <class Result, class Make>
  status_result within_into(geo_point center, double radius_m, std::vector<Result>& out,
                            Make make) const;
  template <class Heap>
  void search_nearest(geo_point center, double radius_m, Heap& heap) const;

  int lon_bits_ = 17;
  int lat_bits_ = 16;
  std::size_t size_ = 0;

  // Rider id -> slot. Open addressing, linear probing, backward-shift
  // deletion. A bucket is slot << 8 | an 8-bit tag of the id's hash, ~0 when
  // empty: the tag spares a probe from reading an id that is not the one
  // sought. Moves never touch the table: a slot keeps its number for life.
  std::vector<std::uint32_t> table_;

  // Slot -> where the rider is (cell, index in the cell), or the next free
  // slot. A rider_handle is a slot number and its generation.
  std::vector<place> places_;
  std::vector<std::uint8_t> generations_;  // per slot, bumped when it is freed
  std::uint32_t free_slot_ = 0xFFFFFFFFu;

  std::vector<std::unique_ptr<tile>> tiles_;
  // Tile coordinates -> the tile and its number; open addressing, keys
  // kNoTileKey mean empty.
  std::vector<tile_entry> tile_map_;
};

}  // namespace xiaoxiang
