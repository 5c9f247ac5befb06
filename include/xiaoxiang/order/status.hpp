// The order state machine of DESIGN.md: status codes 1..5 (part of the wire
// and storage format), the allowed transitions, operator types and the
// warehouse picking stages.
#pragma once

#include <cstdint>

#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/core/result.hpp"

namespace xiaoxiang {

enum class order_status : std::uint8_t {
  pending_payment = 1,  // user placed the order
  paid = 2,             // payment succeeded; the warehouse picks
  delivering = 3,       // picked, rider assigned and on the way
  completed = 4,        // rider delivered (terminal)
  cancelled = 5,        // cancelled or refunded (terminal)
};

enum class operator_type : std::uint8_t {
  none = 0,       // no operator (the user, the payment system)
  rider = 1,
  warehouse = 2,
};

// Picking stages the warehouse reports while the order is Paid.
enum class picking_stage : std::uint8_t {
  none = 0,
  task_created = 1,
  picking = 2,
  picked = 3,
  packed = 4,
  handed_over = 5,
};

constexpr bool is_terminal(order_status s) noexcept {
  return s == order_status::completed || s == order_status::cancelled;
}

// Active orders are the ones still moving: PendingPayment, Paid, Delivering.
constexpr bool is_active(order_status s) noexcept { return !is_terminal(s); }

// errc::ok when `from -> to` is one of 1->2, 1->5, 2->3, 2->5, 3->4, 3->5;
// errc::order_terminal when `from` is terminal; errc::illegal_transition
// otherwise (including from == to).
constexpr errc check_transition(order_status from, order_status to) noexcept {
  using s = order_status;
  if (is_terminal(from)) return errc::order_terminal;
  switch (from) {
    case s::pending_payment:
      return (to == s::paid || to == s::cancelled) ? errc::ok : errc::illegal_transition;
    case s::paid:
      return (to == s::delivering || to == s::cancelled) ? errc::ok : errc::illegal_transition;
    case s::delivering:
      return (to == s::completed || to == s::cancelled) ? errc::ok : errc::illegal_transition;
    default:
      return errc::illegal_transition;
  }
}

constexpr bool can_transition(order_status from, order_status to) noexcept {
  return check_transition(from, to) == errc::ok;
}

// Status from its integer code; errc::invalid_status outside 1..5.
inline result<order_status> status_from_code(int code) noexcept {
  if (code < 1 || code > 5) return {errc::invalid_status, "status"};
  return static_cast<order_status>(code);
}

inline result<operator_type> operator_type_from_code(int code) noexcept {
  if (code < 0 || code > 2) return {errc::invalid_operator_type, "operatorType"};
  return static_cast<operator_type>(code);
}

inline result<picking_stage> picking_stage_from_code(int code) noexcept {
  if (code < 1 || code > 5) return {errc::invalid_picking_stage, "stage"};
  return static_cast<picking_stage>(code);
}

constexpr int to_code(order_status s) noexcept { return static_cast<int>(s); }
constexpr int to_code(operator_type t) noexcept { return static_cast<int>(t); }
constexpr int to_code(picking_stage p) noexcept { return static_cast<int>(p); }

// English name as in DESIGN.md: "PendingPayment", "Paid", ...
const char* status_name(order_status s) noexcept;
// The client label the article's apps show: 待支付, 仓库处理中, 配送中, 已送达, 已取消 (UTF-8).
const char* status_label(order_status s) noexcept;
// "task_created", "picking", "picked", "packed", "handed_over"; "none".
const char* picking_stage_name(picking_stage p) noexcept;

}  // namespace xiaoxiang
