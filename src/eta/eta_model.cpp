#include "xiaoxiang/eta/eta_model.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

namespace xiaoxiang {

// A warehouse's processing times: one sketch per time-of-day bucket and one
// for the whole day (the last). Allocated when the warehouse is first seen.
struct eta_model::warehouse_entry {
  warehouse_id id;
  std::vector<std::unique_ptr<quantile_sketch>> by_bucket;
};

namespace {

constexpr double kProcessingLo = 1, kProcessingHi = 14'400;  // seconds
constexpr double kRatioLo = 0.05, kRatioHi = 20;            // actual / estimate
constexpr std::uint64_t kMinProcessingSamples = 10;

bool in_range(double v, double lo, double hi) { return v >= lo && v <= hi; }

}  // namespace

status_result eta_model::check_options(const eta_model_options& o) {
  const speed_model_options& s = o.speed;
  if (s.fine_cell_bits < 10 || s.fine_cell_bits > 50) return {errc::eta_invalid_option, "speed.fineCellBits"};
  if (s.coarse_cell_bits < 5 || s.coarse_cell_bits > s.fine_cell_bits)
    return {errc::eta_invalid_option, "speed.coarseCellBits"};
  if (s.fine_cells < 1 || s.fine_cells > (std::size_t{1} << 26)) return {errc::eta_invalid_option, "speed.fineCells"};
  if (s.coarse_cells < 1 || s.coarse_cells > (std::size_t{1} << 22))
    return {errc::eta_invalid_option, "speed.coarseCells"};
  for (const auto& [minutes, name] : {std::pair{s.bucket_minutes, "speed.bucketMinutes"},
                                      std::pair{o.processing_bucket_minutes, "processingBucketMinutes"}})
    if (minutes < 60 || minutes > 1440 || 1440 % minutes != 0) return {errc::eta_invalid_option, name};
  if (s.utc_offset_minutes < -720 || s.utc_offset_minutes > 840)
    return {errc::eta_invalid_option, "speed.utcOffsetMinutes"};
  if (!in_range(s.min_speed_mps, 0.01, 100) || !in_range(s.max_speed_mps, s.min_speed_mps, 1000))
    return {errc::eta_invalid_option, "speed.minSpeedMps"};
  if (!in_range(s.default_speed_mps, s.min_speed_mps, s.max_speed_mps))
    return {errc::eta_invalid_option, "speed.defaultSpeedMps"};
  if (!in_range(s.prior_weight_s, 0, 1e6)) return {errc::eta_invalid_option, "speed.priorWeightS"};
  if (o.warehouses < 1 || o.warehouses > (std::size_t{1} << 20)) return {errc::eta_invalid_option, "warehouses"};
  if (!in_range(o.default_processing_s, kProcessingLo, kProcessingHi))
    return {errc::eta_invalid_option, "defaultProcessingS"};
  if (!in_range(o.default_departure_s, 0, 3600)) return {errc::eta_invalid_option, "defaultDepartureS"};
  if (!in_range(o.default_dwell_s, 0, 3600)) return {errc::eta_invalid_option, "defaultDwellS"};
  if (!in_range(o.default_detour, 1, 10)) return {errc::eta_invalid_option, "defaultDetour"};
  if (!in_range(o.default_p90_ratio, 1, kRatioHi)) return {errc::eta_invalid_option, "defaultP90Ratio"};
  if (!in_range(o.depart_radius_m, 0, 10'000)) return {errc::eta_invalid_option, "departRadiusM"};
  if (!in_range(o.arrive_radius_m, 0, 10'000)) return {errc::eta_invalid_option, "arriveRadiusM"};
  if (!in_range(o.max_gap_s, 1, 86'400)) return {errc::eta_invalid_option, "maxGapS"};
  if (!in_range(o.rider_memory_s, 1, 86'400)) return {errc::eta_invalid_option, "riderMemoryS"};
  if (!in_range(o.rider_prior_s, 0, 86'400)) return {errc::eta_invalid_option, "riderPriorS"};
  if (!in_range(o.rider_factor_min, 0.05, 1) || !in_range(o.rider_factor_max, 1, 20))
    return {errc::eta_invalid_option, "riderFactorMin"};
  return {};
}

result<std::unique_ptr<eta_model>> eta_model::make(const eta_model_options& options) {
  if (const status_result s = check_options(options); !s) return {s.code, s.field};
  return std::unique_ptr<eta_model>(new eta_model(options));
}

eta_model::eta_model(const eta_model_options& options)
    : options_(options),
      speeds_(options.speed),
      processing_buckets_(1440 / options.processing_bucket_minutes),
      warehouse_mask_(std::bit_ceil(options.warehouses * 2) - 1),
      warehouses_(std::make_unique<std::atomic<warehouse_entry*>[]>(warehouse_mask_ + 1)),
      departure_s_(options.default_departure_s),
      dwell_s_(options.default_dwell_s),
      detour_(options.default_detour) {
  for (auto& e : errors_) e = std::make_unique<quantile_sketch>(kRatioLo, kRatioHi);
  for (auto& r : median_ratio_) r.store(1.0);
  for (auto& r : p90_ratio_) r.store(options.default_p90_ratio);
}

eta_model::~eta_model() {
  for (std::size_t i = 0; i <= warehouse_mask_; ++i) delete warehouses_[i].load();
}

int eta_model::processing_bucket(timestamp_ms t) const noexcept {
  const std::int64_t minute = t / 60'000 + options_.speed.utc_offset_minutes;
  const std::int64_t of_day = ((minute % 1440) + 1440) % 1440;
  return static_cast<int>(of_day / options_.processing_bucket_minutes);
}

eta_model::warehouse_entry* eta_model::warehouse(const warehouse_id& w, bool insert) const {
  if (w.empty()) return nullptr;
  std::size_t i = static_cast<std::size_t>(w.hash()) & warehouse_mask_;
  const std::size_t limit = (warehouse_mask_ + 1) / 2;
  for (std::size_t probe = 0; probe < limit; ++probe, i = (i + 1) & warehouse_mask_) {
    warehouse_entry* e = warehouses_[i].load(std::memory_order_acquire);
    if (e == nullptr) {
      if (!insert) return nullptr;
      auto fresh = std::make_unique<warehouse_entry>();
      fresh->id = w;
      for (int b = 0; b <= processing_buckets_; ++b)
        fresh->by_bucket.push_back(std::make_unique<quantile_sketch>(kProcessingLo, kProcessingHi));
      if (warehouses_[i].compare_exchange_strong(e, fresh.get(), std::memory_order_acq_rel))
        return fresh.release();
      // Another thread filled the slot first: e is its entry.
    }
    if (e->id == w) return e;
  }
  return nullptr;
}

void eta_model::observe_processing(const warehouse_id& w, timestamp_ms paid_at, double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return;
  processing_all_.add(seconds);
  if (warehouse_entry* e = warehouse(w, true)) {
    e->by_bucket[static_cast<std::size_t>(processing_bucket(paid_at))]->add(seconds);
    e->by_bucket.back()->add(seconds);
  }
}

void eta_model::observe_departure(double seconds) noexcept {
  if (seconds >= 0 && std::isfinite(seconds)) departure_.add(seconds);
}

void eta_model::observe_dwell(double seconds) noexcept {
  if (seconds >= 0 && std::isfinite(seconds)) dwell_.add(seconds);
}

void eta_model::observe_detour(double path_m, double straight_m) noexcept {
  // Short trips say little about the street pattern and much about GPS noise.
  if (!(straight_m >= 200) || !(path_m >= straight_m) || !std::isfinite(path_m)) return;
  path_dm_.fetch_add(static_cast<std::uint64_t>(path_m * 10), std::memory_order_relaxed);
  straight_dm_.fetch_add(static_cast<std::uint64_t>(straight_m * 10), std::memory_order_relaxed);
}

void eta_model::observe_error(int progress_bucket, double ratio) noexcept {
  if (!(ratio > 0) || !std::isfinite(ratio)) return;
  const int b = std::clamp(progress_bucket, 0, eta_progress_buckets - 1);
  errors_[static_cast<std::size_t>(b)]->add(ratio);
  errors_[eta_progress_buckets]->add(ratio);
}

void eta_model::refresh() noexcept {
  const std::uint64_t min = std::max<std::uint64_t>(options_.min_error_samples, 1);
  const quantile_sketch& all = *errors_[eta_progress_buckets];
  for (std::size_t b = 0; b <= eta_progress_buckets; ++b) {
    const quantile_sketch* s = errors_[b]->count() >= min ? errors_[b].get()
                               : all.count() >= min      ? &all
                                                         : nullptr;
    const double m = s ? s->quantile(0.5) : 1.0;
    const double p = s ? s->quantile(0.9) : options_.default_p90_ratio * m;
    median_ratio_[b].store(m, std::memory_order_relaxed);
    p90_ratio_[b].store(std::max(m, p), std::memory_order_relaxed);
  }
  if (departure_.count() >= kMinProcessingSamples)
    departure_s_.store(departure_.quantile(0.5), std::memory_order_relaxed);
  if (dwell_.count() >= kMinProcessingSamples)
    dwell_s_.store(dwell_.quantile(0.5), std::memory_order_relaxed);
  const auto straight = straight_dm_.load(std::memory_order_relaxed);
  if (straight > 0) {
    detour_.store(static_cast<double>(path_dm_.load(std::memory_order_relaxed)) /
                      static_cast<double>(straight),
                  std::memory_order_relaxed);
  }
}

eta_calibration eta_model::calibration(int progress_bucket) const noexcept {
  const auto b = static_cast<std::size_t>(std::clamp(progress_bucket, 0, eta_progress_buckets - 1));
  return {median_ratio_[b].load(std::memory_order_relaxed), p90_ratio_[b].load(std::memory_order_relaxed)};
}

eta_calibration eta_model::calibration_at(double progress) const noexcept {
  const double x = std::clamp(progress, 0.0, 1.0) * eta_progress_buckets - 0.5;
  const int b0 = std::clamp(static_cast<int>(std::floor(x)), 0, eta_progress_buckets - 1);
  const int b1 = std::min(b0 + 1, eta_progress_buckets - 1);
  const double f = std::clamp(x - b0, 0.0, 1.0);
  const eta_calibration c0 = calibration(b0), c1 = calibration(b1);
  return {c0.median_ratio + f * (c1.median_ratio - c0.median_ratio),
          c0.p90_ratio + f * (c1.p90_ratio - c0.p90_ratio)};
}

std::uint64_t eta_model::error_samples(int progress_bucket) const noexcept {
  if (progress_bucket < 0) return errors_[eta_progress_buckets]->count();
  return errors_[static_cast<std::size_t>(std::min(progress_bucket, eta_progress_buckets - 1))]->count();
}

double eta_model::departure_remaining_s(double elapsed_s) const noexcept {
  if (departure_.count() < kMinProcessingSamples)
    return std::max(0.0, options_.default_departure_s - elapsed_s);
  return departure_.quantile_above(elapsed_s, 0.5) - elapsed_s;
}

double eta_model::dwell_remaining_s(double elapsed_s) const noexcept {
  if (dwell_.count() < kMinProcessingSamples) return std::max(0.0, options_.default_dwell_s - elapsed_s);
  return dwell_.quantile_above(elapsed_s, 0.5) - elapsed_s;
}

eta_estimate eta_model::processing_remaining(const warehouse_id& w, timestamp_ms paid_at,
                                             timestamp_ms now) const noexcept {
  const double elapsed = std::max(0.0, static_cast<double>(now - paid_at) / 1000.0);
  const quantile_sketch* s = nullptr;
  if (const warehouse_entry* e = warehouse(w, false)) {
    const quantile_sketch& b = *e->by_bucket[static_cast<std::size_t>(processing_bucket(paid_at))];
    if (b.count() >= kMinProcessingSamples)
      s = &b;
    else if (e->by_bucket.back()->count() >= kMinProcessingSamples)
      s = e->by_bucket.back().get();
  }
  if (s == nullptr && processing_all_.count() >= kMinProcessingSamples) s = &processing_all_;
  if (s == nullptr) {
    const double m = std::max(0.0, options_.default_processing_s - elapsed);
    return {m, std::max(m, options_.default_processing_s * options_.default_p90_ratio - elapsed)};
  }
  const double m = s->quantile_above(elapsed, 0.5) - elapsed;
  const double p = s->quantile_above(elapsed, 0.9) - elapsed;
  return {std::max(0.0, m), std::max({0.0, m, p})};
}

}  // namespace xiaoxiang
