#include "xiaoxiang/order/status.hpp"

namespace xiaoxiang {

const char* status_name(order_status s) noexcept {
  switch (s) {
    case order_status::pending_payment: return "PendingPayment";
    case order_status::paid: return "Paid";
    case order_status::delivering: return "Delivering";
    case order_status::completed: return "Completed";
    case order_status::cancelled: return "Cancelled";
  }
  return "Unknown";
}

const char* status_label(order_status s) noexcept {
  switch (s) {
    case order_status::pending_payment: return "待支付";
    case order_status::paid: return "仓库处理中";
    case order_status::delivering: return "配送中";
    case order_status::completed: return "已送达";
    case order_status::cancelled: return "已取消";
  }
  return "未知";
}

const char* picking_stage_name(picking_stage p) noexcept {
  switch (p) {
    case picking_stage::none: return "none";
    case picking_stage::task_created: return "task_created";
    case picking_stage::picking: return "picking";
    case picking_stage::picked: return "picked";
    case picking_stage::packed: return "packed";
    case picking_stage::handed_over: return "handed_over";
  }
  return "unknown";
}

}  // namespace xiaoxiang

#include "xiaoxiang/order/tracking_state.hpp"

namespace xiaoxiang {

const char* alert_kind_name(alert_kind k) noexcept {
  switch (k) {
    case alert_kind::route_deviation: return "routeDeviation";
    case alert_kind::standstill: return "standstill";
    case alert_kind::delivery_timeout: return "deliveryTimeout";
    case alert_kind::rider_silent: return "riderSilent";
  }
  return "unknown";
}

}  // namespace xiaoxiang
