#include "xiaoxiang/eta/speed_model.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>

#include "xiaoxiang/geo/geohash.hpp"

namespace xiaoxiang {
namespace {

std::size_t table_size(std::size_t capacity) {
  // Open addressing stays short-probed below half full.
  return std::bit_ceil(std::max<std::size_t>(capacity * 2, 16));
}

std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

}  // namespace

speed_model::speed_model(const speed_model_options& options)
    : options_(options), buckets_(1440 / std::clamp(options.bucket_minutes, 60, 1440)) {
  fine_.bits = options.fine_cell_bits;
  coarse_.bits = options.coarse_cell_bits;
  const std::size_t nf = table_size(options.fine_cells);
  const std::size_t nc = table_size(options.coarse_cells);
  for (auto [t, n] : {std::pair{&fine_, nf}, std::pair{&coarse_, nc}}) {
    t->keys = std::make_unique<std::atomic<std::uint64_t>[]>(n);  // value-initialised: empty
    t->cells = std::make_unique<cell[]>(n);
    t->mask = n - 1;
  }
}

speed_model::~speed_model() = default;

int speed_model::bucket(timestamp_ms t) const noexcept {
  const std::int64_t minute = t / 60'000 + options_.utc_offset_minutes;
  const std::int64_t of_day = ((minute % 1440) + 1440) % 1440;
  return static_cast<int>(of_day / (1440 / buckets_));
}

void speed_model::add(sums& s, std::uint64_t dm, std::uint64_t ms) noexcept {
  s.dm.fetch_add(dm, std::memory_order_relaxed);
  s.ms.fetch_add(ms, std::memory_order_relaxed);
}

speed_observations speed_model::read(const sums& s) noexcept {
  return {static_cast<double>(s.dm.load(std::memory_order_relaxed)) * 0.1,
          static_cast<double>(s.ms.load(std::memory_order_relaxed)) * 0.001};
}

bool speed_model::fine_bits(geo_point p, std::uint64_t& bits) const noexcept {
  const auto h = point_to_geohash_int(p, fine_.bits);
  if (!h) return false;
  bits = h->bits;
  return true;
}

speed_model::cell* speed_model::find(const table& t, std::uint64_t bits, bool insert,
                                     std::atomic<std::uint64_t>& dropped) const noexcept {
  const std::uint64_t key = bits + 1;
  std::size_t i = mix(key) & t.mask;
  // Probe a short run only: beyond it the cell counts as not learned (and,
  // inserting, the table as full there). A bound proportional to the table
  // made every lookup of an unknown cell scan thousands of slots once the
  // table filled up (a city's worth of cells), on the ingest hot path.
  constexpr std::size_t kMaxProbe = 32;
  const std::size_t limit = std::min(kMaxProbe, (t.mask + 1) / 4 + 1);
  for (std::size_t probe = 0; probe < limit; ++probe, i = (i + 1) & t.mask) {
    std::atomic<std::uint64_t>& slot = t.keys[i];
    std::uint64_t k = slot.load(std::memory_order_acquire);
    if (k == key) return &t.cells[i];
    if (k == 0) {
      if (!insert) return nullptr;
      if (slot.compare_exchange_strong(k, key, std::memory_order_acq_rel)) return &t.cells[i];
      if (k == key) return &t.cells[i];  // another thread claimed it for the same cell
    }
  }
  if (insert) dropped.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

void speed_model::prefetch(const table& t, std::uint64_t geohash_bits, std::size_t bucket) noexcept {
  const std::size_t i = mix(geohash_bits + 1) & t.mask;
  __builtin_prefetch(&t.keys[i]);
  __builtin_prefetch(&t.cells[i].s[bucket]);
  __builtin_prefetch(&t.cells[i].s[speed_model_max_buckets]);
}

void speed_model::prefetch(geo_point p, timestamp_ms t) const noexcept {
  std::uint64_t fine = 0;
  if (!fine_bits(p, fine)) return;
  const auto b = static_cast<std::size_t>(bucket(t));
  prefetch(fine_, fine, b);
  prefetch(coarse_, coarse_of(fine), speed_model_max_buckets);
}

void speed_model::subtract(sums& s, std::uint64_t dm, std::uint64_t ms) noexcept {
  s.dm.fetch_sub(dm, std::memory_order_relaxed);
  s.ms.fetch_sub(ms, std::memory_order_relaxed);
}

void speed_model::observe(geo_point p, timestamp_ms t, double distance_m, double time_s) noexcept {
  apply(p, t, distance_m, time_s, true);
}

void speed_model::take_back(geo_point p, timestamp_ms t, double distance_m, double time_s) noexcept {
  apply(p, t, distance_m, time_s, false);
}

void speed_model::apply(geo_point p, timestamp_ms t, double distance_m, double time_s,
                        bool add_it) noexcept {
  if (!(time_s > 0) || !(distance_m >= 0) || !std::isfinite(distance_m) || !std::isfinite(time_s) ||
      !is_valid_point(p))
    return;
  const auto dm = static_cast<std::uint64_t>(std::llround(distance_m * 10));
  const auto ms = static_cast<std::uint64_t>(std::llround(time_s * 1000));
  const auto b = static_cast<std::size_t>(bucket(t));
  const auto all = static_cast<std::size_t>(speed_model_max_buckets);
  auto change = [&](sums& s) { add_it ? add(s, dm, ms) : subtract(s, dm, ms); };
  change(global_[b]);
  change(global_[all]);
  std::uint64_t fine = 0;
  if (!fine_bits(p, fine)) return;
  // Coarse cells serve all day only: the time of day is the city's factor.
  // Taking back never inserts: a cell not found then is not found now.
  if (cell* c = find(coarse_, coarse_of(fine), add_it, dropped_coarse_)) change(c->s[all]);
  if (cell* c = find(fine_, fine, add_it, dropped_fine_)) {
    change(c->s[b]);
    change(c->s[all]);
  }
}

double speed_model::blend(speed_observations o, double parent) const noexcept {
  // (distance + k * parent) / (time + k): the level's own speed once it has
  // seen much more than k seconds, its parent's while it has seen little.
  const double k = options_.prior_weight_s;
  if (!(o.time_s > 0)) return parent;
  return (std::max(0.0, o.distance_m) + k * parent) / (o.time_s + k);
}

namespace {

// What a level saw beyond its child level: each observation then counts in
// exactly one blend of the chain, not again at every level that contains it.
speed_observations minus(speed_observations a, speed_observations b) {
  return {a.distance_m - b.distance_m, a.time_s - b.time_s};
}

}  // namespace

double speed_model::speed_mps(geo_point p, timestamp_ms t) const noexcept {
  const auto all = static_cast<std::size_t>(speed_model_max_buckets);
  const speed_observations g_all = read(global_[all]);
  std::uint64_t fine = 0;
  const bool valid = fine_bits(p, fine);
  const cell* c = valid ? find(coarse_, coarse_of(fine), false, dropped_coarse_) : nullptr;
  const cell* f = valid ? find(fine_, fine, false, dropped_fine_) : nullptr;
  const speed_observations c_all = c ? read(c->s[all]) : speed_observations{};
  const speed_observations f_all = f ? read(f->s[all]) : speed_observations{};
  const double day = g_all.time_s > 0 ? std::max(g_all.distance_m, 0.0) / g_all.time_s
                                      : options_.default_speed_mps;
  // The place, all day: the rest of the city, then the coarse cell.
  double place = blend(minus(g_all, c_all), options_.default_speed_mps);
  place = blend(minus(c_all, f_all), place);
  auto at_bucket = [&](std::size_t b) {
    const speed_observations f_b = f ? read(f->s[b]) : speed_observations{};
    // The fine cell at other times of day, then the city's time-of-day
    // factor (rush hours), then the fine cell at this time.
    double v = blend(minus(f_all, f_b), place);
    const double hour = day > 0 ? blend(read(global_[b]), day) / day : 1.0;
    return blend(f_b, v * hour);
  };
  // Between the centres of two buckets, mix them linearly, so that the
  // speed does not jump at a bucket's border.
  const int width = 1440 / buckets_;
  const std::int64_t minute = t / 60'000 + options_.utc_offset_minutes;
  const double of_day = static_cast<double>(((minute % 1440) + 1440) % 1440) +
                        static_cast<double>(((t % 60'000) + 60'000) % 60'000) / 60'000.0;
  const double x = of_day / width - 0.5;
  const double lower = std::floor(x);
  const double w = x - lower;
  const auto b0 = static_cast<std::size_t>((static_cast<int>(lower) + buckets_) % buckets_);
  const auto b1 = static_cast<std::size_t>((static_cast<int>(lower) + 1) % buckets_);
  const double v = b0 == b1 ? at_bucket(b0) : (1 - w) * at_bucket(b0) + w * at_bucket(b1);
  return std::clamp(v, options_.min_speed_mps, options_.max_speed_mps);
}

speed_observations speed_model::fine_cell(geo_point p, int b) const noexcept {
  std::uint64_t fine = 0;
  const cell* c = fine_bits(p, fine) ? find(fine_, fine, false, dropped_fine_) : nullptr;
  if (c == nullptr) return {};
  return read(c->s[b < 0 ? speed_model_max_buckets : static_cast<std::size_t>(b)]);
}

speed_observations speed_model::global(int b) const noexcept {
  return read(global_[b < 0 ? speed_model_max_buckets : static_cast<std::size_t>(b)]);
}

}  // namespace xiaoxiang
