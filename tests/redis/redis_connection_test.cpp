#include "xiaoxiang/redis/redis_connection.hpp"

#include <gtest/gtest.h>

#include "redis_test_server.hpp"
#include "xiaoxiang/redis/partition.hpp"

namespace xiaoxiang {
namespace {

TEST(RedisEndpoint, ParsesHostAndPort) {
  auto e = parse_redis_endpoint("10.0.0.5:6380");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "10.0.0.5");
  EXPECT_EQ(e->port, 6380);
  e = parse_redis_endpoint(":7000");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 7000);
  e = parse_redis_endpoint("cache.local");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, 6379);
  EXPECT_EQ(e->to_string(), "cache.local:6379");
}

TEST(RedisEndpoint, RejectsBadPortsNamingTheField) {
  for (const char* bad : {"h:0", "h:65536", "h:x", "h:", "h:12a", ""}) {
    const auto e = parse_redis_endpoint(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.error(), errc::invalid_field) << bad;
    EXPECT_STREQ(e.field(), "redis") << bad;
  }
}

TEST(Partition, IsFnv1aModuloN) {
  // Pinned values: producers in other languages must compute the same.
  EXPECT_EQ(fnv1a64(""), 14695981039346656037ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(partition_of("a", 8), 0xaf63dc4c8601ec8cull % 8);
  EXPECT_EQ(partition_of("O1", 1), 0u);
  EXPECT_EQ(partition_of("O1", 0), 0u);
}

TEST(RedisConnection, CommandsAndReplyKinds) {
  redis_connection c(test::test_connection());
  const std::string key = test::unique_prefix() + "k";
  EXPECT_EQ(c.command({"SET", key, std::string_view("a\0b", 3)}).text(), "OK");
  const redis_value v = c.command({"GET", key});
  EXPECT_EQ(v.type, redis_type::string);
  EXPECT_EQ(v.str, std::string("a\0b", 3));
  EXPECT_TRUE(c.command({"GET", key + "none"}).is_nil());
  EXPECT_EQ(c.command({"DEL", key}).integer, 1);
  const redis_value err = c.command({"NOSUCHCOMMAND"});
  EXPECT_TRUE(err.is_error());
  try {
    expect_no_error(err, "NOSUCHCOMMAND");
    FAIL() << "no throw";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::redis_reply);
  }
  // The nil sentinel of out-of-range lookups.
  EXPECT_TRUE(err.at(3).at(1).is_nil());
  EXPECT_EQ(err.at(0).text(), "");
}

TEST(RedisConnection, Pipelines) {
  redis_connection c(test::test_connection());
  const std::string key = test::unique_prefix() + "n";
  for (int i = 0; i < 100; ++i) c.append({"INCR", key});
  for (int i = 1; i <= 100; ++i) EXPECT_EQ(c.get_reply().integer, i);
}

TEST(RedisConnection, PollReplyTimesOutAndStaysUsable) {
  redis_connection sub(test::test_connection());
  redis_connection pub(test::test_connection());
  const std::string channel = test::unique_prefix() + "ch";
  sub.append({"SUBSCRIBE", channel});
  auto confirm = sub.poll_reply(std::chrono::milliseconds(2000));
  ASSERT_TRUE(confirm.has_value());
  EXPECT_EQ(confirm->at(0).text(), "subscribe");
  EXPECT_FALSE(sub.poll_reply(std::chrono::milliseconds(20)).has_value());
  EXPECT_EQ(pub.command({"PUBLISH", channel, "hello"}).integer, 1);
  auto msg = sub.poll_reply(std::chrono::milliseconds(2000));
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->at(2).text(), "hello");
}

TEST(RedisConnection, UnreachableServerThrowsRedisIo) {
  redis_connection_options o;
  o.endpoint.port = 1;  // nothing listens on port 1 of the loopback
  o.connect_timeout_ms = 500;
  try {
    redis_connection c(o);
    FAIL() << "connected to port 1";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::redis_io);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
  }
}

TEST(RedisConnection, ReconnectsAfterTheServerClosedTheConnection) {
  redis_connection c(test::test_connection());
  redis_connection admin(test::test_connection());
  const long long id = c.command({"CLIENT", "ID"}).integer;
  EXPECT_EQ(admin.command({"CLIENT", "KILL", "ID", std::to_string(id)}).integer, 1);
  EXPECT_THROW(c.command({"PING"}), error);
  c.reconnect();
  EXPECT_EQ(c.command({"PING"}).text(), "PONG");
}

}  // namespace
}  // namespace xiaoxiang
