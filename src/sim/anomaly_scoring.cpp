#include "xiaoxiang/sim/anomaly_scoring.hpp"

#include <algorithm>
#include <unordered_map>

namespace xiaoxiang {
namespace {

// Nearest-rank quantile of sorted values; 0 when empty.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()));
  if (rank >= sorted.size()) rank = sorted.size() - 1;
  return sorted[rank];
}

}  // namespace

anomaly_scores score_alerts(const std::vector<anomaly_truth>& truth,
                            const std::vector<detected_alert>& alerts,
                            const scoring_options& options) {
  anomaly_scores scores{};
  // Truth rows by (order, kind): few per order, so a list per order is enough.
  std::unordered_map<order_id, std::vector<const anomaly_truth*>> rows;
  auto observable = [&](const anomaly_truth& t) {
    return t.start_ms <= options.end_of_run - options.min_observable_ms;
  };
  for (const anomaly_truth& t : truth) {
    rows[t.order].push_back(&t);
    if (observable(t)) ++scores[static_cast<std::size_t>(t.kind)].truths;
  }
  std::unordered_map<const anomaly_truth*, timestamp_ms> first_match;
  auto window_start = [&](const anomaly_truth& t) {
    const duration_ms early = t.kind == alert_kind::delivery_timeout
                                  ? options.timeout_early_tolerance_ms
                                  : options.early_tolerance_ms;
    return t.start_ms - early;
  };
  for (const detected_alert& a : alerts) {
    kind_score& s = scores[static_cast<std::size_t>(a.kind)];
    ++s.alerts;
    bool matched = false;
    if (auto it = rows.find(a.order); it != rows.end()) {
      for (const anomaly_truth* t : it->second) {
        if (t->kind != a.kind) continue;
        const timestamp_ms end = t->end_ms < 0 ? options.end_of_run : t->end_ms;
        if (a.raised_at < window_start(*t) || a.raised_at > end + options.late_grace_ms) continue;
        matched = true;
        auto [slot, inserted] = first_match.try_emplace(t, a.raised_at);
        if (!inserted) slot->second = std::min(slot->second, a.raised_at);
      }
    }
    if (matched) ++s.true_alerts;
  }
  std::array<std::vector<double>, alert_kind_count> delays;
  for (const auto& [t, at] : first_match) {
    if (!observable(*t)) continue;
    ++scores[static_cast<std::size_t>(t->kind)].found;
    delays[static_cast<std::size_t>(t->kind)].push_back(
        static_cast<double>(std::max<timestamp_ms>(0, at - t->start_ms)) / 1000.0);
  }
  for (std::size_t k = 0; k < alert_kind_count; ++k) {
    kind_score& s = scores[k];
    if (s.alerts > 0) s.precision = static_cast<double>(s.true_alerts) / static_cast<double>(s.alerts);
    if (s.truths > 0) s.recall = static_cast<double>(s.found) / static_cast<double>(s.truths);
    std::sort(delays[k].begin(), delays[k].end());
    s.median_delay_s = quantile(delays[k], 0.5);
    s.p90_delay_s = quantile(delays[k], 0.9);
    s.max_delay_s = delays[k].empty() ? 0 : delays[k].back();
  }
  return scores;
}

}  // namespace xiaoxiang
