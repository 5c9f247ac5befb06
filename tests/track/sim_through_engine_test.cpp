// The simulator's event stream obeys the order flow: fed through the engine
// it produces no rejection at all, and exactly the duplicates and stale
// (late or offline) fixes the simulator injected on purpose.
#include <gtest/gtest.h>

#include "recording_publisher.hpp"
#include "xiaoxiang/sim/simulation.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"

namespace xiaoxiang {
namespace {

TEST(SimThroughEngine, StreamObeysTheFlowAndInjectionsMatch) {
  sim_options options;
  options.seed = 42;
  options.riders = 40;
  simulation city(options);
  memory_storage store;
  testing::recording_publisher pub;
  manual_clock clock(city.now());
  tracker engine(tracker_options{}, &store, &pub, &clock);

  std::vector<sim_event> items;
  std::uint64_t accepted = 0, duplicates = 0;
  for (int minute = 0; minute < 6 * 60; ++minute) {
    items.clear();
    city.step(60'000, items);
    for (const sim_event& item : items) {
      clock.set(item.delivered_at);
      const ingest_result r = engine.ingest(item.ev);
      ASSERT_NE(r.status, ingest_status::rejected)
          << event_kind_name(item.ev.kind) << " " << item.ev.id.str() << " order "
          << item.ev.order.str() << " rider " << item.ev.rider.str() << ": " << r.message();
      accepted += r.accepted() ? 1 : 0;
      duplicates += r.status == ingest_status::duplicate ? 1 : 0;
    }
  }
  engine.flush();
  const sim_counters& c = city.counters();
  const tracker_metrics m = engine.metrics();
  EXPECT_EQ(m.rejected, 0u);
  EXPECT_EQ(duplicates, c.duplicates);
  EXPECT_EQ(accepted + duplicates, c.events);
  EXPECT_EQ(m.stale_fixes, c.late_fixes + c.batch_fixes);
  EXPECT_GT(c.duplicates, 0u);
  EXPECT_GT(c.batches, 0u);
  EXPECT_GT(c.orders_delivered, 100u);
  EXPECT_TRUE(pub.gaps().empty());
}

}  // namespace
}  // namespace xiaoxiang
