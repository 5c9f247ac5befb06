#include "xiaoxiang/geo/rider_index.hpp"
#include "xiaoxiang/geo/detail/bit_interleave.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace xiaoxiang {

// The grid is the GeoHash grid of cell_bits bits, but cells are computed here
// with integer arithmetic on the fixed-point coordinates instead of calling
// point_to_geohash_int: 360 degrees are 45 * 2^26 fixed-point units, so the
// column of a point is floor(offset / (45 * 2^(26 - lon_bits))), exact and
// about ten times cheaper than the floating-point encoder. The tests check it
// against point_to_geohash_int, borders, poles and antimeridian included.
// A cell keeps its riders in one block: capacity fixed-point positions, then
// capacity slot numbers, then capacity ids. Queries scan the dense positions
// and copy ids only for the riders they return, from the same block: no
// pointer chasing per rider. The slot numbers let a cell that moves a rider
// inside its block repoint that rider's place directly.
struct rider_index::fixed_point {
  std::int32_t lon;  // 2^-23 degree
  std::int32_t lat;  // 2^-23 degree
};

struct rider_index::cell {
  std::unique_ptr<std::byte[]> data;
  std::uint32_t size = 0;
  std::uint32_t capacity = 0;

  static constexpr std::size_t kBytesPerRider =
      sizeof(fixed_point) + sizeof(std::uint32_t) + sizeof(rider_id);

  fixed_point* points() const noexcept { return reinterpret_cast<fixed_point*>(data.get()); }
  std::uint32_t* slots() const noexcept {
    return reinterpret_cast<std::uint32_t*>(data.get() + std::size_t{capacity} * sizeof(fixed_point));
  }
  rider_id* ids() const noexcept {
    return reinterpret_cast<rider_id*>(data.get() + std::size_t{capacity} *
                                                        (sizeof(fixed_point) + sizeof(std::uint32_t)));
  }
};

struct rider_index::tile {
  std::array<cell, kTileSide * kTileSide> cells;  // row-major, 16 x 16
  std::uint32_t tx = 0;                           // column of the tile, cx >> 4
  std::uint32_t ty = 0;                           // row of the tile, cy >> 4
};

// Where a rider is: its bucket in the table and its slot.
struct rider_index::found {
  std::size_t bucket;
  std::uint32_t slot;
};

// A slot: the rider's cell and index there; a free slot has cell kNone and
// the next free slot (kNone: none) in place of the index. The slot's
// generation lives apart (generations_), so that repointing a slot is a
// store that does not wait for a load.
struct rider_index::place {
  std::uint32_t cell;
  std::uint32_t pos;
};

// A position in fixed point with its grid cell: column, row, and the cell's
// number inside its tile.
struct rider_index::grid_spot {
  std::int32_t lon;
  std::int32_t lat;
  std::uint32_t cx;
  std::uint32_t cy;
  std::uint32_t local;

  std::uint32_t tx() const noexcept { return cx >> kTileShift; }
  std::uint32_t ty() const noexcept { return cy >> kTileShift; }
};

// A rider a nearest query holds on to: its distance and where its id is.
struct rider_index::candidate {
  double distance_m;
  const rider_id* rider;
};

// The candidate cells of a query and the bounds that make pruning safe.
struct rider_index::query_box {
  std::int64_t cx_lo = 0, cx_hi = 0;  // columns, unwrapped (wrap modulo 2^lon_bits)
  std::int64_t cy_lo = 0, cy_hi = 0;  // rows, clamped to the grid
  bool all_lon = false;               // every column (near the poles or huge radii)
  double kx_min = 0;                  // lower bound of the metric's metres per degree of longitude
  double ky = 0;                      // metres per degree of latitude
};

namespace {

constexpr std::uint32_t kNone = 0xFFFFFFFFu;
// Slots are numbered below rider_index_max_size = 2^24 - 1, so no bucket is
// ~0 (slot 2^24 - 1 with tag 0xFF).
constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;
constexpr std::size_t kNotFound = ~std::size_t{0};
constexpr std::uint32_t kSlotMask = 0xFFFFFFu;

std::uint32_t tag_of(std::uint64_t h) noexcept { return static_cast<std::uint32_t>(h >> 56); }
std::uint32_t make_bucket(std::uint32_t slot, std::uint64_t h) noexcept {
  return (slot << 8) | tag_of(h);
}
std::uint32_t bucket_slot(std::uint32_t b) noexcept { return b >> 8; }

constexpr std::int64_t kHalfTurn = std::int64_t{180} << 23;  // 180 degrees in fixed point
constexpr std::int64_t kQuarterTurn = std::int64_t{90} << 23;
// Relative and absolute slack added to every bound so that rounding can only
// make the candidate set larger, never drop a rider the exact test accepts.
constexpr double kSlackRel = 1e-9;
constexpr double kSlackDeg = 1e-9;

std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// A hash of the id read 8 bytes at a time (FNV-1a of id::hash() goes byte by
// byte, about 3x slower on the update path).
std::uint64_t hash_id(const rider_id& r) noexcept {
  const std::string_view v = r.view();
  std::uint64_t h = 0x9E3779B97F4A7C15ULL * (v.size() + 1);
  std::size_t i = 0;
  for (; i + 8 <= v.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, v.data() + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  if (i < v.size()) {
    std::uint64_t w = 0;
    std::memcpy(&w, v.data() + i, v.size() - i);
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
  }
  return mix(h);
}

// One multiplication (Fibonacci hashing): tile coordinates are small
// consecutive integers, and the lookup is on every update's critical path.
std::uint64_t hash_tile(std::uint64_t key) noexcept { return (key * 0x9E3779B97F4A7C15ULL) >> 32; }

// Cells are interleaved as GeoHash does (shared with geohash.cpp).
using detail::compact_bits;
using detail::spread_bits;

// The GeoHash of column x (lon_bits bits) and row y (lat_bits bits).
geohash_int join(std::uint64_t x, int lon_bits, std::uint64_t y, int lat_bits) noexcept {
  const std::uint64_t bits =
      lon_bits == lat_bits ? (spread_bits(x) << 1) | spread_bits(y) : spread_bits(x) | (spread_bits(y) << 1);
  return {bits, lon_bits + lat_bits};
}

// Column of a fixed-point longitude in a grid of `bits` columns (1..30),
// with GeographicLib's rule that longitude 180 is longitude -180.
std::uint64_t column(std::int32_t lon, int bits) noexcept {
  const auto off = static_cast<std::uint64_t>(lon + kHalfTurn);  // 0 .. 45 * 2^26
  const std::uint64_t c = bits <= 26 ? (off >> (26 - bits)) / 45 : (off << (bits - 26)) / 45;
  return c == (std::uint64_t{1} << bits) ? 0 : c;
}

// Row of a fixed-point latitude in a grid of `bits` rows (0..30); latitude 90
// belongs to the top row.
std::uint64_t row(std::int32_t lat, int bits) noexcept {
  if (bits == 0) return 0;
  const auto off = static_cast<std::uint64_t>(lat + kQuarterTurn);  // 0 .. 45 * 2^25
  const std::uint64_t r = bits <= 25 ? (off >> (25 - bits)) / 45 : (off << (bits - 25)) / 45;
  return std::min(r, (std::uint64_t{1} << bits) - 1);
}

// Degrees from lon to the nearest point of [west, east] going either way
// round the globe; 0 inside.
double lon_gap(double lon, double west, double east) noexcept {
  if (west - lon > 180.0) {
    west -= 360.0;
    east -= 360.0;
  } else if (lon - east > 180.0) {
    west += 360.0;
    east += 360.0;
  }
  return std::max({0.0, west - lon, lon - east});
}


}  // namespace

rider_index::rider_index(rider_index_options options) {
  if (options.cell_bits < 20 || options.cell_bits > 40)
    throw error(make_error_code(errc::invalid_geohash_bits),
                "rider_index_options.cell_bits must be 20..40");
  lon_bits_ = (options.cell_bits + 1) / 2;
  lat_bits_ = options.cell_bits / 2;
}

rider_index::~rider_index() = default;
rider_index::rider_index(rider_index&&) noexcept = default;
rider_index& rider_index::operator=(rider_index&&) noexcept = default;

rider_index::cell& rider_index::cell_at(std::uint32_t global) noexcept {
  return tiles_[global >> 8]->cells[global & 0xFF];
}
const rider_index::cell& rider_index::cell_at(std::uint32_t global) const noexcept {
  return tiles_[global >> 8]->cells[global & 0xFF];
}

void rider_index::prefetch_cell(const cell& c, bool with_ids) noexcept {
  const std::byte* data = c.data.get();
  __builtin_prefetch(data);
  if (!with_ids) return;
  const std::byte* ids = reinterpret_cast<const std::byte*>(c.ids());
  const std::byte* end = ids + std::size_t{c.size} * sizeof(rider_id);
  for (const std::byte* line = ids; line < end && line < ids + 4 * 64; line += 64)
    __builtin_prefetch(line);
}

// ---- rider id -> slot -> (cell, index) -------------------------------------

const rider_id& rider_index::id_of(std::uint32_t slot) const noexcept {
  const place& at = places_[slot];
  return cell_at(at.cell).ids()[at.pos];
}

rider_index::found rider_index::find(const rider_id& rider, std::uint64_t h) const noexcept {
  if (table_.empty()) return {kNotFound, 0};
  const std::size_t mask = table_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const std::uint32_t b = table_[i];
    if (b == kEmpty) return {kNotFound, 0};
    if ((b & 0xFF) == tag_of(h) && id_of(bucket_slot(b)) == rider) return {i, bucket_slot(b)};
  }
}

void rider_index::table_reserve(std::size_t riders) {
  if (riders * 5 <= table_.size() * 4) return;  // load <= 0.8
  std::vector<std::uint32_t> old(std::max<std::size_t>(16, table_.size() * 2), kEmpty);
  old.swap(table_);
  for (const std::uint32_t b : old)
    if (b != kEmpty) table_insert(b, hash_id(id_of(bucket_slot(b))));
}

void rider_index::table_insert(std::uint32_t bucket, std::uint64_t h) noexcept {
  const std::size_t mask = table_.size() - 1;
  std::size_t i = h & mask;
  while (table_[i] != kEmpty) i = (i + 1) & mask;
  table_[i] = bucket;
}

void rider_index::table_erase(std::size_t i) noexcept {
  // Backward-shift deletion keeps probe chains unbroken without tombstones.
  const std::size_t mask = table_.size() - 1;
  std::size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    const std::uint32_t b = table_[j];
    if (b == kEmpty) break;
    const std::size_t home = hash_id(id_of(bucket_slot(b))) & mask;
    // The bucket at j may fill the hole at i unless its home lies
    // cyclically in (i, j].
    const bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      table_[i] = b;
      i = j;
    }
  }
  table_[i] = kEmpty;
}

// Room for one more slot, grown by a quarter (like the cells) rather than
// doubled: the places are 8 bytes per rider and their slack counts.
void rider_index::places_reserve() {
  if (free_slot_ != kNone || places_.size() < places_.capacity()) return;
  const std::size_t n = std::max<std::size_t>(16, places_.size() + places_.size() / 4);
  places_.reserve(n);
  generations_.reserve(n);
}

// ---- tiles and cells ------------------------------------------------------

// The tile map's entry: key, tile and its number side by side, so that a
// lookup reads one line before it goes to the tile.
struct rider_index::tile_entry {
  std::uint64_t key = kNoTileKey;  // row << 32 | column; kNoTileKey: empty
  tile* ptr = nullptr;
  std::uint32_t number = 0;
};

inline const rider_index::tile_entry* rider_index::find_tile_entry(std::uint32_t tx,
                                                                   std::uint32_t ty) const noexcept {
  if (tile_map_.empty()) return nullptr;
  const std::uint64_t key = (std::uint64_t{ty} << 32) | tx;
  const std::size_t mask = tile_map_.size() - 1;
  for (std::size_t i = hash_tile(key) & mask;; i = (i + 1) & mask) {
    const tile_entry& e = tile_map_[i];
    if (e.key == key) return &e;
    if (e.key == kNoTileKey) return nullptr;
  }
}

std::uint32_t rider_index::find_tile(std::uint32_t tx, std::uint32_t ty) const noexcept {
  const tile_entry* e = find_tile_entry(tx, ty);
  return e ? e->number : kNone;
}

void rider_index::tile_map_put(std::uint32_t number) noexcept {
  const tile& t = *tiles_[number];
  const std::uint64_t key = (std::uint64_t{t.ty} << 32) | t.tx;
  const std::size_t mask = tile_map_.size() - 1;
  std::size_t i = hash_tile(key) & mask;
  while (tile_map_[i].key != kNoTileKey) i = (i + 1) & mask;
  tile_map_[i] = {key, tiles_[number].get(), number};
}

void rider_index::tile_map_grow() {
  std::vector<tile_entry> grown(std::max<std::size_t>(16, tile_map_.size() * 2));
  tile_map_.swap(grown);
  for (std::size_t t = 0; t < tiles_.size(); ++t) tile_map_put(static_cast<std::uint32_t>(t));
}

std::uint32_t rider_index::find_or_add_tile(std::uint32_t tx, std::uint32_t ty) {
  if (const std::uint32_t t = find_tile(tx, ty); t != kNone) return t;
  if ((tiles_.size() + 1) * 2 > tile_map_.size()) tile_map_grow();
  auto fresh = std::make_unique<tile>();
  fresh->tx = tx;
  fresh->ty = ty;
  tiles_.push_back(std::move(fresh));
  const auto t = static_cast<std::uint32_t>(tiles_.size() - 1);
  tile_map_put(t);
  return t;
}

// Grows a cell's block by a quarter (not double): cells hold a handful of
// riders, and their slack is what dominates the bytes per rider.
void rider_index::cell_reserve(std::uint32_t global) {
  cell& c = cell_at(global);
  if (c.size < c.capacity) return;
  const std::uint32_t capacity = c.capacity < 4 ? c.capacity + 2 : c.capacity + c.capacity / 4;
  cell grown;
  grown.data = std::make_unique_for_overwrite<std::byte[]>(std::size_t{capacity} * cell::kBytesPerRider);
  grown.capacity = capacity;
  grown.size = c.size;
  if (c.size != 0) {
    std::memcpy(grown.points(), c.points(), c.size * sizeof(fixed_point));
    std::memcpy(grown.slots(), c.slots(), c.size * sizeof(std::uint32_t));
    std::memcpy(static_cast<void*>(grown.ids()), c.ids(), c.size * sizeof(rider_id));
  }
  c = std::move(grown);
}

// Requires: cell_reserve(global) since the cell last grew.
std::uint32_t rider_index::cell_push(std::uint32_t global, const rider_id& rider,
                                     std::uint32_t slot, std::int32_t lon,
                                     std::int32_t lat) noexcept {
  cell& c = cell_at(global);
  assert(c.size < c.capacity);
  c.points()[c.size] = {lon, lat};
  c.slots()[c.size] = slot;
  std::memcpy(static_cast<void*>(c.ids() + c.size), &rider, sizeof(rider_id));
  return c.size++;
}

// Removes the rider at pos by moving the last one into its place (and
// repointing that one's slot).
void rider_index::cell_erase(std::uint32_t global, std::uint32_t pos) noexcept {
  cell& c = cell_at(global);
  --c.size;
  if (pos == c.size) return;
  c.points()[pos] = c.points()[c.size];
  const std::uint32_t moved = c.slots()[c.size];
  c.slots()[pos] = moved;
  std::memcpy(static_cast<void*>(c.ids() + pos), c.ids() + c.size, sizeof(rider_id));
  places_[moved].pos = pos;
}

// ---- updates ----------------------------------------------------------------

status_result rider_index::update(const rider_id& rider, geo_point p) {
  return update_hashed(rider, p, hash_id(rider));
}

std::size_t rider_index::update_many(std::span<const rider_update> batch) {
  // A four-stage pipeline, each stage a cache miss ahead of the next: report
  // j asks for its table bucket and destination cell record, report j - 3
  // for its slot's place and the cell's block, report j - 6 for the block of
  // the cell it is in now, report j - 9 is applied.
  constexpr std::size_t kStep = 3;
  constexpr std::size_t kAhead = 3 * kStep;
  std::array<std::uint64_t, kAhead + 1> hashes{};
  std::size_t applied = 0;
  const std::size_t n = batch.size();
  for (std::size_t j = 0; j < n + kAhead; ++j) {
    // Apply first: report j's hash takes the place of report j - 10's.
    if (j >= kAhead) {
      const rider_update& u = batch[j - kAhead];
      applied += update_hashed(u.rider, u.position, hashes[(j - kAhead) % hashes.size()]).ok();
    }
    for (int stage = 2; stage >= 1; --stage) {
      const std::size_t back = kStep * static_cast<std::size_t>(stage);
      if (j >= back && j - back < n)
        prefetch_update(batch[j - back], hashes[(j - back) % hashes.size()], stage);
    }
    if (j < n) {
      hashes[j % hashes.size()] = hash_id(batch[j].rider);
      prefetch_update(batch[j], hashes[j % hashes.size()], 0);
    }
  }
  return applied;
}

// Stage 0: the table bucket and the destination cell record; 1: the
// destination block and the slot's place (from the bucket, if its tag
// matches); 2: the block of the rider's present cell (from the place).
void rider_index::prefetch_update(const rider_update& u, std::uint64_t h,
                                  int stage) const noexcept {
  if (table_.empty() || !is_valid_point(u.position)) return;
  const std::uint32_t b = table_[h & (table_.size() - 1)];
  const bool tagged = b != kEmpty && (b & 0xFF) == tag_of(h);
  if (stage == 2) {
    if (tagged) prefetch_cell(cell_at(places_[bucket_slot(b)].cell));
    return;
  }
  const grid_spot at = locate(u.position);
  const tile_entry* t = find_tile_entry(at.tx(), at.ty());
  const cell* c = t ? &t->ptr->cells[at.local] : nullptr;
  if (stage == 1) {
    if (c) prefetch_cell(*c);
    if (tagged) __builtin_prefetch(&places_[bucket_slot(b)]);
  } else {
    __builtin_prefetch(&table_[h & (table_.size() - 1)]);
    if (c) __builtin_prefetch(c);
  }
}

inline rider_index::grid_spot rider_index::locate(geo_point p) const noexcept {
  grid_spot g;
  g.lon = to_fixed(p.lon);
  g.lat = to_fixed(p.lat);
  g.cx = static_cast<std::uint32_t>(column(g.lon, lon_bits_));
  g.cy = static_cast<std::uint32_t>(row(g.lat, lat_bits_));
  g.local = ((g.cy & (kTileSide - 1)) << kTileShift) | (g.cx & (kTileSide - 1));
  return g;
}

// Moves the rider in slot (now at `at`) to `to`, in the tile t_entry names
// (nullptr: not created yet).
inline void rider_index::move_slot(std::uint32_t slot, place at, const grid_spot& to,
                                   const tile_entry* t_entry) {
  if (t_entry && at.cell == ((t_entry->number << 8) | to.local)) [[likely]] {
    // The common move of a few tens of metres: same cell, rewrite in place.
    t_entry->ptr->cells[to.local].points()[at.pos] = {to.lon, to.lat};
    return;
  }
  move_across(slot, at, to, t_entry);
}

// Out of line: the hot same-cell path stays small.
[[gnu::noinline]] void rider_index::move_across(std::uint32_t slot, place at, const grid_spot& to,
                                                const tile_entry* t_entry) {
  // The rider's id comes along from its present block, and the destination
  // block is written: ask for both first.
  const rider_id& id = cell_at(at.cell).ids()[at.pos];
  __builtin_prefetch(&id);
  if (t_entry) __builtin_prefetch(t_entry->ptr->cells[to.local].data.get());
  // Everything that may allocate happens before the index changes.
  const std::uint32_t t_new = t_entry ? t_entry->number : find_or_add_tile(to.tx(), to.ty());
  const std::uint32_t global = (t_new << 8) | to.local;
  cell_reserve(global);
  const std::uint32_t pos = cell_push(global, id, slot, to.lon, to.lat);
  places_[slot].cell = global;
  places_[slot].pos = pos;
  cell_erase(at.cell, at.pos);
}

status_result rider_index::update_hashed(const rider_id& rider, geo_point p, std::uint64_t h) {
  if (rider.empty()) return {errc::empty_id, "riderId"};
  if (const errc e = check_point(p); e != errc::ok) return {e, point_field(e)};
  const grid_spot to = locate(p);
  // A rider reporting every 15 s is most likely still in the cell of its new
  // position: fetch that cell's block while the table is probed, so the
  // cache misses of a move overlap instead of following each other.
  const tile_entry* t_new = find_tile_entry(to.tx(), to.ty());
  if (t_new) prefetch_cell(t_new->ptr->cells[to.local]);
  const found f = find(rider, h);
  if (f.bucket != kNotFound) {
    move_slot(f.slot, places_[f.slot], to, t_new);
    return {};
  }
  if (size_ >= rider_index_max_size)
    throw std::length_error("rider_index: more than 2^24 - 1 riders");
  const std::uint32_t global = (find_or_add_tile(to.tx(), to.ty()) << 8) | to.local;
  cell_reserve(global);
  table_reserve(size_ + 1);
  places_reserve();
  std::uint32_t slot;
  if (free_slot_ != kNone) {
    slot = free_slot_;
    free_slot_ = places_[slot].pos;
  } else {
    slot = static_cast<std::uint32_t>(places_.size());
    places_.push_back({});
    generations_.push_back(0);
  }
  const std::uint32_t pos = cell_push(global, rider, slot, to.lon, to.lat);
  places_[slot] = {global, pos};
  table_insert(make_bucket(slot, h), h);
  ++size_;
  return {};
}

status_result rider_index::update(rider_handle rider, geo_point p) {
  // The slot's place and the destination cell are read side by side: two
  // cache misses that overlap, and no id hashed or compared.
  const std::uint32_t slot = rider.value & kSlotMask;
  if (slot >= places_.size() || generations_[slot] != rider.value >> 24) [[unlikely]]
    return {errc::unknown_rider, "riderId"};
  const place at = places_[slot];
  if (at.cell == kNone) [[unlikely]]
    return {errc::unknown_rider, "riderId"};
  if (const errc e = check_point(p); e != errc::ok) [[unlikely]]
    return {e, point_field(e)};
  const grid_spot to = locate(p);
  move_slot(slot, at, to, find_tile_entry(to.tx(), to.ty()));
  return {};
}

result<rider_handle> rider_index::handle_of(const rider_id& rider) const {
  const found f = find(rider, hash_id(rider));
  if (f.bucket == kNotFound) return {errc::unknown_rider, "riderId"};
  return rider_handle{(std::uint32_t{generations_[f.slot]} << 24) | f.slot};
}

status_result rider_index::remove(const rider_id& rider) {
  const found f = find(rider, hash_id(rider));
  if (f.bucket == kNotFound) return {errc::unknown_rider, "riderId"};
  const place at = places_[f.slot];
  table_erase(f.bucket);
  cell_erase(at.cell, at.pos);
  // The generation moves on, so that handles of the removed rider are refused.
  places_[f.slot] = {kNone, free_slot_};
  ++generations_[f.slot];
  free_slot_ = f.slot;
  --size_;
  return {};
}

result<geo_point> rider_index::position(const rider_id& rider) const {
  const found f = find(rider, hash_id(rider));
  if (f.bucket == kNotFound) return {errc::unknown_rider, "riderId"};
  const place& at = places_[f.slot];
  const fixed_point& q = cell_at(at.cell).points()[at.pos];
  return geo_point{from_fixed(q.lon), from_fixed(q.lat)};
}

bool rider_index::contains(const rider_id& rider) const noexcept {
  return find(rider, hash_id(rider)).bucket != kNotFound;
}

void rider_index::clear() noexcept {
  for (auto& t : tiles_)
    for (cell& c : t->cells) c.size = 0;
  std::fill(table_.begin(), table_.end(), kEmpty);
  // Every slot is freed and its generation moved on.
  free_slot_ = kNone;
  for (std::size_t i = places_.size(); i-- > 0;) {
    places_[i] = {kNone, free_slot_};
    ++generations_[i];
    free_slot_ = static_cast<std::uint32_t>(i);
  }
  size_ = 0;
}

std::size_t rider_index::memory_bytes() const noexcept {
  std::size_t bytes = sizeof(*this);
  bytes += table_.capacity() * sizeof(table_[0]);
  bytes += places_.capacity() * sizeof(place) + generations_.capacity();
  bytes += tiles_.capacity() * sizeof(tiles_[0]) + tiles_.size() * sizeof(tile);
  for (const auto& t : tiles_)
    for (const cell& c : t->cells) bytes += c.capacity * cell::kBytesPerRider;
  bytes += tile_map_.capacity() * sizeof(tile_entry);
  return bytes;
}

// ---- queries ----------------------------------------------------------------

status_result rider_index::check_query(geo_point center, double radius_m) const noexcept {
  if (const errc e = check_point(center); e != errc::ok) return {e, point_field(e)};
  if (!(radius_m >= 0.0 && radius_m <= rider_index_max_radius_m))
    return {errc::invalid_radius, "radius"};
  return {};
}

rider_index::query_box rider_index::make_box(geo_point center, double radius_m,
                                             const cheap_ruler& ruler) const noexcept {
  query_box b;
  b.ky = ruler.ky();
  const std::int64_t ncols = std::int64_t{1} << lon_bits_;
  const std::int64_t nrows = std::int64_t{1} << lat_bits_;
  const double dlat = radius_m / b.ky * (1 + kSlackRel) + kSlackDeg;
  const double lat_lo = std::max(-90.0, center.lat - dlat);
  const double lat_hi = std::min(90.0, center.lat + dlat);
  // The metric's metres per degree of longitude is linear in the pair's mean
  // latitude, so over the band its least value is at one end (it stays
  // positive short of the poles). Ask the ruler itself rather than re-derive.
  const double mean_lo = (center.lat + lat_lo) * 0.5;
  const double mean_hi = (center.lat + lat_hi) * 0.5;
  const double kx_lo = ruler.distance_m({0.0, mean_lo}, {1.0, mean_lo});
  const double kx_hi = ruler.distance_m({0.0, mean_hi}, {1.0, mean_hi});
  b.kx_min = std::min(kx_lo, kx_hi) * (1 - 1e-6);
  const double dlon = b.kx_min > 0 ? radius_m / b.kx_min * (1 + kSlackRel) + kSlackDeg : 360.0;
  const double w = 360.0 / static_cast<double>(ncols);
  // Beyond a quarter turn the unwrapped geometry of rings and gaps would no
  // longer match the wrapped metric; such queries (poles, huge radii) scan
  // whole rows instead.
  if (dlon >= 90.0) {
    b.all_lon = true;
  } else {
    b.cx_lo = static_cast<std::int64_t>(std::floor((center.lon - dlon + 180.0) / w));
    b.cx_hi = static_cast<std::int64_t>(std::floor((center.lon + dlon + 180.0) / w));
    if (b.cx_hi - b.cx_lo + 1 >= ncols) b.all_lon = true;
  }
  if (b.all_lon) {
    b.cx_lo = 0;
    b.cx_hi = ncols - 1;
  }
  const double hgt = 180.0 / static_cast<double>(nrows);
  b.cy_lo = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor((lat_lo + 90.0) / hgt)),
                                     0, nrows - 1);
  b.cy_hi = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor((lat_hi + 90.0) / hgt)),
                                     0, nrows - 1);
  return b;
}

// Calls fn(cell, column, row) for every non-empty cell of the box; columns
// are unwrapped (may lie outside 0..2^lon_bits - 1) in the box's frame.
template <class F>
void rider_index::visit_box(const query_box& box, F&& fn, bool reads_ids) const {
  const std::int64_t ncols = std::int64_t{1} << lon_bits_;
  const std::int64_t width = box.cx_hi - box.cx_lo + 1;
  const std::int64_t height = box.cy_hi - box.cy_lo + 1;
  if (width <= 0 || height <= 0 || tiles_.empty()) return;
  constexpr std::int64_t kSide = kTileSide;
  if (static_cast<double>(width) * static_cast<double>(height) >
      static_cast<double>(tiles_.size()) * kSide * kSide) {
    // The box spans more cells than exist: walk the tiles instead.
    for (const auto& t : tiles_) {
      for (std::uint32_t local = 0; local < kTileSide * kTileSide; ++local) {
        const cell& c = t->cells[local];
        if (c.size == 0) continue;
        const std::int64_t cy = std::int64_t{t->ty} * kSide + (local >> kTileShift);
        if (cy < box.cy_lo || cy > box.cy_hi) continue;
        const std::int64_t cx = std::int64_t{t->tx} * kSide + (local & (kTileSide - 1));
        const std::int64_t rel = (cx - box.cx_lo) & (ncols - 1);
        if (rel >= width) continue;
        fn(c, box.cx_lo + rel, cy);
      }
    }
    return;
  }
  const std::int64_t tile_cols = ncols >> kTileShift;
  for (std::int64_t ty = box.cy_lo >> kTileShift; ty <= box.cy_hi >> kTileShift; ++ty) {
    const std::int64_t y0 = std::max(box.cy_lo, ty * kSide);
    const std::int64_t y1 = std::min(box.cy_hi, ty * kSide + kSide - 1);
    for (std::int64_t txu = box.cx_lo >> kTileShift; txu <= box.cx_hi >> kTileShift; ++txu) {
      const std::uint32_t t = find_tile(static_cast<std::uint32_t>(txu & (tile_cols - 1)),
                                        static_cast<std::uint32_t>(ty));
      if (t == kNone) continue;
      const tile& tl = *tiles_[t];
      const std::int64_t x0 = std::max(box.cx_lo, txu * kSide);
      const std::int64_t x1 = std::min(box.cx_hi, txu * kSide + kSide - 1);
      for (std::int64_t y = y0; y <= y1; ++y) {
        // Each cell is its own block somewhere on the heap: ask for the whole
        // row segment's blocks at once, so their cache misses overlap.
        std::array<const cell*, kTileSide> row_cells;
        std::array<std::int64_t, kTileSide> row_x;
        std::size_t n = 0;
        for (std::int64_t x = x0; x <= x1; ++x) {
          const cell& c = tl.cells[static_cast<std::size_t>(((y & (kSide - 1)) << kTileShift) |
                                                            (x & (kSide - 1)))];
          if (c.size == 0) continue;
          prefetch_cell(c, reads_ids);
          row_cells[n] = &c;
          row_x[n++] = x;
        }
        for (std::size_t i = 0; i < n; ++i) fn(*row_cells[i], row_x[i], y);
      }
    }
  }
}

namespace {

// A lower bound of the metric distance from the centre to any point of the
// cell (column cx unwrapped, row cy), shrunk by the slack.
struct cell_bound {
  geo_point center;
  double w, h, kx_min, ky;

  double operator()(std::int64_t cx, std::int64_t cy) const noexcept {
    const double west = static_cast<double>(cx) * w - 180.0;
    const double south = static_cast<double>(cy) * h - 90.0;
    const double gx = std::max(0.0, lon_gap(center.lon, west, west + w) - kSlackDeg) * kx_min;
    const double gy =
        std::max(0.0, std::max(south - center.lat, center.lat - (south + h)) - kSlackDeg) * ky;
    return std::sqrt(gx * gx + gy * gy) * (1 - kSlackRel);
  }
};

}  // namespace

template <class Result, class Make>
status_result rider_index::within_into(geo_point center, double radius_m, std::vector<Result>& out,
                                       Make make) const {
  if (const status_result st = check_query(center, radius_m); !st.ok()) return st;
  out.clear();
  if (size_ == 0) return {};
  const cheap_ruler ruler(center.lat);
  const query_box box = make_box(center, radius_m, ruler);
  const cell_bound bound{center, 360.0 / static_cast<double>(std::int64_t{1} << lon_bits_),
                         180.0 / static_cast<double>(std::int64_t{1} << lat_bits_), box.kx_min,
                         box.ky};
  // Bounds of radius² with room for its rounding: below r2_below the root is
  // surely <= radius, above r2_above surely not.
  const double r2_below = radius_m * radius_m * (1 - 1e-9);
  const double r2_above = radius_m * radius_m * (1 + 1e-9);
  visit_box(
      box,
      [&](const cell& c, std::int64_t cx, std::int64_t cy) {
        if (bound(cx, cy) > radius_m) return;
        const fixed_point* points = c.points();
        for (std::uint32_t i = 0; i < c.size; ++i) {
          // Decide on the square, so that the branch does not wait for the
          // root; only a point within a hair of the edge takes the exact test.
          const double s =
              ruler.squared_m2(center, {from_fixed(points[i].lon), from_fixed(points[i].lat)});
          if (s > r2_above) continue;
          const double d = std::sqrt(s);
          if (s >= r2_below && d > radius_m) continue;
          out.push_back(make(c.ids()[i], d));
        }
      },
      std::is_same_v<Result, nearby_rider>);  // by reference: the ids' addresses only
  return {};
}

status_result rider_index::within(geo_point center, double radius_m,
                                  std::vector<nearby_rider>& out) const {
  return within_into(center, radius_m, out,
                     [](const rider_id& id, double d) { return nearby_rider{id, d}; });
}

status_result rider_index::within(geo_point center, double radius_m,
                                  std::vector<nearby_rider_ref>& out) const {
  return within_into(center, radius_m, out,
                     [](const rider_id& id, double d) { return nearby_rider_ref{&id, d}; });
}

namespace {

// The best k candidates so far as a max-heap: the worst on top. Ties in
// distance go to the smaller rider id.
template <class Candidate>
struct worse_last {
  bool operator()(const Candidate& a, const Candidate& b) const noexcept {
    return a.distance_m < b.distance_m || (a.distance_m == b.distance_m && *a.rider < *b.rider);
  }
};

template <class Candidate, class Storage>
class best_k {
 public:
  best_k(Storage& items, std::size_t k) : items_(items), k_(k) {}
  bool full() const noexcept { return n_ == k_; }
  double worst() const noexcept { return items_[0].distance_m; }
  void offer(double d, const rider_id* rider) noexcept {
    if (n_ < k_) {
      items_[n_++] = {d, rider};
      std::push_heap(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(n_), worse_last<Candidate>{});
      return;
    }
    if (d > items_[0].distance_m || (d == items_[0].distance_m && !(*rider < *items_[0].rider)))
      return;
    const auto end = items_.begin() + static_cast<std::ptrdiff_t>(n_);
    std::pop_heap(items_.begin(), end, worse_last<Candidate>{});
    items_[n_ - 1] = {d, rider};
    std::push_heap(items_.begin(), end, worse_last<Candidate>{});
  }
  // Sorts nearest first and returns how many there are.
  std::size_t finish() noexcept {
    std::sort_heap(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(n_), worse_last<Candidate>{});
    return n_;
  }

 private:
  Storage& items_;
  std::size_t k_;
  std::size_t n_ = 0;
};

// Up to this k the candidates live on the stack: no allocation.
constexpr std::size_t kStackK = 64;

}  // namespace

status_result rider_index::nearby(geo_point center, double radius_m, std::size_t k,
                                  std::vector<nearby_rider>& out) const {
  if (const status_result st = check_query(center, radius_m); !st.ok()) return st;
  if (k == 0) return {errc::invalid_k, "k"};
  out.clear();
  if (size_ == 0) return {};
  k = std::min(k, size_);
  // Candidates point at ids inside the cells; ids are copied out only for the
  // k winners, so a candidate that is later beaten costs no id copy.
  auto emit = [&](auto& items, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out.push_back({*items[i].rider, items[i].distance_m});
  };
  if (k <= kStackK) {
    std::array<candidate, kStackK> items;
    best_k<candidate, std::array<candidate, kStackK>> heap(items, k);
    search_nearest(center, radius_m, heap);
    emit(items, heap.finish());
  } else {
    std::vector<candidate> items(k);
    best_k<candidate, std::vector<candidate>> heap(items, k);
    search_nearest(center, radius_m, heap);
    emit(items, heap.finish());
  }
  return {};
}

template <class Heap>
void rider_index::search_nearest(geo_point center, double radius_m, Heap& heap) const {
  const cheap_ruler ruler(center.lat);
  const query_box box = make_box(center, radius_m, ruler);
  const double w = 360.0 / static_cast<double>(std::int64_t{1} << lon_bits_);
  const double h = 180.0 / static_cast<double>(std::int64_t{1} << lat_bits_);
  const cell_bound bound{center, w, h, box.kx_min, box.ky};

  auto limit = [&] { return heap.full() ? heap.worst() : radius_m; };
  auto consider = [&](const cell& c, std::int64_t cx, std::int64_t cy) {
    if (bound(cx, cy) > limit()) return;
    const fixed_point* points = c.points();
    for (std::uint32_t i = 0; i < c.size; ++i) {
      const double d =
          ruler.distance_m(center, {from_fixed(points[i].lon), from_fixed(points[i].lat)});
      if (d <= radius_m) heap.offer(d, c.ids() + i);
    }
  };

  if (box.all_lon) {
    visit_box(box, consider);
    return;
  }
  // Rings of cells around the centre's cell, nearest first, until the next
  // ring cannot hold anything better than the k-th found so far. A ring
  // budget of the number of existing cells bounds the work when the riders
  // are sparse; the rest of the box is then walked tile by tile.
  const std::int64_t ncols = std::int64_t{1} << lon_bits_;
  const auto ccx = static_cast<std::int64_t>(std::floor((center.lon + 180.0) / w));
  const auto ccy = std::clamp<std::int64_t>(
      static_cast<std::int64_t>(std::floor((center.lat + 90.0) / h)), box.cy_lo, box.cy_hi);
  const double budget = static_cast<double>(tiles_.size()) * kTileSide * kTileSide;
  struct pending {
    const cell* c;
    std::int64_t x, y;
  };
  std::array<pending, 32> batch;
  std::size_t batched = 0;
  auto flush = [&] {
    for (std::size_t i = 0; i < batched; ++i) consider(*batch[i].c, batch[i].x, batch[i].y);
    batched = 0;
  };
  std::uint32_t cached_x = kNone, cached_y = kNone, cached_tile = kNone;
  auto visit = [&](std::int64_t x, std::int64_t y) {
    const auto xw = static_cast<std::uint32_t>(x & (ncols - 1));
    const auto yw = static_cast<std::uint32_t>(y);
    if ((xw >> kTileShift) != cached_x || (yw >> kTileShift) != cached_y) {
      cached_x = xw >> kTileShift;
      cached_y = yw >> kTileShift;
      cached_tile = find_tile(cached_x, cached_y);
    }
    if (cached_tile == kNone) return;
    const cell& c =
        tiles_[cached_tile]->cells[((yw & (kTileSide - 1)) << kTileShift) | (xw & (kTileSide - 1))];
    if (c.size == 0) return;
    // A ring's cells are gathered and prefetched together (see visit_box).
    prefetch_cell(c);
    batch[batched++] = {&c, x, y};
    if (batched == batch.size()) flush();
  };
  auto gap = [](double g) { return std::max(0.0, g - kSlackDeg); };
  double visited = 0;
  for (std::int64_t ring = 0;; ++ring) {
    const std::int64_t x0 = std::max(ccx - ring, box.cx_lo);
    const std::int64_t x1 = std::min(ccx + ring, box.cx_hi);
    const std::int64_t y0 = std::max(ccy - ring, box.cy_lo);
    const std::int64_t y1 = std::min(ccy + ring, box.cy_hi);
    if (ring == 0) {
      if (ccx >= box.cx_lo && ccx <= box.cx_hi) visit(ccx, ccy);
    } else {
      if (ccy - ring >= box.cy_lo)
        for (std::int64_t x = x0; x <= x1; ++x) visit(x, ccy - ring);
      if (ccy + ring <= box.cy_hi)
        for (std::int64_t x = x0; x <= x1; ++x) visit(x, ccy + ring);
      const std::int64_t ry0 = std::max(ccy - ring + 1, box.cy_lo);
      const std::int64_t ry1 = std::min(ccy + ring - 1, box.cy_hi);
      if (ccx - ring >= box.cx_lo)
        for (std::int64_t y = ry0; y <= ry1; ++y) visit(ccx - ring, y);
      if (ccx + ring <= box.cx_hi)
        for (std::int64_t y = ry0; y <= ry1; ++y) visit(ccx + ring, y);
    }
    flush();
    visited += static_cast<double>((x1 - x0 + 1) * (y1 - y0 + 1));
    // The next ring lies beyond the edges of this square; anything there is
    // at least the smallest gap to an edge that still has cells beyond it.
    double next = std::numeric_limits<double>::infinity();
    const double west = static_cast<double>(ccx - ring) * w - 180.0;
    const double east = static_cast<double>(ccx + ring + 1) * w - 180.0;
    const double south = static_cast<double>(ccy - ring) * h - 90.0;
    const double north = static_cast<double>(ccy + ring + 1) * h - 90.0;
    if (ccx - ring - 1 >= box.cx_lo) next = std::min(next, gap(center.lon - west) * box.kx_min);
    if (ccx + ring + 1 <= box.cx_hi) next = std::min(next, gap(east - center.lon) * box.kx_min);
    if (ccy - ring - 1 >= box.cy_lo) next = std::min(next, gap(center.lat - south) * box.ky);
    if (ccy + ring + 1 <= box.cy_hi) next = std::min(next, gap(north - center.lat) * box.ky);
    if (next == std::numeric_limits<double>::infinity()) return;  // the box is done
    if (next * (1 - kSlackRel) > limit()) return;
    if (visited > budget) {
      visit_box(box, [&](const cell& c, std::int64_t cx, std::int64_t cy) {
        if (cx >= ccx - ring && cx <= ccx + ring && cy >= ccy - ring && cy <= ccy + ring) return;
        consider(c, cx, cy);
      });
      return;
    }
  }
}

// ---- cell counts --------------------------------------------------------------

result<std::size_t> rider_index::count_in_cell(geohash_int h) const {
  if (!check_geohash_int(h).ok()) return {errc::invalid_geohash_bits, "bitCount"};
  const int n = h.bit_count;
  const int hl = (n + 1) / 2;
  const int ha = n / 2;
  const std::uint64_t b60 = h.bits << (geohash_max_bits - n);
  const std::uint64_t hx = compact_bits(b60 >> 1) >> (30 - hl);
  const std::uint64_t hy = compact_bits(b60) >> (30 - ha);
  if (n <= cell_bits()) {
    query_box box;
    box.cx_lo = static_cast<std::int64_t>(hx << (lon_bits_ - hl));
    box.cx_hi = static_cast<std::int64_t>(((hx + 1) << (lon_bits_ - hl)) - 1);
    box.cy_lo = static_cast<std::int64_t>(hy << (lat_bits_ - ha));
    box.cy_hi = static_cast<std::int64_t>(((hy + 1) << (lat_bits_ - ha)) - 1);
    std::size_t sum = 0;
    visit_box(box, [&](const cell& c, std::int64_t, std::int64_t) { sum += c.size; });
    return sum;
  }
  // A cell finer than the grid: count the riders of its grid cell inside it.
  const std::uint64_t cx = hx >> (hl - lon_bits_);
  const std::uint64_t cy = hy >> (ha - lat_bits_);
  const std::uint32_t t = find_tile(static_cast<std::uint32_t>(cx >> kTileShift),
                                    static_cast<std::uint32_t>(cy >> kTileShift));
  if (t == kNone) return std::size_t{0};
  const cell& c = tiles_[t]->cells[((cy & (kTileSide - 1)) << kTileShift) | (cx & (kTileSide - 1))];
  std::size_t count = 0;
  for (std::uint32_t i = 0; i < c.size; ++i)
    count += column(c.points()[i].lon, hl) == hx && row(c.points()[i].lat, ha) == hy;
  return count;
}

status_result rider_index::cell_counts(int bit_count, std::vector<cell_count>& out) const {
  if (bit_count < 1 || bit_count > geohash_max_bits) return {errc::invalid_geohash_bits, "bitCount"};
  out.clear();
  const int hl = (bit_count + 1) / 2;
  const int ha = bit_count / 2;
  for (const auto& t : tiles_) {
    for (std::uint32_t local = 0; local < kTileSide * kTileSide; ++local) {
      const cell& c = t->cells[local];
      if (c.size == 0) continue;
      const std::uint64_t cx = (std::uint64_t{t->tx} << kTileShift) | (local & (kTileSide - 1));
      const std::uint64_t cy = (std::uint64_t{t->ty} << kTileShift) | (local >> kTileShift);
      if (bit_count <= cell_bits()) {
        out.push_back({join(cx >> (lon_bits_ - hl), hl, cy >> (lat_bits_ - ha), ha), c.size});
      } else {
        for (std::uint32_t i = 0; i < c.size; ++i)
          out.push_back(
              {join(column(c.points()[i].lon, hl), hl, row(c.points()[i].lat, ha), ha), 1});
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const cell_count& a, const cell_count& b) { return a.cell.bits < b.cell.bits; });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (kept != 0 && out[kept - 1].cell == out[i].cell) {
      out[kept - 1].count += out[i].count;
    } else {
      out[kept++] = out[i];
    }
  }
  out.resize(kept);
  return {};
}

}  // namespace xiaoxiang
