// tracking_record: one row of the article's `order_tracking` table plus the
// version it produced and the event it came from.
#pragma once

#include <cstdint>
#include <string>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/order/status.hpp"

namespace xiaoxiang {

// Why a record exists; stored as a small integer beside the article's columns.
enum class record_kind : std::uint8_t {
  status_change = 1,   // the order's status changed (or it was created)
  position = 2,        // a rider position while Delivering
  picking = 3,         // a warehouse picking stage while Paid
  rider_assigned = 4,  // a rider took the order (status Paid -> Delivering)
  alert = 5,           // the clock raised or cleared an alert (rider silent, delivery
                       // timeout): address holds what, e.g. "riderSilent raised 4.5"
};

struct tracking_record {
  id record_id;                  // order_tracking.id: see make_record_id()
  order_id order;                // order_tracking.order_id
  order_status status = order_status::pending_payment;  // status after this record
  geo_point position;            // longitude, latitude; meaningful when has_position
  bool has_position = false;
  std::string address;           // order_tracking.address (<= 255 bytes)
  id operator_id;                // rider or warehouse id (empty for the user)
  operator_type op_type = operator_type::none;  // 1 rider, 2 warehouse
  timestamp_ms create_time = 0;  // device / business time of the change
  std::uint64_t version = 0;     // the order version this record produced
  event_id source_event;         // the queue event it came from (idempotency)
  record_kind kind = record_kind::status_change;
  picking_stage stage = picking_stage::none;  // for record_kind::picking

  friend bool operator==(const tracking_record&, const tracking_record&) = default;
};

// The record id: 16 hex digits of the order id's FNV-1a hash, '-', and the
// version in hex. Deterministic, so a replayed event yields the same key, and
// within the schema's 32 characters.
id make_record_id(const order_id& order, std::uint64_t version) noexcept;

}  // namespace xiaoxiang
