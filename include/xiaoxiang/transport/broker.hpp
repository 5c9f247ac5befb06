// broker: the in-process publish/subscribe hub. The engine publishes every
// accepted change into it (it implements publisher); watchers subscribe to
// `/topic/orders/{orderId}` or `/topic/riders`, optionally resuming "since
// version v". It is what the STOMP / SockJS / WebSocket / long-polling
// servers sit on: it keeps the latest state of each order (snapshots) and a
// bounded per-order history of encoded messages (resume).
//
// Guarantee: for one order subscription, a callback sees contiguous versions
// (v+1, v+2, ...) or a message of kind snapshot that resets its baseline —
// never a version gap without being told.
//
// Threading: publish() may run concurrently for different orders (never for
// one order) and takes only the lock of its order's shard (orders are spread
// over shards by id hash), for the few instructions that copy the state and
// append to the history: encoding and delivery happen outside it. Subscribe,
// unsubscribe, snapshot, updates_since and forget may be called from any
// thread. Callbacks run synchronously on the publishing (or subscribing)
// thread, so they must be fast and must not block (hand the bytes to a
// socket's queue). Callbacks of one subscription never run concurrently. A
// callback may unsubscribe its own subscription (or destroy its handle), and
// may subscribe to other topics; it must not publish, nor unsubscribe another
// subscription whose callback may be running on another thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/transport/json_codec.hpp"
#include "xiaoxiang/transport/publisher.hpp"

namespace xiaoxiang {

// Tuning of a broker. Memory per order is bounded by sizeof(tracking_state)
// + history_bytes + history_messages * 16 bytes + its subscribers; an
// order's history takes both caps at its first message (whichever binds
// first evicts), and a forgotten order's buffers go to the next new order.
struct broker_options {
  std::size_t history_messages = 64;  // deltas kept per order for resume (cap)
  std::size_t history_bytes = 4096;   // bytes of encoded history kept per order (cap):
                                      // ~30 position deltas, ~7 min of 15 s fixes
  std::size_t shard_count = 64;       // lock shards (rounded up to a power of two)
  duration_ms forget_terminal_after_ms = 10 * 60 * 1000;  // keep Completed/Cancelled orders this long
  bool encode_binary = false;  // also encode each message with binary_codec (message_view::binary)
  const clock* time_source = nullptr;  // "now" for forgetting terminal orders; nullptr: system clock
};

// One delivered message; every view is valid only during the callback.
struct message_view {
  std::string_view topic;   // "/topic/orders/O1" or "/topic/riders"
  std::string_view body;    // the JSON text (json_codec)
  std::uint64_t version = 0;  // the order's version (0 on the riders topic)
  message_kind kind = message_kind::delta;  // snapshot: a new baseline, all keys
  std::string_view binary;  // binary_codec bytes; empty unless broker_options::encode_binary
};

// A subscriber's callback; see the threading rules above.
using message_callback = std::function<void(const message_view&)>;

// Counters of a broker (monotonic since construction, except `subscriptions`).
struct broker_metrics {
  std::uint64_t published = 0;       // accepted changes published (order topics)
  std::uint64_t rider_published = 0; // rider positions published (riders topic)
  std::uint64_t encodes = 0;         // messages encoded (each format and snapshot counts one)
  std::uint64_t deliveries = 0;      // callback invocations
  std::uint64_t snapshots_sent = 0;  // deliveries of kind snapshot
  std::uint64_t resumed_from_history = 0;  // history messages replayed on subscribe
  std::uint64_t subscriptions = 0;   // subscriptions active now
  std::uint64_t subscriptions_total = 0;   // subscriptions ever made
  std::uint64_t orders = 0;          // orders whose state the broker holds now
  std::uint64_t forgotten = 0;       // orders forgotten (terminal timeout or forget())
  std::uint64_t callback_failures = 0;     // callbacks that threw (caught, counted, skipped)
};

// What updates_since wrote.
struct update_batch {
  std::uint64_t latest_version = 0;  // the order's version: ask "since" this next time
  std::size_t messages = 0;          // messages written into the array
  bool snapshot = false;             // the array is one snapshot (history did not reach back)
};

class broker;

// A live subscription: unsubscribes when destroyed or on unsubscribe().
// Movable; may outlive the broker (it then does nothing).
class subscription {
 public:
  subscription() = default;
  subscription(subscription&&) noexcept = default;
  subscription& operator=(subscription&& other) noexcept;
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  ~subscription();

  // Stops delivery. After it returns no callback of this subscription runs
  // (unless called from inside that callback, which then finishes normally).
  void unsubscribe() noexcept;
  bool active() const noexcept;  // subscribed and not yet unsubscribed

  struct state;  // internal

 private:
  friend class broker;
  explicit subscription(std::shared_ptr<state> s) : state_(std::move(s)) {}
  std::shared_ptr<state> state_;
};

class broker final : public publisher {
 public:
  explicit broker(broker_options options = {});
  ~broker() override;
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;

  // Publishes one accepted change (publisher): stores the state (only the
  // groups of `changed` when the version follows the stored one, so
  // `changed` must name every key that differs), appends the
  // delta to the order's history and delivers it to the order's subscribers
  // (a snapshot instead to one whose last version is not version-1). The
  // JSON (and binary) is encoded once, whatever the number of subscribers.
  void publish(const tracking_state& state, std::uint32_t changed) override;

  // Publishes a rider position on the riders topic (no history).
  void publish_rider(const rider_id& rider, const position_fix& fix) override;

  // Subscribes to a topic. since_version: the last version the client has;
  // it gets the deltas since+1.. from the history, or a snapshot when the
  // history does not reach back (or since is newer than the broker's
  // version); nullopt asks for a snapshot first. An order the broker does not
  // know yet is fine: delivery starts with its next publish (baseline
  // since_version, or 0). Replayed messages are delivered before this returns.
  // Rejections: errc::invalid_field "topic" (neither an order topic nor the
  // riders topic), the id errors of id::make with field "orderId".
  result<subscription> subscribe(std::string_view topic, std::optional<std::uint64_t> since_version,
                                 message_callback callback);

  // The latest full state of an order; errc::unknown_order "orderId".
  result<tracking_state> snapshot(const order_id& order) const;

  // For long polling: appends to `out` a JSON array of the messages after
  // `since` (deltas from the history, or one snapshot when it does not reach
  // back); "[]" when the client is up to date. errc::unknown_order "orderId".
  result<update_batch> updates_since(const order_id& order, std::uint64_t since,
                                     std::string& out) const;

  // The current states of up to `limit` orders the broker holds, most
  // recently changed first (ties by id), for order lists of consoles.
  std::vector<tracking_state> orders(std::size_t limit) const;

  // Drops an order's state and history now (its subscribers stay).
  void forget(const order_id& order);

  // Forgets terminal orders older than forget_terminal_after_ms in every
  // shard; publish() does the same for its own shard as it goes. Returns how
  // many were forgotten.
  std::size_t sweep();

  broker_metrics metrics() const;
  const broker_options& options() const noexcept;

  struct impl;  // internal

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace xiaoxiang
