#include "xiaoxiang/track/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "event_builder.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {
namespace {

TEST(LatencyHistogram, BucketsAreCumulativeAndBoundsInSeconds) {
  latency_histogram h;
  const histogram_snapshot empty = h.snapshot();
  ASSERT_EQ(empty.upper_bounds.size(), kLatencyBoundsUs.size());
  EXPECT_DOUBLE_EQ(empty.upper_bounds.front(), 50e-6);
  EXPECT_DOUBLE_EQ(empty.upper_bounds.back(), 30.0);
  EXPECT_EQ(empty.count, 0u);
  h.record(49'999);      // 49.999 us: the first bucket
  h.record(50'000);      // exactly 50 us: counted in the next (bucket i holds < bound)
  h.record(1'000'000);   // 1 ms
  h.record(-1);          // clamps to 0
  h.record(40'000'000'000);  // 40 s: only in +Inf
  const histogram_snapshot s = h.snapshot();
  EXPECT_EQ(s.counts[0], 2u);  // <= 50 us: 0 and 49.999 us
  EXPECT_EQ(s.counts[1], 3u);  // <= 100 us
  EXPECT_EQ(s.counts[4], 3u);  // <= 1 ms: 1 ms exactly lands in the next bucket
  EXPECT_EQ(s.counts[5], 4u);  // <= 2.5 ms
  EXPECT_EQ(s.counts.back(), 4u);
  EXPECT_EQ(s.count, 5u);
  EXPECT_NEAR(s.sum, 40.001100, 1e-6);
}

TEST(LatencyHistogram, ConcurrentRecordsAgreeWithAnOracle) {
  latency_histogram h;
  constexpr int kThreads = 4, kPerThread = 20'000;
  std::vector<std::vector<std::int64_t>> values(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 7);
    std::lognormal_distribution<double> d(12.0, 3.0);  // ns, ~160 us median, wide
    for (int i = 0; i < kPerThread; ++i) values[t].push_back(static_cast<std::int64_t>(d(rng)));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&h, &values, t] {
      for (const auto v : values[t]) h.record(v);
    });
  for (auto& t : threads) t.join();
  const histogram_snapshot s = h.snapshot();
  std::vector<std::uint64_t> oracle(kLatencyBoundsUs.size(), 0);
  double sum = 0;
  for (const auto& vs : values)
    for (const auto v : vs) {
      sum += static_cast<double>(v) / 1e9;
      for (std::size_t i = 0; i < kLatencyBoundsUs.size(); ++i)
        if (v / 1000 < kLatencyBoundsUs[i]) ++oracle[i];
    }
  EXPECT_EQ(s.counts, oracle);
  EXPECT_EQ(s.count, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_NEAR(s.sum, sum, 1e-6 * sum);
}

TEST(LatencyHistogram, TrackerRecordsPublishAndDurableLatencies) {
  testing::event_builder events;
  manual_clock clock(events.time());
  memory_storage store;
  broker hub(broker_options{.time_source = &clock});
  {
    tracker engine(tracker_options{}, nullptr, nullptr, &clock);  // no publisher, no storage
    clock.set(events.time());
    ASSERT_TRUE(engine.ingest(events.created("A")).accepted());
    const auto m = engine.metrics();
    EXPECT_EQ(m.ingest_to_publish_seconds.count, 0u);
    EXPECT_EQ(m.ingest_to_durable_seconds.count, 0u);
  }
  tracker engine(tracker_options{}, &store, &hub, &clock);
  int accepted = 0;
  for (int i = 0; i < 50; ++i) {
    const std::string o = "O" + std::to_string(i);
    for (const event& e : {events.created(o), events.paid(o)}) {
      clock.set(e.time);
      accepted += engine.ingest(e).accepted() ? 1 : 0;
    }
  }
  event bad = events.paid("O0");  // an illegal transition: no latency
  clock.set(bad.time);
  ASSERT_FALSE(engine.ingest(bad).accepted());
  engine.flush();
  const auto m = engine.metrics();
  EXPECT_EQ(accepted, 100);
  EXPECT_EQ(m.ingest_to_publish_seconds.count, 100u);
  EXPECT_EQ(m.ingest_to_durable_seconds.count, 100u);
  EXPECT_GT(m.ingest_to_durable_seconds.sum, 0);
}

}  // namespace
}  // namespace xiaoxiang
