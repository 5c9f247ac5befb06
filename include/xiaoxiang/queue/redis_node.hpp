// redis_node: one node of a cluster on Redis (docs/scaling.md), the wiring
// `xiaoxiang serve --redis` uses and a host may reuse: the publisher chain a
// tracker publishes into (fan-out -> cache -> local broker), the fan-out
// subscriber that feeds the local broker with other nodes' changes, and a
// consumer thread for the partitions this node owns (none: a WebSocket-only
// node).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "xiaoxiang/cache/redis_fanout.hpp"
#include "xiaoxiang/cache/redis_order_cache.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/queue/redis_stream_consumer.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {

struct redis_node_options {
  redis_endpoint endpoint;
  std::string node = "node-1";           // consumer name (stable across restarts) and fan-out origin
  std::string group = "trackers";        // consumer group of the tracker nodes
  std::uint32_t partitions = 8;          // partitions of the cluster (streams and channels)
  std::vector<std::uint32_t> owned;      // partitions this node consumes; empty: none
  std::string key_prefix = "xx:";        // streams "<prefix>events:<p>", channels
                                         // "<prefix>changes:<p>", cache "<prefix>order:<id>"
  duration_ms cache_ttl_ms = 3600LL * 1000;  // cache entries live this long after the last change
  duration_ms claim_min_idle_ms = 30'000;    // take over other consumers' entries idle this long
};

// Parses a partition list "0-3", "0,2,5-7" or "all" (every partition of
// `count`); errc::invalid_field "partitions" for a malformed item or one
// outside 0..count-1.
result<std::vector<std::uint32_t>> parse_partition_list(std::string_view text, std::uint32_t count);

// The options of `serve --redis HOST:PORT [--partitions LIST]
// [--partition-count N] [--node NAME]`: nullopt without --redis; the errors
// name the option ("redis", "partitions", "partition-count", "node").
result<std::optional<redis_node_options>> redis_node_spec(const std::optional<std::string>& redis,
                                                          const std::optional<std::string>& partitions,
                                                          const std::optional<std::string>& count,
                                                          const std::optional<std::string>& node);

class redis_node {
 public:
  // Connects the cache, the fan-out publisher and subscriber (throws
  // xiaoxiang::error(errc::redis_io)). `local` must outlive the node.
  redis_node(redis_node_options options, broker& local);
  ~redis_node();  // stop()
  redis_node(const redis_node&) = delete;
  redis_node& operator=(const redis_node&) = delete;

  // The publisher a tracker of this node publishes into.
  publisher& chain() noexcept { return fanout_; }
  // Starts consuming the owned partitions into `engine` (a thread).
  void start(tracker& engine);
  // Stops consuming (acknowledging what is durable) and sends what the
  // cache and fan-out hold. Idempotent.
  void stop();

  // One line for logs: node, partitions, counters.
  std::string describe() const;
  const redis_node_options& options() const noexcept { return options_; }

 private:
  redis_node_options options_;
  redis_order_cache cache_;
  redis_fanout_publisher fanout_;
  redis_fanout_subscriber subscriber_;
  std::unique_ptr<redis_stream_consumer> consumer_;
  std::atomic<bool> stop_{false};
  std::thread consumer_thread_;
  std::string consumer_error_;
};

}  // namespace xiaoxiang
