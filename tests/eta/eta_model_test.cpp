#include "xiaoxiang/eta/eta_model.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace xiaoxiang {
namespace {

constexpr timestamp_ms kT0 = 1'764'072'000'000;  // 2025-11-25 12:00 UTC

eta_model_options small() {
  eta_model_options o;
  o.speed.fine_cells = 256;
  o.speed.coarse_cells = 64;
  o.warehouses = 8;
  return o;
}

std::unique_ptr<eta_model> make_model(const eta_model_options& o = small()) {
  auto m = eta_model::make(o);
  EXPECT_TRUE(m.ok()) << m.message();
  return std::move(*m);
}

void expect_option_error(void (*edit)(eta_model_options&), const char* field) {
  eta_model_options o = small();
  edit(o);
  const auto m = eta_model::make(o);
  ASSERT_FALSE(m.ok()) << field;
  EXPECT_EQ(m.error(), make_error_code(errc::eta_invalid_option)) << field;
  ASSERT_NE(m.field(), nullptr);
  EXPECT_STREQ(m.field(), field);
}

TEST(EtaModel, DefaultsAreValid) { EXPECT_TRUE(eta_model::check_options({}).ok()); }

TEST(EtaModel, BadOptionsNameTheField) {
  expect_option_error([](eta_model_options& o) { o.speed.fine_cell_bits = 61; }, "speed.fineCellBits");
  expect_option_error([](eta_model_options& o) { o.speed.coarse_cell_bits = 40; }, "speed.coarseCellBits");
  expect_option_error([](eta_model_options& o) { o.speed.fine_cells = 0; }, "speed.fineCells");
  expect_option_error([](eta_model_options& o) { o.speed.bucket_minutes = 50; }, "speed.bucketMinutes");
  expect_option_error([](eta_model_options& o) { o.speed.bucket_minutes = 100; }, "speed.bucketMinutes");
  expect_option_error([](eta_model_options& o) { o.processing_bucket_minutes = 7; }, "processingBucketMinutes");
  expect_option_error([](eta_model_options& o) { o.speed.utc_offset_minutes = 900; }, "speed.utcOffsetMinutes");
  expect_option_error([](eta_model_options& o) { o.speed.default_speed_mps = 0; }, "speed.defaultSpeedMps");
  expect_option_error([](eta_model_options& o) { o.speed.min_speed_mps = std::nan(""); }, "speed.minSpeedMps");
  expect_option_error([](eta_model_options& o) { o.warehouses = 0; }, "warehouses");
  expect_option_error([](eta_model_options& o) { o.default_detour = 0.5; }, "defaultDetour");
  expect_option_error([](eta_model_options& o) { o.default_p90_ratio = 0.9; }, "defaultP90Ratio");
  expect_option_error([](eta_model_options& o) { o.max_gap_s = 0; }, "maxGapS");
  expect_option_error([](eta_model_options& o) { o.rider_factor_max = 0.8; }, "riderFactorMin");
  const auto m = eta_model::make([] { auto o = small(); o.warehouses = 0; return o; }());
  EXPECT_EQ(m.message(), "warehouses: ETA model option is outside its range");
}

TEST(EtaModel, ProcessingDefaultsThenLearnedPerWarehouseAndBucket) {
  auto m = make_model();
  const warehouse_id w0 = *id::make("W0"), w1 = *id::make("W1"), w9 = *id::make("W9");
  eta_estimate e = m->processing_remaining(w0, kT0, kT0);
  EXPECT_DOUBLE_EQ(e.median_s, 600);
  EXPECT_GE(e.p90_s, e.median_s);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u0(200, 400), u1(800, 1200);
  for (int i = 0; i < 500; ++i) {
    m->observe_processing(w0, kT0, u0(rng));
    m->observe_processing(w1, kT0, u1(rng));
  }
  e = m->processing_remaining(w0, kT0, kT0);
  EXPECT_NEAR(e.median_s, 300, 300 * 0.08);
  EXPECT_NEAR(e.p90_s, 380, 380 * 0.08);
  e = m->processing_remaining(w1, kT0, kT0);
  EXPECT_NEAR(e.median_s, 1000, 1000 * 0.08);
  // Conditional: at W0 after 350 s the rest is short, never negative.
  e = m->processing_remaining(w0, kT0, kT0 + 350'000);
  EXPECT_GE(e.median_s, 0);
  EXPECT_LT(e.median_s, 50);
  EXPECT_GE(e.p90_s, e.median_s);
  // Long past every sample: zero left.
  e = m->processing_remaining(w0, kT0, kT0 + 3'600'000);
  EXPECT_DOUBLE_EQ(e.median_s, 0);
  // Another hour at W0: falls back to W0's whole day.
  e = m->processing_remaining(w0, kT0 + 5 * 3'600'000, kT0 + 5 * 3'600'000);
  EXPECT_NEAR(e.median_s, 300, 300 * 0.08);
  // Unknown warehouse: the whole city (both warehouses).
  e = m->processing_remaining(w9, kT0, kT0);
  EXPECT_GT(e.median_s, 380);
  EXPECT_LT(e.median_s, 820);
}

TEST(EtaModel, CalibrationOrderedAndFallsBackToAllBuckets) {
  auto m = make_model();
  EXPECT_DOUBLE_EQ(m->calibration(3).median_ratio, 1.0);
  EXPECT_DOUBLE_EQ(m->calibration(3).p90_ratio, 1.35);
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> early(0.1, 0.3), late(0.0, 0.05);
  for (int i = 0; i < 300; ++i) m->observe_error(0, early(rng));
  for (int i = 0; i < 300; ++i) m->observe_error(9, late(rng));
  m->refresh();
  const eta_calibration c0 = m->calibration(0), c9 = m->calibration(9), c5 = m->calibration(5);
  EXPECT_NEAR(c0.median_ratio, std::exp(0.1), 0.06);
  EXPECT_NEAR(c0.p90_ratio, std::exp(0.1 + 1.2816 * 0.3), 0.12);
  EXPECT_NEAR(c9.median_ratio, 1.0, 0.03);
  EXPECT_LT(c9.p90_ratio - c9.median_ratio, c0.p90_ratio - c0.median_ratio);
  // Bucket 5 has no samples: the all-bucket sketch.
  EXPECT_GT(c5.p90_ratio, c5.median_ratio);
  EXPECT_EQ(m->error_samples(5), 0u);
  EXPECT_EQ(m->error_samples(-1), 600u);
  for (int b = 0; b < eta_progress_buckets; ++b)
    EXPECT_GE(m->calibration(b).p90_ratio, m->calibration(b).median_ratio);
}

TEST(EtaModel, DepartureDwellDetourLearned) {
  auto m = make_model();
  EXPECT_DOUBLE_EQ(m->departure_s(), 60);
  EXPECT_DOUBLE_EQ(m->detour(), 1.3);
  for (int i = 0; i < 50; ++i) {
    m->observe_departure(30 + i);    // median ~55
    m->observe_dwell(100 + 2 * i);   // median ~150
    m->observe_detour(1200, 1000);
  }
  m->observe_detour(50, 10);  // too short to count
  m->refresh();
  EXPECT_NEAR(m->departure_s(), 55, 4);
  EXPECT_NEAR(m->dwell_s(), 150, 10);
  EXPECT_NEAR(m->detour(), 1.2, 1e-9);
  EXPECT_NEAR(m->dwell_remaining_s(0), 150, 10);
  EXPECT_LT(m->dwell_remaining_s(180), 25);
  EXPECT_GE(m->dwell_remaining_s(1000), 0);
}

TEST(EtaModel, WarehouseTableFullFallsBackToCity) {
  eta_model_options o = small();
  o.warehouses = 1;  // two slots, probed one deep
  auto m = make_model(o);
  for (int w = 0; w < 20; ++w) {
    const warehouse_id id = *id::make("W" + std::to_string(w));
    for (int i = 0; i < 20; ++i) m->observe_processing(id, kT0, 100 + w);
  }
  const eta_estimate e = m->processing_remaining(*id::make("W19"), kT0, kT0);
  EXPECT_GT(e.median_s, 95);
  EXPECT_LT(e.median_s, 125);
}

}  // namespace
}  // namespace xiaoxiang
