// storage: the interface the engine writes through and recovers from. The
// engine never calls it on the hot path: write_behind (write_behind.hpp)
// batches records on a background thread and calls commit().
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/order/order.hpp"
#include "xiaoxiang/order/tracking_record.hpp"

namespace xiaoxiang {

// What one commit writes, atomically: the latest state of some orders
// (upsert by id) and new tracking records (append; (order, version) unique).
struct write_batch {
  std::vector<order> orders;
  std::vector<tracking_record> records;

  bool empty() const noexcept { return orders.empty() && records.empty(); }
  void clear() noexcept {
    orders.clear();
    records.clear();
  }
};

// What the engine needs to continue after a restart.
struct recovery_state {
  std::vector<order> active_orders;      // status 1..3, with their versions
  std::vector<event_id> recent_events;   // event ids of records of active orders
                                         // and of records created at or after `since`
  // The same events paired with the order of each record that carries them,
  // sorted, one entry per (event, order): a rider's position that moved two
  // orders appears twice. A node that owns some partitions of a shared
  // database keeps only its own orders' (queue/partition_storage.hpp).
  std::vector<std::pair<event_id, order_id>> recent_event_orders;
};

// Sorts recent_event_orders, drops repeats and derives recent_events (sorted,
// distinct) from it: how every storage's recover() ends.
inline void finish_recovery(recovery_state& state) {
  auto& pairs = state.recent_event_orders;
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  state.recent_events.clear();
  for (const auto& [event, order] : pairs)
    if (state.recent_events.empty() || state.recent_events.back() != event)
      state.recent_events.push_back(event);
}

class storage {
 public:
  virtual ~storage() = default;

  // Writes the batch atomically (all or nothing) and durably before
  // returning. Throws xiaoxiang::error on failures of the environment.
  // Called from one thread at a time (the write-behind writer).
  virtual void commit(const write_batch& batch) = 0;

  // Reads; safe to call from other threads while commits run.
  virtual std::optional<order> load_order(const order_id& id) = 0;
  // The state to rebuild after a restart; `since` bounds how far back event
  // ids of terminal orders are kept for duplicate detection.
  virtual recovery_state recover(timestamp_ms since) = 0;
  // An order's records in device-time order (create_time, then version): the
  // trajectory for replay, with late offline batches in their place.
  virtual std::vector<tracking_record> trajectory(const order_id& id) = 0;
  // An order's records with version > `version`, in version order.
  virtual std::vector<tracking_record> records_since(const order_id& id,
                                                     std::uint64_t version) = 0;
  // A user's orders, newest first.
  virtual std::vector<order> orders_of_user(const user_id& user) = 0;
};

}  // namespace xiaoxiang
