#include "xiaoxiang/security/access_policy.hpp"

namespace xiaoxiang {

status_result can_read_order(const principal& who, const tracking_state* order) noexcept {
  if (who.who == role::admin) return {};
  // Unknown and not-yours are one answer: a probe learns nothing.
  const status_result denied{errc::access_denied, "orderId"};
  if (order == nullptr) return denied;
  switch (who.who) {
    case role::customer: return !who.user.empty() && order->user == who.user ? status_result{} : denied;
    case role::rider: return !who.rider.empty() && order->rider == who.rider ? status_result{} : denied;
    case role::warehouse:
      return !who.warehouse.empty() && order->warehouse == who.warehouse ? status_result{} : denied;
    case role::admin: return {};
  }
  return denied;
}

status_result can_read_all_riders(const principal& who) noexcept {
  if (who.who == role::admin) return {};
  return {errc::access_denied, "destination"};
}

status_result can_search_nearby(const principal& who) noexcept {
  if (who.who == role::admin) return {};
  return {errc::access_denied, "nearby"};
}

status_result can_send(const principal& who, const event& e, const tracking_state* order) noexcept {
  switch (who.who) {
    case role::admin: return {};
    case role::customer: return {errc::access_denied, "type"};
    case role::rider:
      switch (e.kind) {
        case event_kind::rider_position:
        case event_kind::position_batch:
          if (e.rider != who.rider) return {errc::access_denied, "riderId"};
          return {};
        case event_kind::order_delivered:
          if (e.rider != who.rider) return {errc::access_denied, "riderId"};
          if (order == nullptr || order->rider != who.rider) return {errc::access_denied, "orderId"};
          return {};
        default: return {errc::access_denied, "type"};
      }
    case role::warehouse:
      if (e.kind != event_kind::picking_stage) return {errc::access_denied, "type"};
      if (!e.warehouse.empty() && e.warehouse != who.warehouse) return {errc::access_denied, "warehouseId"};
      if (order == nullptr || order->warehouse != who.warehouse) return {errc::access_denied, "orderId"};
      return {};
  }
  return {errc::access_denied, "type"};
}

}  // namespace xiaoxiang
