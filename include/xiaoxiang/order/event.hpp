// event: what a host's queue consumer hands to tracker.ingest(). One flat
// value type for every kind, so that queues, codecs, the simulator and Python
// all carry the same thing; each kind uses the fields its comment names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/order/order.hpp"
#include "xiaoxiang/order/status.hpp"

namespace xiaoxiang {

enum class event_kind : std::uint8_t {
  order_created = 1,    // order, user, warehouse, amount, origin, destination, address, promised_time
  order_paid = 2,       // order
  picking_stage = 3,    // order, warehouse, stage
  rider_assigned = 4,   // order, rider, route (planned route, may be empty)
  rider_position = 5,   // rider, position (applies to every order the rider delivers)
  order_delivered = 6,  // order, rider, position (optional)
  order_cancelled = 7,  // order, reason in address (optional)
  position_batch = 8,   // rider, fixes: positions cached offline, uploaded late
};

// The wire name of a kind: "order_created", ... ; "unknown" otherwise.
const char* event_kind_name(event_kind k) noexcept;
// The kind for a wire name; errc::unknown_event_type otherwise.
result<event_kind> event_kind_from_name(std::string_view name) noexcept;

// One GPS fix as a device reports it.
struct position_fix {
  timestamp_ms time = 0;  // device time
  geo_point point;

  friend bool operator==(const position_fix&, const position_fix&) = default;
};

struct event {
  event_kind kind = event_kind::rider_position;
  event_id id;              // unique per event: the idempotency key
  timestamp_ms time = 0;    // when it happened (device or business time)
  order_id order;
  user_id user;
  warehouse_id warehouse;
  rider_id rider;
  amount_cents amount = 0;
  geo_point position;       // rider_position, order_delivered (has_position)
  bool has_position = false;
  geo_point origin;         // order_created: the warehouse's position
  geo_point destination;    // order_created: the customer's position
  std::string address;      // order_created: the customer's address
  timestamp_ms promised_time = 0;
  enum picking_stage stage = picking_stage::none;
  std::vector<geo_point> route;       // rider_assigned: planned route
  std::vector<position_fix> fixes;    // position_batch

  friend bool operator==(const event&, const event&) = default;
};

}  // namespace xiaoxiang
