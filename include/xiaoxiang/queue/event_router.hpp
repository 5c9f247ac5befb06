// event_router: which partition(s) of the ingest queue an event goes to.
//
// Order events (created, paid, picking, rider assigned, delivered, cancelled)
// go to partition_of(orderId): one partition — one tracker node — owns an
// order, and the queue keeps that order's events in order.
//
// A rider's position (rider_position, position_batch) carries no order id
// and applies to every order the rider delivers, which may be owned by
// different partitions. The router remembers, from the rider_assigned events
// it routes, which partitions own each rider's active orders (forgotten on
// order_delivered / order_cancelled), and writes the position to each of
// them — once per partition, with the same eventId — so every owning tracker
// sees it after the assignment, in the order the producer saw them. A rider
// with no active order is routed to partition_of(riderId) (its "home"), so
// that the nearby-riders index of one node knows every idle rider.
//
// The producer must therefore see a rider's assignments before its
// positions (one router per producer process, fed in order); docs/scaling.md
// says what a host does with several producers.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/order/event.hpp"

namespace xiaoxiang {

class event_router {
 public:
  // `partitions` >= 1 streams (clamped to 1).
  explicit event_router(std::uint32_t partitions);

  // Writes into `out` (cleared first) the partitions `e` goes to, ascending,
  // without repeats, and updates the rider -> orders memory.
  void route(const event& e, std::vector<std::uint32_t>& out);

  std::uint32_t partitions() const noexcept { return partitions_; }
  // Active (assigned, not yet delivered or cancelled) orders remembered.
  std::size_t active_assignments() const noexcept { return order_rider_.size(); }

 private:
  std::uint32_t partitions_;
  std::unordered_map<order_id, rider_id> order_rider_;
  std::unordered_map<rider_id, std::vector<order_id>> rider_orders_;

  void forget(const order_id& order);
};

}  // namespace xiaoxiang
