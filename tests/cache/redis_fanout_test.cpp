// Cross-node fan-out over a real redis-server: two brokers ("nodes") in one
// process; a change accepted on node A reaches a subscriber of node B in
// version order; a forced gap is repaired by the cache's snapshot.
#include "xiaoxiang/cache/redis_fanout.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "../redis/redis_test_server.hpp"
#include "event_builder.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {
namespace {

struct seen {
  std::uint64_t version;
  message_kind kind;
  friend bool operator==(const seen&, const seen&) = default;
};

class client {
 public:
  client(broker& b, const std::string& order) {
    auto s = b.subscribe(order_topic(*id::make(order)), 0, [this](const message_view& m) {
      std::lock_guard lock(mutex_);
      seen_.push_back({m.version, m.kind});
    });
    EXPECT_TRUE(s.ok());
    if (s.ok()) sub_ = std::move(*s);
  }
  std::vector<seen> messages() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  // Waits (up to 5 s) until a message of `version` arrived.
  bool wait_for(std::uint64_t version) const {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (!seen_.empty() && seen_.back().version >= version) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<seen> seen_;
  subscription sub_;
};

struct two_nodes {
  std::string prefix = test::unique_prefix();
  redis_fanout_channels channels{prefix + "changes:", 4};
  broker hub_a, hub_b;
  redis_order_cache cache_a;
  redis_fanout_publisher fanout_a;
  redis_fanout_subscriber sub_b;

  two_nodes()
      : cache_a(cache_options(), &hub_a),
        fanout_a(publisher_options("A"), &cache_a),
        sub_b(subscriber_options("B"), hub_b) {}

  redis_order_cache_options cache_options() const {
    redis_order_cache_options o;
    o.connection = test::test_connection();
    o.key_prefix = prefix + "order:";
    return o;
  }
  redis_fanout_publisher_options publisher_options(const std::string& node) const {
    redis_fanout_publisher_options o;
    o.connection = test::test_connection();
    o.channels = channels;
    o.node = node;
    return o;
  }
  redis_fanout_subscriber_options subscriber_options(const std::string& node) const {
    redis_fanout_subscriber_options o;
    o.connection = test::test_connection();
    o.channels = channels;
    o.node = node;
    o.cache_key_prefix = prefix + "order:";
    return o;
  }
};

tracking_state state_of(const std::string& order, std::uint64_t version) {
  tracking_state s;
  s.order = *id::make(order);
  s.version = version;
  s.status = version == 1 ? order_status::pending_payment : order_status::delivering;
  s.position = {116.4 + static_cast<double>(version) * 1e-4, 39.9};
  s.has_position = true;
  return s;
}

TEST(RedisFanout, ChangesOfNodeAReachClientsOfNodeBInOrder) {
  two_nodes n;
  client on_b(n.hub_b, "O1");
  client on_a(n.hub_a, "O1");
  n.fanout_a.publish(state_of("O1", 1), field::all);
  for (std::uint64_t v = 2; v <= 20; ++v) n.fanout_a.publish(state_of("O1", v), field::position);
  n.fanout_a.flush();
  ASSERT_TRUE(on_b.wait_for(20));
  const auto got = on_b.messages();
  ASSERT_EQ(got.size(), 20u);
  for (std::uint64_t v = 1; v <= 20; ++v) {
    EXPECT_EQ(got[v - 1].version, v);
    EXPECT_EQ(got[v - 1].kind, message_kind::delta) << v;
  }
  EXPECT_EQ(on_a.messages().size(), 20u);  // node A's own clients, directly
  // Node B's broker holds the same state as node A's.
  EXPECT_EQ(*n.hub_b.snapshot(*id::make("O1")), *n.hub_a.snapshot(*id::make("O1")));
  const auto m = n.sub_b.metrics();
  EXPECT_EQ(m.received, 20u);
  EXPECT_EQ(m.delivered, 20u);
  EXPECT_EQ(m.gaps, 0u);
  EXPECT_EQ(n.fanout_a.metrics().published, 20u);
}

TEST(RedisFanout, ATrackersChangesFanOutWithTheirKeys) {
  two_nodes n;
  tracker engine(tracker_options{}, nullptr, &n.fanout_a);
  client on_b(n.hub_b, "O7");
  testing::event_builder b(now_ms() - 60'000);
  for (const event& e : {b.created("O7"), b.paid("O7"), b.assigned("O7", "R1")})
    ASSERT_TRUE(engine.ingest(e).accepted());
  b.advance(15'000);
  ASSERT_TRUE(engine.ingest(b.position("R1", {116.41, 39.905})).accepted());
  const std::uint64_t last = engine.snapshot(*id::make("O7"))->version;
  n.fanout_a.flush();
  ASSERT_TRUE(on_b.wait_for(last));
  std::uint64_t expect = 1;
  for (const seen& s : on_b.messages()) EXPECT_EQ(s.version, expect++);
  auto on_node_b = *n.hub_b.snapshot(*id::make("O7"));
  auto on_node_a = *n.hub_a.snapshot(*id::make("O7"));
  EXPECT_EQ(on_node_b.status, order_status::delivering);
  EXPECT_EQ(on_node_b.rider, *id::make("R1"));
  EXPECT_NEAR(on_node_b.position.lon, 116.41, 1e-6);
  EXPECT_EQ(on_node_b.version, on_node_a.version);
}

TEST(RedisFanout, AForcedGapIsRepairedByTheCachedSnapshot) {
  two_nodes n;
  client on_b(n.hub_b, "O1");
  n.fanout_a.publish(state_of("O1", 1), field::all);
  n.fanout_a.publish(state_of("O1", 2), field::position);
  // v3 reaches the cache but its fan-out message is lost.
  n.cache_a.publish(state_of("O1", 3), field::position);
  ASSERT_TRUE(n.cache_a.flush());
  n.fanout_a.publish(state_of("O1", 4), field::position);
  n.fanout_a.flush();
  ASSERT_TRUE(on_b.wait_for(4));
  // v1, v2; then the cache's state instead of the gap — v3 (which follows
  // v2, so the broker sends it as a delta carrying every key) or, when the
  // cache had v4 already, a snapshot v4 — and never a silent gap.
  const auto got = on_b.messages();
  ASSERT_GE(got.size(), 3u);
  EXPECT_EQ(got[0], (seen{1, message_kind::delta}));
  EXPECT_EQ(got[1], (seen{2, message_kind::delta}));
  for (std::size_t i = 1; i < got.size(); ++i)
    EXPECT_TRUE(got[i].version == got[i - 1].version + 1 || got[i].kind == message_kind::snapshot)
        << "v" << got[i].version << " after v" << got[i - 1].version;
  EXPECT_EQ(got.back().version, 4u);
  const auto m = n.sub_b.metrics();
  EXPECT_EQ(m.gaps, 1u);
  EXPECT_EQ(m.repaired, 1u);
  EXPECT_EQ(n.hub_b.snapshot(*id::make("O1"))->position, state_of("O1", 4).position);
}

TEST(RedisFanout, ANodeStartedLateBeginsWithTheCachedSnapshot) {
  two_nodes n;
  for (std::uint64_t v = 1; v <= 5; ++v) n.fanout_a.publish(state_of("O2", v), field::all);
  n.fanout_a.flush();
  ASSERT_TRUE(n.cache_a.flush());
  broker late;
  redis_fanout_subscriber sub_late(n.subscriber_options("C"), late);
  client on_late(late, "O2");
  n.fanout_a.publish(state_of("O2", 6), field::position);
  n.fanout_a.flush();
  ASSERT_TRUE(on_late.wait_for(6));
  const auto got = on_late.messages();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.front().kind, message_kind::snapshot);
  EXPECT_EQ(got.back().version, 6u);
  EXPECT_EQ(sub_late.metrics().repaired, 1u);
}

TEST(RedisFanout, ANodeSkipsItsOwnChanges) {
  two_nodes n;
  broker own;
  redis_fanout_subscriber sub_a(n.subscriber_options("A"), own);
  n.fanout_a.publish(state_of("O3", 1), field::all);
  n.fanout_a.flush();
  client on_b(n.hub_b, "O3");
  ASSERT_TRUE(n.hub_b.snapshot(*id::make("O3")).ok() || on_b.wait_for(1));
  for (int i = 0; i < 100 && sub_a.metrics().own_skipped == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(sub_a.metrics().own_skipped, 1u);
  EXPECT_EQ(sub_a.metrics().received, 0u);
  EXPECT_FALSE(own.snapshot(*id::make("O3")).ok());
}

}  // namespace
}  // namespace xiaoxiang
