// redis_node: the options of `serve --redis` and two nodes wired through one
// Redis — a tracker node consuming every partition and a WebSocket-only node
// whose client sees the changes.
#include "xiaoxiang/queue/redis_node.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <tuple>
#include <thread>

#include "../redis/redis_test_server.hpp"
#include "event_builder.hpp"
#include "xiaoxiang/queue/redis_stream_producer.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"

namespace xiaoxiang {
namespace {

TEST(PartitionList, RangesListsAndAll) {
  EXPECT_EQ(*parse_partition_list("0-3", 8), (std::vector<std::uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(*parse_partition_list("5,1,2-3,2", 8), (std::vector<std::uint32_t>{1, 2, 3, 5}));
  EXPECT_EQ(*parse_partition_list("all", 3), (std::vector<std::uint32_t>{0, 1, 2}));
  EXPECT_EQ(*parse_partition_list("7", 8), (std::vector<std::uint32_t>{7}));
}

TEST(PartitionList, RejectionsNameThePartitionsField) {
  for (const char* bad : {"", "8", "0-8", "3-1", "a", "1,", ",1", "1--2", "-1", "1-", "0,,1"}) {
    const auto r = parse_partition_list(bad, 8);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error(), errc::invalid_field) << bad;
    EXPECT_STREQ(r.field(), "partitions") << bad;
  }
}

TEST(RedisNodeSpec, WithoutRedisThereIsNoNode) {
  const auto none = redis_node_spec(std::nullopt, std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  using opt = std::optional<std::string>;
  const std::vector<std::tuple<opt, opt, opt>> alone{
      {opt("0-3"), opt(), opt()}, {opt(), opt("8"), opt()}, {opt(), opt(), opt("n1")}};
  for (const auto& [p, c, n] : alone) {
    const auto r = redis_node_spec(std::nullopt, p, c, n);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), errc::missing_field);
    EXPECT_STREQ(r.field(), "redis");
  }
}

TEST(RedisNodeSpec, ParsesEveryOption) {
  const auto r = redis_node_spec("10.1.2.3:7000", "0,2-3", "4", "tracker-a");
  ASSERT_TRUE(r.ok()) << r.message();
  const redis_node_options& o = **r;
  EXPECT_EQ(o.endpoint.host, "10.1.2.3");
  EXPECT_EQ(o.endpoint.port, 7000);
  EXPECT_EQ(o.partitions, 4u);
  EXPECT_EQ(o.owned, (std::vector<std::uint32_t>{0, 2, 3}));
  EXPECT_EQ(o.node, "tracker-a");
  // The default name follows the partitions, so a restart keeps it.
  EXPECT_EQ((*redis_node_spec(":7000", "0,2-3", "4", std::nullopt))->node, "node-0_2-3");
  EXPECT_EQ((*redis_node_spec(":7000", std::nullopt, std::nullopt, std::nullopt))->node, "node-ws");
}

TEST(RedisNodeSpec, RejectionsNameTheOption) {
  auto check = [](const result<std::optional<redis_node_options>>& r, const char* field) {
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.error(), errc::invalid_field) << field;
    EXPECT_STREQ(r.field(), field);
  };
  check(redis_node_spec("h:0", std::nullopt, std::nullopt, std::nullopt), "redis");
  check(redis_node_spec("h:1", "0-8", std::nullopt, std::nullopt), "partitions");
  check(redis_node_spec("h:1", "0-3", "2", std::nullopt), "partitions");
  check(redis_node_spec("h:1", std::nullopt, "0", std::nullopt), "partition-count");
  check(redis_node_spec("h:1", std::nullopt, "x", std::nullopt), "partition-count");
  check(redis_node_spec("h:1", std::nullopt, std::nullopt, "bad name"), "node");
}

TEST(RedisNode, ATrackerNodesChangesReachAWebSocketOnlyNode) {
  redis_node_options o;
  o.endpoint = test::test_redis();
  o.key_prefix = test::unique_prefix();
  o.partitions = 4;
  redis_node_options tracker_node = o, ws_node = o;
  tracker_node.node = "t1";
  tracker_node.owned = {0, 1, 2, 3};
  ws_node.node = "w1";

  broker hub_t, hub_w;
  redis_node t(tracker_node, hub_t);
  redis_node w(ws_node, hub_w);
  memory_storage store;
  tracker engine(tracker_options{}, &store, &t.chain());

  std::mutex mutex;
  std::vector<std::uint64_t> versions;
  auto sub = hub_w.subscribe("/topic/orders/O1", 0, [&](const message_view& m) {
    std::lock_guard lock(mutex);
    versions.push_back(m.version);
  });
  ASSERT_TRUE(sub.ok());

  {
    redis_stream_producer_options po;
    po.connection.endpoint = o.endpoint;
    po.streams.stream_prefix = o.key_prefix + "events:";
    po.streams.partitions = 4;
    redis_stream_producer producer(po);
    testing::event_builder b(now_ms() - 60'000);
    for (const event& e : {b.created("O1"), b.paid("O1"), b.assigned("O1", "R1")}) producer.add(e);
  }
  t.start(engine);
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mutex);
      if (versions.size() >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  t.stop();
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(versions, (std::vector<std::uint64_t>{1, 2, 3}));
  }
  EXPECT_NE(t.describe().find("consumed 3 entries (3 accepted, 0 duplicates, 0 rejected, 0 shared copies), acked 3"),
            std::string::npos)
      << t.describe();
  EXPECT_NE(w.describe().find("consuming none"), std::string::npos) << w.describe();
  // The cache has the order for any node.
  redis_order_cache_reader reader({o.endpoint}, o.key_prefix + "order:");
  const auto cached = reader.get(*id::make("O1"));
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->version, 3u);
}

}  // namespace
}  // namespace xiaoxiang
