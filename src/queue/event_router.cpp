#include "xiaoxiang/queue/event_router.hpp"

#include <algorithm>

#include "xiaoxiang/redis/partition.hpp"

namespace xiaoxiang {

event_router::event_router(std::uint32_t partitions) : partitions_(std::max(partitions, 1u)) {}

void event_router::forget(const order_id& order) {
  const auto it = order_rider_.find(order);
  if (it == order_rider_.end()) return;
  const auto r = rider_orders_.find(it->second);
  if (r != rider_orders_.end()) {
    std::erase(r->second, order);
    if (r->second.empty()) rider_orders_.erase(r);
  }
  order_rider_.erase(it);
}

void event_router::route(const event& e, std::vector<std::uint32_t>& out) {
  out.clear();
  switch (e.kind) {
    case event_kind::rider_position:
    case event_kind::position_batch: {
      const auto r = rider_orders_.find(e.rider);
      if (r == rider_orders_.end() || r->second.empty()) {
        out.push_back(partition_of(e.rider.view(), partitions_));
        return;
      }
      for (const order_id& o : r->second) out.push_back(partition_of(o.view(), partitions_));
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return;
    }
    case event_kind::rider_assigned:
      out.push_back(partition_of(e.order.view(), partitions_));
      if (!e.rider.empty()) {
        forget(e.order);  // a reassignment replaces the earlier rider
        order_rider_.emplace(e.order, e.rider);
        rider_orders_[e.rider].push_back(e.order);
      }
      return;
    case event_kind::order_delivered:
    case event_kind::order_cancelled:
      out.push_back(partition_of(e.order.view(), partitions_));
      forget(e.order);
      return;
    default:
      out.push_back(partition_of(e.order.view(), partitions_));
      return;
  }
}

}  // namespace xiaoxiang
