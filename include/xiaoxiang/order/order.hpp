// order: one row of the article's `orders` table plus what the engine needs
// (version, assigned rider, destination, promised time).
#pragma once

#include <cstdint>
#include <string>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/order/status.hpp"

namespace xiaoxiang {

// Money as integer cents: DECIMAL(10,2) without floating-point rounding.
using amount_cents = std::int64_t;
inline constexpr amount_cents max_amount_cents = 9'999'999'999;  // 99,999,999.99

struct order {
  order_id id;                 // orders.id
  user_id user;                // orders.user_id
  warehouse_id warehouse;      // the front warehouse that picks it
  order_status status = order_status::pending_payment;  // orders.status
  amount_cents total_amount = 0;                         // orders.total_amount
  timestamp_ms create_time = 0;                          // orders.create_time
  timestamp_ms update_time = 0;                          // orders.update_time
  std::uint64_t version = 0;   // bumped by one on every accepted change
  rider_id rider;              // assigned rider (empty before Delivering)
  geo_point origin;            // the warehouse's position
  geo_point destination;       // the customer's position
  std::string address;         // the customer's address (<= 255 bytes)
  timestamp_ms promised_time = 0;  // when delivery was promised (0: none)
  picking_stage stage = picking_stage::none;  // last picking stage while Paid

  friend bool operator==(const order&, const order&) = default;
};

}  // namespace xiaoxiang
