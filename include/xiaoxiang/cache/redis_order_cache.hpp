// redis_order_cache: the shared cache of active orders in Redis (the
// article's "Redis缓存最近1小时的活跃订单追踪数据"). Every accepted change's
// full state (the JSON a snapshot message carries) is written behind, by a
// background thread, into the hash `<prefix><orderId>` with fields
// `version` and `snapshot`, expiring ttl_ms after the order's last change —
// so terminal orders stay readable for the TTL after completion. Any node,
// and any of a host's services (`HGET xx:order:O1 snapshot`), reads it.
//
// It is a publisher decorator: the tracker publishes into it, it forwards
// every call to the next publisher (the broker) at once and only copies the
// state into a per-order slot (coalescing: the newest version wins) — no
// Redis I/O on the ingest path. The write is conditional (a Lua script): an
// older version never overwrites a newer one, whichever node writes it.
// When Redis is unreachable the writer retries; beyond max_pending_orders
// new orders are dropped from the cache (counted), never blocking ingest.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "xiaoxiang/redis/redis_connection.hpp"
#include "xiaoxiang/transport/publisher.hpp"

namespace xiaoxiang {

struct redis_order_cache_options {
  redis_connection_options connection;
  std::string key_prefix = "xx:order:";    // key of an order: prefix + orderId
  duration_ms ttl_ms = 3600LL * 1000;      // kept this long after the order's last change
  std::size_t max_pending_orders = 200'000;  // orders waiting to be written (cap)
  std::size_t batch_orders = 512;          // writes per pipeline round trip
  duration_ms retry_after_ms = 500;        // pause before reconnecting after a failure
};

// Counters of the writer (monotonic, except pending).
struct redis_cache_metrics {
  std::uint64_t published = 0;  // changes seen
  std::uint64_t coalesced = 0;  // changes overwritten by a newer version before being written
  std::uint64_t written = 0;    // conditional writes sent (a write older than Redis's copy is a no-op)
  std::uint64_t dropped = 0;    // changes not cached (max_pending_orders reached)
  std::uint64_t failures = 0;   // Redis failures (each followed by a retry)
  std::uint64_t pending = 0;    // orders waiting to be written now
};

class redis_order_cache final : public publisher {
 public:
  // Connects (throws xiaoxiang::error(errc::redis_io) when it cannot) and
  // starts the writer. `next` (may be null) receives every call first and
  // must outlive the cache.
  explicit redis_order_cache(redis_order_cache_options options, publisher* next = nullptr);
  // Writes what is pending (best effort) and stops the writer.
  ~redis_order_cache() override;
  redis_order_cache(const redis_order_cache&) = delete;
  redis_order_cache& operator=(const redis_order_cache&) = delete;

  void publish(const tracking_state& state, std::uint32_t changed) override;
  void publish_rider(const rider_id& rider, const position_fix& fix) override;

  // Blocks until every change published before the call is written (or
  // Redis failed `attempts` times in a row meanwhile; returns false then).
  bool flush(int attempts = 20);

  redis_cache_metrics metrics() const;
  const redis_order_cache_options& options() const noexcept { return options_; }

 private:
  void run();
  void write(std::unordered_map<order_id, tracking_state>& batch);

  redis_order_cache_options options_;
  publisher* next_;
  redis_connection connection_;
  std::string script_sha_;

  mutable std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::unordered_map<order_id, tracking_state> pending_;
  std::uint64_t enqueued_ = 0;  // changes accepted into pending_
  std::uint64_t settled_ = 0;   // of those, written (or dropped by a newer version)
  int failures_in_row_ = 0;
  bool stopping_ = false;
  redis_cache_metrics metrics_;
  std::thread writer_;
};

// One cached order as read back.
struct cached_order {
  std::uint64_t version = 0;
  std::string snapshot;  // the snapshot message JSON (json_codec)
  duration_ms ttl_ms = -1;  // time to live left (-1: none)
};

// Reads the cache; one connection, for one thread at a time.
class redis_order_cache_reader {
 public:
  // Connects; throws xiaoxiang::error(errc::redis_io).
  explicit redis_order_cache_reader(redis_connection_options connection,
                                    std::string key_prefix = "xx:order:");
  // The cached state of an order, or nullopt when absent or expired.
  std::optional<cached_order> get(const order_id& order);

 private:
  redis_connection connection_;
  std::string prefix_;
};

}  // namespace xiaoxiang
