// tracking_state: what a watcher of an order sees — the fields of a pushed
// message (DESIGN.md §3) — and the bit per field a delta carries.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/order/status.hpp"

namespace xiaoxiang {

// Kinds of alert the anomaly detectors raise (wire names in alert_kind_name).
enum class alert_kind : std::uint8_t {
  route_deviation = 0,  // value: metres off the planned route
  standstill = 1,       // value: minutes stopped
  delivery_timeout = 2, // value: minutes late (negative: predicted late by P90)
  rider_silent = 3,     // value: minutes without a position
};
inline constexpr std::size_t alert_kind_count = 4;

const char* alert_kind_name(alert_kind k) noexcept;  // "routeDeviation", ...

struct alert {
  bool active = false;
  timestamp_ms since = 0;  // when it started
  double value = 0;        // what was seen, in the unit alert_kind names

  friend bool operator==(const alert&, const alert&) = default;
};

// One bit per key of a pushed message; orderId and version are always sent.
namespace field {
inline constexpr std::uint32_t status = 1u << 0;        // "status"
inline constexpr std::uint32_t position = 1u << 1;      // "longitude", "latitude"
inline constexpr std::uint32_t address = 1u << 2;       // "address"
inline constexpr std::uint32_t operator_info = 1u << 3; // "operatorId", "operatorType"
inline constexpr std::uint32_t create_time = 1u << 4;   // "createTime"
inline constexpr std::uint32_t eta = 1u << 5;           // "etaSeconds", "etaP90Seconds"
inline constexpr std::uint32_t alerts = 1u << 6;        // "alerts"
inline constexpr std::uint32_t rider = 1u << 7;         // "riderId"
inline constexpr std::uint32_t picking = 1u << 8;       // "pickingStage"
inline constexpr std::uint32_t user = 1u << 9;          // "userId", "warehouseId"
inline constexpr std::uint32_t all = (1u << 10) - 1;
}  // namespace field

struct tracking_state {
  order_id order;                // "orderId"
  std::uint64_t version = 0;     // "version"
  order_status status = order_status::pending_payment;  // "status" (code 1..5)
  geo_point position;            // "longitude", "latitude" (live rider position)
  bool has_position = false;
  std::string address;           // "address"
  id operator_id;                // "operatorId"
  operator_type op_type = operator_type::none;  // "operatorType"
  timestamp_ms create_time = 0;  // "createTime": time of the latest record
  std::int32_t eta_seconds = -1;      // "etaSeconds": median, -1 when unknown
  std::int32_t eta_p90_seconds = -1;  // "etaP90Seconds"
  std::array<alert, alert_kind_count> alerts{};  // "alerts": the active ones
  rider_id rider;                // "riderId"
  picking_stage stage = picking_stage::none;  // "pickingStage"
  user_id user;                  // "userId"
  warehouse_id warehouse;        // "warehouseId"

  friend bool operator==(const tracking_state&, const tracking_state&) = default;
};

}  // namespace xiaoxiang
