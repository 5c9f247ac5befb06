// tracker: the engine. A host's queue consumer calls ingest() with every
// event; the tracker validates and filters it, applies it to the order state
// machine with a version bump, updates the rider index, hands the records to
// storage (write-behind) and pushes the change to the publisher.
//
// Threading: ingest() may be called from several threads at once. Order
// state is partitioned by order id and rider state by rider id; each
// partition has its own small lock, so two threads ingesting events of
// different orders (or riders) never wait for each other. Events of one
// order must come from one consumer at a time (as a partitioned queue
// guarantees); events of one order arriving concurrently are still applied
// one after the other, in the order they take the partition's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "xiaoxiang/anomaly/delivery_timeout.hpp"
#include "xiaoxiang/anomaly/rider_silent.hpp"
#include "xiaoxiang/anomaly/route_deviation.hpp"
#include "xiaoxiang/anomaly/standstill.hpp"
#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/eta/eta_model.hpp"
#include "xiaoxiang/geo/rider_index.hpp"
#include "xiaoxiang/order/event.hpp"
#include "xiaoxiang/order/order.hpp"
#include "xiaoxiang/order/tracking_record.hpp"
#include "xiaoxiang/order/tracking_state.hpp"
#include "xiaoxiang/storage/storage.hpp"
#include "xiaoxiang/storage/write_behind.hpp"
#include "xiaoxiang/track/metrics.hpp"
#include "xiaoxiang/transport/publisher.hpp"

namespace xiaoxiang {

struct tracker_options {
  std::size_t order_partitions = 64;   // shards of order state (locks)
  std::size_t rider_partitions = 64;   // shards of rider state and of the rider index
  // Position filters (Traccar's are the model).
  double max_speed_kmh = 150;               // implied speed above this: position_too_fast
  duration_ms max_future_skew_ms = 60'000;  // device time beyond now + this: position_in_future
  duration_ms max_position_age_ms = 24LL * 3600 * 1000;  // older than now - this: position_too_old
  // The hot cache: terminal orders stay in memory this long after their last
  // change (late duplicates and watchers still find them), then are served
  // from storage.
  duration_ms terminal_retention_ms = 10LL * 60 * 1000;
  // How far back event ids of terminal orders are recovered after a restart
  // for duplicate detection (the article's "last hour").
  duration_ms dedup_window_ms = 3600LL * 1000;
  write_behind_options storage_queue{};  // the write-behind queue's bounds

  // ETA and anomaly detection (docs/eta.md, docs/anomaly.md), run under the
  // order's lock on every update of a Paid or Delivering order.
  bool eta = true;             // estimate "etaSeconds" / "etaP90Seconds"
  bool eta_learning = true;    // teach the model online from every fix and delivery
  bool detectors = true;       // raise and clear "alerts"
  eta_model_options eta_model{};  // what the shared model learns and its defaults
  route_deviation_options route_deviation{};
  standstill_options standstill{};
  delivery_timeout_options delivery_timeout{};
  rider_silent_options rider_silent{};
  // A fix within this of the warehouse or of the customer of any order the
  // rider carries is at a planned stop (loading, handing over): the
  // standstill detector allows it longer. Metres.
  double planned_stop_radius_m = 60;
};

enum class ingest_status : std::uint8_t {
  accepted = 0,   // applied: versions bumped, records written behind, change pushed
  duplicate = 1,  // the event id was applied already: nothing changed
  rejected = 2,   // refused: `code` and `field` say why; nothing changed
};

const char* ingest_status_name(ingest_status s) noexcept;  // "accepted", ...

struct ingest_result {
  ingest_status status = ingest_status::accepted;
  std::error_code code;          // set when rejected (errc), and for duplicates (duplicate_event)
  const char* field = nullptr;   // the field the rejection concerns
  std::uint64_t version = 0;     // the order's new version (single-order events); the
                                 // version of the last order updated for positions
  std::uint32_t orders_updated = 0;  // how many orders the event changed
  std::uint32_t fixes_rejected = 0;  // position_batch: fixes dropped by the filters
  // The write-behind sequence of the records this event produced; the event
  // is durable once durable_sequence() >= this (0: nothing to write).
  std::uint64_t durable_ticket = 0;

  bool accepted() const noexcept { return status == ingest_status::accepted; }
  std::string message() const;  // "accepted v7", "rejected: lat: latitude is ..."
};

// Which of a rider's orders a position may move. A node of a cluster passes
// the orders of the partitions the position was written to
// (queue/redis_stream_consumer.hpp): the rider's other orders belong to
// partitions whose events this node may not have read up to this position
// (an order delivered there would otherwise get fixes from after its
// delivery).
class order_scope {
 public:
  virtual ~order_scope() = default;
  virtual bool includes(const order_id& order) const noexcept = 0;
};

class tracker {
 public:
  // `store` and `pub` may be null (no storage, no push); they must outlive
  // the tracker. With a store, the constructor recovers the active orders
  // from it so that versions continue without a gap and duplicates stay
  // recognised. `now` defaults to the system clock.
  explicit tracker(tracker_options options = {}, storage* store = nullptr,
                   publisher* pub = nullptr, const clock* now = nullptr);
  ~tracker();
  tracker(const tracker&) = delete;
  tracker& operator=(const tracker&) = delete;

  // The one entry point for every event a host's queue delivers.
  ingest_result ingest(const event& e);
  // The same, with a rider's positions applied only to the orders in
  // `scope` (order events are not affected).
  ingest_result ingest(const event& e, const order_scope& scope);

  // The order as the engine knows it: hot state first, storage otherwise.
  std::optional<order> find_order(const order_id& id) const;
  // What a watcher sees now (all keys), from the hot state.
  std::optional<tracking_state> snapshot(const order_id& id) const;
  // The planned route of a Delivering order (empty when none was given).
  std::vector<geo_point> route(const order_id& id) const;
  // The orders a rider is delivering now.
  std::vector<order_id> orders_of_rider(const rider_id& rider) const;

  // The k nearest live riders within radius_m of center (dispatch).
  result<std::vector<nearby_rider>> nearby_riders(geo_point center, double radius_m,
                                                  std::size_t k) const;
  // A rider logged out: leaves the live index.
  status_result remove_rider(const rider_id& rider);

  // Runs the detectors driven by the clock (rider silent, delivery timeout)
  // over every hot Paid or Delivering order, as of `now`. A host calls it
  // about once a second (the CLI's demo and serve do). An alert raised or
  // cleared here is a change like any other: a new version, a tracking
  // record of kind alert, a pushed message. Returns the orders changed.
  std::size_t tick(timestamp_ms now);

  // The ETA's learned model, shared by every order: a host may teach it
  // completed trips before going live (learn_trips in eta/trip_eta.hpp).
  eta_model& eta() noexcept;

  // Drops terminal orders older than the retention from the hot cache;
  // returns how many left. Called by ingest() now and then, or by the host.
  std::size_t evict(timestamp_ms now);

  // Blocks until everything accepted so far is durable (no-op without storage).
  void flush();
  // Every write with durable_ticket <= this is on disk.
  std::uint64_t durable_sequence() const noexcept;

  tracker_metrics metrics() const;
  std::size_t hot_orders() const;  // orders in the hot cache
  std::size_t active_riders() const;
  const tracker_options& options() const noexcept { return options_; }

 private:
  ingest_result ingest_scoped(const event& e, const order_scope* scope);
  struct impl;
  tracker_options options_;
  std::unique_ptr<impl> impl_;
};

}  // namespace xiaoxiang
