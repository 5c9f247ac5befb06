// partition_storage: two tracker nodes sharing one database, each owning one
// of two partitions. A restarted node recovers only its own orders and its
// own orders' event ids, so a rider's position that moved the other node's
// order is still new to it — and it never writes a version of an order it
// does not own. The same restart without the wrapper shows why it exists.
#include "xiaoxiang/queue/partition_storage.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "event_builder.hpp"
#include "xiaoxiang/redis/partition.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"

namespace xiaoxiang {
namespace {

// The first order id "O<n>" that falls in `partition` of 2.
std::string order_in(std::uint32_t partition) {
  for (int n = 1;; ++n) {
    std::string id = "O" + std::to_string(n);
    if (partition_of(id, 2) == partition) return id;
  }
}

bool has_event(const recovery_state& s, const std::string& e) {
  return std::any_of(s.recent_events.begin(), s.recent_events.end(),
                     [&](const event_id& x) { return x.str() == e; });
}

class PartitionStorage : public ::testing::Test {
 protected:
  PartitionStorage() { opts_.eta = opts_.detectors = opts_.eta_learning = false; }

  // Rider R carries a0 (partition 0, node 0) and b1 (partition 1, node 1);
  // both nodes get the rider's first position, as the router sends it.
  void start_two_nodes(tracker& node0, tracker& node1) {
    for (auto* pair : {&a0_, &b1_}) {
      tracker& node = pair == &a0_ ? node0 : node1;
      ASSERT_TRUE(node.ingest(b_.created(*pair)).accepted());
      ASSERT_TRUE(node.ingest(b_.paid(*pair)).accepted());
      ASSERT_TRUE(node.ingest(b_.assigned(*pair, "R")).accepted());
    }
    b_.advance(15'000);
    const event p1 = b_.position("R", {116.401, 39.901});
    ASSERT_TRUE(node0.ingest(p1).accepted());
    ASSERT_TRUE(node1.ingest(p1).accepted());
    node0.flush();
    node1.flush();
  }

  tracker_options opts_;
  testing::event_builder b_{1'764'000'000'000};
  manual_clock clock_{1'764'000'000'000 + 60'000};
  std::string a0_ = order_in(0), b1_ = order_in(1);
  memory_storage shared_;
  partition_storage owned0_{shared_, 2, {0}}, owned1_{shared_, 2, {1}};
};

TEST_F(PartitionStorage, OwnsByThePartitionOfTheOrderId) {
  EXPECT_TRUE(owned0_.owns(testing::make_id(a0_)));
  EXPECT_FALSE(owned0_.owns(testing::make_id(b1_)));
  EXPECT_TRUE(owned1_.owns(testing::make_id(b1_)));
  partition_storage none(shared_, 2, {});
  EXPECT_FALSE(none.owns(testing::make_id(a0_)));
  partition_storage out_of_range(shared_, 2, {5});  // ignored, not a crash
  EXPECT_FALSE(out_of_range.owns(testing::make_id(a0_)));
}

TEST_F(PartitionStorage, RecoverKeepsOnlyTheOwnedOrdersAndTheirEvents) {
  tracker node0(opts_, &owned0_, nullptr, &clock_), node1(opts_, &owned1_, nullptr, &clock_);
  start_two_nodes(node0, node1);
  const event only_b = b_.position("R", {116.402, 39.902}, b_.time() + 15'000);
  ASSERT_TRUE(node1.ingest(only_b).accepted());
  node1.flush();

  const recovery_state all = shared_.recover(0);
  EXPECT_EQ(all.active_orders.size(), 2u);
  EXPECT_TRUE(has_event(all, only_b.id.str()));

  const recovery_state mine = owned0_.recover(0);
  ASSERT_EQ(mine.active_orders.size(), 1u);
  EXPECT_EQ(mine.active_orders[0].id.str(), a0_);
  EXPECT_FALSE(has_event(mine, only_b.id.str()));  // it moved b1 only
  for (const auto& [e, o] : mine.recent_event_orders) EXPECT_EQ(o.str(), a0_) << e.str();
  EXPECT_TRUE(std::is_sorted(mine.recent_events.begin(), mine.recent_events.end()));
  EXPECT_EQ(std::adjacent_find(mine.recent_events.begin(), mine.recent_events.end()),
            mine.recent_events.end());
}

TEST_F(PartitionStorage, RestartedNodeAppliesAPositionTheOtherNodeAppliedAlready) {
  auto node0 = std::make_unique<tracker>(opts_, &owned0_, nullptr, &clock_);
  tracker node1(opts_, &owned1_, nullptr, &clock_);
  start_two_nodes(*node0, node1);
  const auto a_before = node0->find_order(testing::make_id(a0_))->version;
  node0.reset();  // node 0 dies before reading its copy of the next position
  const event p2 = b_.position("R", {116.402, 39.902}, b_.time() + 15'000);
  ASSERT_TRUE(node1.ingest(p2).accepted());
  node1.flush();

  tracker restarted(opts_, &owned0_, nullptr, &clock_);
  const auto r = restarted.ingest(p2);  // its copy, redelivered from the queue
  EXPECT_TRUE(r.accepted()) << r.message();
  restarted.flush();
  EXPECT_EQ(shared_.load_order(testing::make_id(a0_))->version, a_before + 1);

  // The next position reaches both nodes; each writes only its own order.
  const event p3 = b_.position("R", {116.403, 39.903}, b_.time() + 30'000);
  ASSERT_TRUE(node1.ingest(p3).accepted());
  node1.flush();
  ASSERT_TRUE(restarted.ingest(p3).accepted());
  EXPECT_NO_THROW(restarted.flush());
  EXPECT_EQ(shared_.load_order(testing::make_id(a0_))->version, a_before + 2);
  EXPECT_EQ(shared_.load_order(testing::make_id(b1_))->version,
            node1.find_order(testing::make_id(b1_))->version);
}

TEST_F(PartitionStorage, WithoutItARestartedNodeTakesTheOtherNodesOrders) {
  auto node0 = std::make_unique<tracker>(opts_, &owned0_, nullptr, &clock_);
  tracker node1(opts_, &owned1_, nullptr, &clock_);
  start_two_nodes(*node0, node1);
  node0.reset();
  const event p2 = b_.position("R", {116.402, 39.902}, b_.time() + 15'000);
  ASSERT_TRUE(node1.ingest(p2).accepted());
  node1.flush();

  tracker unfiltered(opts_, &shared_, nullptr, &clock_);
  EXPECT_EQ(unfiltered.ingest(p2).status, ingest_status::duplicate);  // a0 misses the fix
  // It moves b1 as well, at a version node 1 has written already.
  const event p3 = b_.position("R", {116.403, 39.903}, b_.time() + 30'000);
  ASSERT_TRUE(node1.ingest(p3).accepted());
  node1.flush();
  ASSERT_TRUE(unfiltered.ingest(p3).accepted());
  EXPECT_ANY_THROW(unfiltered.flush());
  // ~tracker after the failed commit ends quietly (it used to terminate).
}

}  // namespace
}  // namespace xiaoxiang
