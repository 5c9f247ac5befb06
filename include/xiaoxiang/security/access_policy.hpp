// access_policy: what a principal may read and send. Decisions read the
// order's current tracking_state (who the customer, rider and warehouse
// are); they run once per SUBSCRIBE, SEND or HTTP request, never per pushed
// message. A refusal is errc::access_denied with field "orderId" whether the
// order does not exist or is someone else's: nothing leaks.
#pragma once

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/order/event.hpp"
#include "xiaoxiang/order/tracking_state.hpp"
#include "xiaoxiang/security/principal.hpp"

namespace xiaoxiang {

// May `who` read the order whose state is `order` (nullptr: not known)?
// customer: order->user == who.user; rider: order->rider == who.rider;
// warehouse: order->warehouse == who.warehouse; admin: yes (known or not).
status_result can_read_order(const principal& who, const tracking_state* order) noexcept;

// The all-riders topic: admin only (errc::access_denied "destination").
status_result can_read_all_riders(const principal& who) noexcept;

// Nearby-rider search: admin only (errc::access_denied "nearby").
status_result can_search_nearby(const principal& who) noexcept;

// May `who` send the event `e`? `order` is the state of e.order (nullptr:
// not known, or the event has no order). admin: any event. rider: its own
// rider_position / position_batch (e.rider == who.rider, else "riderId"),
// order_delivered of an order assigned to it. warehouse: picking_stage of
// an order of its warehouse (e.warehouse empty or its own). customer:
// nothing. Refusals: errc::access_denied with "riderId", "warehouseId",
// "orderId" or "type".
status_result can_send(const principal& who, const event& e, const tracking_state* order) noexcept;

}  // namespace xiaoxiang
