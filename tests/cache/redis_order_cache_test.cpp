// The cache of active orders against a real redis-server: snapshots written
// behind with their TTL, the newest version winning (also across writers),
// terminal orders kept until the TTL, calls forwarded to the next publisher.
#include "xiaoxiang/cache/redis_order_cache.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>

#include "../redis/redis_test_server.hpp"
#include "recording_publisher.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang {
namespace {

tracking_state state_of(const std::string& order, std::uint64_t version,
                        order_status status = order_status::delivering) {
  tracking_state s;
  s.order = *id::make(order);
  s.version = version;
  s.status = status;
  s.position = {116.4 + static_cast<double>(version) * 1e-4, 39.9};
  s.has_position = true;
  s.address = "朝阳区 1号";
  s.create_time = 1'764'000'000'000 + static_cast<timestamp_ms>(version);
  return s;
}

redis_order_cache_options cache_options(const std::string& prefix, duration_ms ttl_ms = 3600'000) {
  redis_order_cache_options o;
  o.connection = test::test_connection();
  o.key_prefix = prefix;
  o.ttl_ms = ttl_ms;
  return o;
}

TEST(RedisOrderCache, WritesTheSnapshotBehindWithItsTtl) {
  const std::string prefix = test::unique_prefix() + "order:";
  testing::recording_publisher next;
  redis_order_cache cache(cache_options(prefix), &next);
  const tracking_state s = state_of("O1", 1, order_status::pending_payment);
  cache.publish(s, field::all);
  EXPECT_EQ(next.count(), 1u);  // forwarded at once
  ASSERT_TRUE(cache.flush());
  redis_order_cache_reader reader(test::test_connection(), prefix);
  const auto got = reader.get(s.order);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->version, 1u);
  EXPECT_GT(got->ttl_ms, 3500'000);
  EXPECT_LE(got->ttl_ms, 3600'000);
  const auto decoded = decode_update_json(got->snapshot);
  ASSERT_TRUE(decoded.ok()) << decoded.message();
  EXPECT_EQ(decoded->kind, message_kind::snapshot);
  EXPECT_EQ(decoded->state.order, s.order);
  EXPECT_EQ(decoded->state.status, order_status::pending_payment);
  EXPECT_EQ(decoded->state.address, s.address);
  // A plain HGET is all another service needs.
  redis_connection c(test::test_connection());
  EXPECT_EQ(c.command({"HGET", prefix + "O1", "snapshot"}).str, got->snapshot);
  EXPECT_FALSE(reader.get(*id::make("O404")).has_value());
  EXPECT_EQ(cache.metrics().written, 1u);
}

TEST(RedisOrderCache, TheNewestVersionWinsAlsoAcrossWriters) {
  const std::string prefix = test::unique_prefix() + "order:";
  redis_order_cache a(cache_options(prefix));
  redis_order_cache b(cache_options(prefix));
  a.publish(state_of("O1", 5), field::position);
  ASSERT_TRUE(a.flush());
  b.publish(state_of("O1", 4), field::position);  // an older copy from another node
  ASSERT_TRUE(b.flush());
  redis_order_cache_reader reader(test::test_connection(), prefix);
  EXPECT_EQ(reader.get(*id::make("O1"))->version, 5u);
  b.publish(state_of("O1", 6), field::position);
  ASSERT_TRUE(b.flush());
  EXPECT_EQ(reader.get(*id::make("O1"))->version, 6u);
}

TEST(RedisOrderCache, TerminalOrdersStayUntilTheTtl) {
  const std::string prefix = test::unique_prefix() + "order:";
  redis_order_cache cache(cache_options(prefix, 300));
  cache.publish(state_of("O1", 3), field::position);
  cache.publish(state_of("O1", 4, order_status::completed), field::status);
  ASSERT_TRUE(cache.flush());
  redis_order_cache_reader reader(test::test_connection(), prefix);
  const auto got = reader.get(*id::make("O1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->version, 4u);
  EXPECT_EQ(decode_update_json(got->snapshot)->state.status, order_status::completed);
  EXPECT_GT(got->ttl_ms, 0);
  // Expired once the TTL has passed (Redis expires keys on access).
  std::optional<cached_order> later;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    later = reader.get(*id::make("O1"));
    if (!later) break;
  }
  EXPECT_FALSE(later.has_value());
}

TEST(RedisOrderCache, RandomisedPublishesLeaveEachOrdersNewestVersion) {
  const std::string prefix = test::unique_prefix() + "order:";
  std::mt19937 rng(3);
  std::map<std::string, std::uint64_t> newest;  // the oracle
  {
    auto o = cache_options(prefix);
    o.batch_orders = 7;
    redis_order_cache cache(o);
    for (int i = 0; i < 3000; ++i) {
      const std::string order = "O" + std::to_string(rng() % 50);
      const std::uint64_t v = 1 + rng() % 100;
      newest[order] = std::max(newest[order], v);
      cache.publish(state_of(order, v), field::position);
      if (rng() % 500 == 0) {
        ASSERT_TRUE(cache.flush());
      }
    }
    ASSERT_TRUE(cache.flush());
    const auto m = cache.metrics();
    EXPECT_EQ(m.published, 3000u);
    EXPECT_EQ(m.dropped, 0u);
    EXPECT_EQ(m.pending, 0u);
  }
  redis_order_cache_reader reader(test::test_connection(), prefix);
  for (const auto& [order, v] : newest) {
    const auto got = reader.get(*id::make(order));
    ASSERT_TRUE(got.has_value()) << order;
    EXPECT_EQ(got->version, v) << order;
  }
}

TEST(RedisOrderCache, FullQueueDropsNewOrdersWithoutBlocking) {
  const std::string prefix = test::unique_prefix() + "order:";
  auto o = cache_options(prefix);
  o.max_pending_orders = 0;
  redis_order_cache cache(o);
  cache.publish(state_of("O1", 1), field::all);
  EXPECT_EQ(cache.metrics().dropped, 1u);
  EXPECT_TRUE(cache.flush());
}

TEST(RedisOrderCache, UnreachableRedisThrowsRedisIo) {
  redis_order_cache_options o;
  o.connection.endpoint.port = 1;
  try {
    redis_order_cache cache(o);
    FAIL() << "constructed without Redis";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::redis_io);
  }
}

}  // namespace
}  // namespace xiaoxiang
