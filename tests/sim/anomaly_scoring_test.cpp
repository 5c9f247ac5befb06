#include "xiaoxiang/sim/anomaly_scoring.hpp"

#include <gtest/gtest.h>

namespace xiaoxiang {
namespace {

order_id oid(const char* s) { return *order_id::make(s); }

anomaly_truth row(const char* order, alert_kind kind, timestamp_ms start, timestamp_ms end) {
  anomaly_truth t;
  t.order = oid(order);
  t.kind = kind;
  t.start_ms = start;
  t.end_ms = end;
  return t;
}

std::size_t idx(alert_kind k) { return static_cast<std::size_t>(k); }

TEST(AnomalyScoring, RowsTooCloseToTheEndAreLeftOutOfRecallOnly) {
  scoring_options o;
  o.end_of_run = 1'000'000;
  o.min_observable_ms = 300'000;
  const std::vector<anomaly_truth> truth = {
      row("O1", alert_kind::standstill, 600'000, -1),  // 400 s before the end: counts
      row("O2", alert_kind::standstill, 800'000, -1),  // 200 s before: left out of recall
      row("O3", alert_kind::standstill, 900'000, -1),
  };
  const std::vector<detected_alert> alerts = {
      {oid("O1"), alert_kind::standstill, 650'000},
      {oid("O3"), alert_kind::standstill, 950'000},  // still a true alert
  };
  const kind_score s = score_alerts(truth, alerts, o)[idx(alert_kind::standstill)];
  EXPECT_EQ(s.truths, 1u);
  EXPECT_EQ(s.found, 1u);
  EXPECT_EQ(s.alerts, 2u);
  EXPECT_EQ(s.true_alerts, 2u);
  EXPECT_DOUBLE_EQ(s.median_delay_s, 50);
}

TEST(AnomalyScoring, NothingToScoreIsPerfect) {
  const anomaly_scores s = score_alerts({}, {}, {});
  for (const kind_score& k : s) {
    EXPECT_EQ(k.truths, 0u);
    EXPECT_EQ(k.alerts, 0u);
    EXPECT_DOUBLE_EQ(k.precision, 1);
    EXPECT_DOUBLE_EQ(k.recall, 1);
  }
}

TEST(AnomalyScoring, MatchesByOrderKindAndWindow) {
  scoring_options o;
  o.early_tolerance_ms = 60'000;
  o.min_observable_ms = 0;
  o.end_of_run = 1'000'000;
  const std::vector<anomaly_truth> truth = {
      row("O1", alert_kind::standstill, 100'000, 400'000),
      row("O2", alert_kind::standstill, 100'000, 200'000),
      row("O3", alert_kind::route_deviation, 50'000, -1),  // still going on
  };
  const std::vector<detected_alert> alerts = {
      {oid("O1"), alert_kind::standstill, 130'000},       // found, delay 30 s
      {oid("O1"), alert_kind::standstill, 150'000},       // a second alert of the same row: true
      {oid("O2"), alert_kind::route_deviation, 120'000},  // wrong kind: false
      {oid("O9"), alert_kind::standstill, 120'000},       // no such order: false
      {oid("O2"), alert_kind::standstill, 330'000},       // 130 s after the end: beyond grace
      {oid("O3"), alert_kind::route_deviation, 990'000},  // open row ends with the run
  };
  const anomaly_scores s = score_alerts(truth, alerts, o);
  const kind_score& st = s[idx(alert_kind::standstill)];
  EXPECT_EQ(st.truths, 2u);
  EXPECT_EQ(st.found, 1u);
  EXPECT_EQ(st.alerts, 4u);
  EXPECT_EQ(st.true_alerts, 2u);
  EXPECT_DOUBLE_EQ(st.precision, 0.5);
  EXPECT_DOUBLE_EQ(st.recall, 0.5);
  EXPECT_DOUBLE_EQ(st.median_delay_s, 30);
  const kind_score& dev = s[idx(alert_kind::route_deviation)];
  EXPECT_EQ(dev.found, 1u);
  EXPECT_EQ(dev.true_alerts, 1u);
  EXPECT_EQ(dev.alerts, 2u);
  EXPECT_DOUBLE_EQ(dev.max_delay_s, 940);
}

TEST(AnomalyScoring, EarlyAlertsWithinToleranceHaveZeroDelay) {
  scoring_options o;
  o.early_tolerance_ms = 60'000;
  o.end_of_run = 2'000'000;
  const std::vector<anomaly_truth> truth = {row("O1", alert_kind::rider_silent, 500'000, 900'000),
                                            row("O2", alert_kind::rider_silent, 500'000, 900'000)};
  const std::vector<detected_alert> alerts = {
      {oid("O1"), alert_kind::rider_silent, 450'000},  // 50 s early: counts, delay 0
      {oid("O2"), alert_kind::rider_silent, 430'000},  // 70 s early: does not
  };
  const kind_score s = score_alerts(truth, alerts, o)[idx(alert_kind::rider_silent)];
  EXPECT_EQ(s.found, 1u);
  EXPECT_EQ(s.true_alerts, 1u);
  EXPECT_DOUBLE_EQ(s.median_delay_s, 0);
}

TEST(AnomalyScoring, PredictedTimeoutsMayFireLongBeforeThePromise) {
  scoring_options o;
  o.end_of_run = 5'000'000;
  const std::vector<anomaly_truth> truth = {
      row("O1", alert_kind::delivery_timeout, 3'600'000, 4'000'000)};
  const std::vector<detected_alert> alerts = {{oid("O1"), alert_kind::delivery_timeout, 600'000}};
  const kind_score s = score_alerts(truth, alerts, o)[idx(alert_kind::delivery_timeout)];
  EXPECT_EQ(s.found, 1u);
  EXPECT_DOUBLE_EQ(s.precision, 1);
  EXPECT_DOUBLE_EQ(s.median_delay_s, 0);
}

TEST(AnomalyScoring, DelayQuantilesAreNearestRank) {
  scoring_options o;
  o.end_of_run = 2'000'000;
  std::vector<anomaly_truth> truth;
  std::vector<detected_alert> alerts;
  const char* names[] = {"A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9"};
  for (int i = 0; i < 10; ++i) {
    truth.push_back(row(names[i], alert_kind::standstill, 0, 1'000'000));
    alerts.push_back({oid(names[i]), alert_kind::standstill, (i + 1) * 10'000});
  }
  const kind_score s = score_alerts(truth, alerts, o)[idx(alert_kind::standstill)];
  EXPECT_DOUBLE_EQ(s.median_delay_s, 60);  // rank 5 of 10..100 s
  EXPECT_DOUBLE_EQ(s.p90_delay_s, 100);
  EXPECT_DOUBLE_EQ(s.max_delay_s, 100);
}

}  // namespace
}  // namespace xiaoxiang
