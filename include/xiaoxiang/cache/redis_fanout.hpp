// redis_fanout: cross-node fan-out of accepted changes over Redis pub/sub, so
// that a client connected to any WebSocket node receives every change of its
// order in version order.
//
// redis_fanout_publisher (on the tracker node that produced the change) is a
// publisher decorator: it forwards each call to the next publisher (the local
// broker / cache) and queues the change; a background thread PUBLISHes it
// once on channel `<prefix><partition_of(orderId)>` as
// "<origin node>\n<delta JSON>" (json_codec's delta: the changed keys).
//
// redis_fanout_subscriber (on every WebSocket node) subscribes to the
// channels and feeds its local broker (broker::publish), which serves STOMP,
// SockJS and long polling as usual. It skips changes its own node produced
// (they reached the broker directly). A node that missed messages (a
// version gap: a dropped connection, a full queue, a node started late)
// does not pass the gap on: it reads the order's snapshot from the cache
// (redis_order_cache) and publishes it as a new baseline (the broker sends
// clients a snapshot), then continues with the deltas after it; deltas that
// arrive while the cache is behind wait for it (up to repair_timeout_ms).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "xiaoxiang/cache/redis_order_cache.hpp"
#include "xiaoxiang/redis/redis_connection.hpp"
#include "xiaoxiang/transport/broker.hpp"
#include "xiaoxiang/transport/publisher.hpp"

namespace xiaoxiang {

// Where changes are fanned out; publishers and subscribers must agree.
struct redis_fanout_channels {
  std::string channel_prefix = "xx:changes:";  // channel of partition p: prefix + p
  std::uint32_t partitions = 8;                // partition_of(orderId) picks the channel
};

struct redis_fanout_publisher_options {
  redis_connection_options connection;
  redis_fanout_channels channels;
  std::string node = "node-1";                // this node's name (subscribers skip their own)
  std::size_t max_queued_messages = 100'000;  // beyond: dropped (counted; receivers repair the gap)
  duration_ms retry_after_ms = 500;           // pause before reconnecting after a failure
};

// Counters of a fan-out publisher (monotonic, except queued).
struct redis_fanout_publisher_metrics {
  std::uint64_t published = 0;  // changes sent on Redis
  std::uint64_t dropped = 0;    // changes dropped (queue full, or lost with a failed connection)
  std::uint64_t failures = 0;   // Redis failures
  std::uint64_t queued = 0;     // changes waiting now
};

class redis_fanout_publisher final : public publisher {
 public:
  // Connects (throws xiaoxiang::error(errc::redis_io)) and starts the sender.
  // `next` (may be null) receives every call first; it must outlive this.
  explicit redis_fanout_publisher(redis_fanout_publisher_options options, publisher* next = nullptr);
  ~redis_fanout_publisher() override;  // sends what is queued (best effort), stops
  redis_fanout_publisher(const redis_fanout_publisher&) = delete;
  redis_fanout_publisher& operator=(const redis_fanout_publisher&) = delete;

  void publish(const tracking_state& state, std::uint32_t changed) override;
  void publish_rider(const rider_id& rider, const position_fix& fix) override;

  // Blocks until every change queued before the call was sent (or dropped).
  void flush();
  redis_fanout_publisher_metrics metrics() const;

 private:
  struct item {
    tracking_state state;
    std::uint32_t changed;
  };
  void run();

  redis_fanout_publisher_options options_;
  publisher* next_;
  redis_connection connection_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<item> queue_;
  std::uint64_t enqueued_ = 0, settled_ = 0;
  bool stopping_ = false;
  redis_fanout_publisher_metrics metrics_;
  std::thread sender_;
};

struct redis_fanout_subscriber_options {
  redis_connection_options connection;
  redis_fanout_channels channels;
  std::vector<std::uint32_t> partitions;        // channels to follow; empty: all
  std::string node = "node-1";                  // changes from this node are skipped
  std::string cache_key_prefix = "xx:order:";   // where gaps are repaired from
  duration_ms repair_timeout_ms = 5'000;        // how long deltas wait for the cache to catch up
  duration_ms poll_ms = 20;                     // wake-up period (stop, repair retries)
};

// Counters of a fan-out subscriber (monotonic, except repairing).
struct redis_fanout_subscriber_metrics {
  std::uint64_t received = 0;    // messages received from other nodes
  std::uint64_t own_skipped = 0; // messages of this node, skipped
  std::uint64_t delivered = 0;   // changes published into the local broker (deltas)
  std::uint64_t stale = 0;       // messages at or below the version already delivered
  std::uint64_t gaps = 0;        // version gaps seen
  std::uint64_t repaired = 0;    // gaps closed by a cache snapshot
  std::uint64_t unrepaired = 0;  // gaps given up after repair_timeout_ms
  std::uint64_t malformed = 0;   // messages that do not decode
  std::uint64_t reconnects = 0;  // subscriptions re-established after a Redis failure
  std::uint64_t repairing = 0;   // orders waiting for the cache now
};

class redis_fanout_subscriber {
 public:
  // Connects, subscribes and starts the receiving thread; throws
  // xiaoxiang::error(errc::redis_io). `local` must outlive this.
  redis_fanout_subscriber(redis_fanout_subscriber_options options, broker& local);
  ~redis_fanout_subscriber();  // stops the thread
  redis_fanout_subscriber(const redis_fanout_subscriber&) = delete;
  redis_fanout_subscriber& operator=(const redis_fanout_subscriber&) = delete;

  redis_fanout_subscriber_metrics metrics() const;

 private:
  struct repair {
    std::uint64_t since_ms = 0;  // steady-clock ms when the gap was seen
    std::map<std::uint64_t, std::pair<tracking_state, std::uint32_t>> waiting;  // by version
  };
  void run();
  void subscribe();
  void on_message(std::string_view payload);
  void deliver(const tracking_state& state, std::uint32_t changed);
  bool try_repair(const order_id& order, repair& r);
  void retry_repairs();
  std::uint64_t known_version(const order_id& order) const;

  redis_fanout_subscriber_options options_;
  broker& local_;
  redis_connection connection_;
  redis_order_cache_reader cache_;
  std::unordered_map<order_id, std::uint64_t> delivered_;  // last version fed per order
  std::unordered_map<order_id, repair> repairs_;
  std::atomic<bool> stop_{false};
  mutable std::mutex metrics_mutex_;
  redis_fanout_subscriber_metrics metrics_;
  std::thread receiver_;
};

}  // namespace xiaoxiang
