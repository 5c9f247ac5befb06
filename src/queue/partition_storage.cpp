#include "xiaoxiang/queue/partition_storage.hpp"

#include <utility>

#include "xiaoxiang/redis/partition.hpp"

namespace xiaoxiang {

partition_storage::partition_storage(storage& shared, std::uint32_t partitions,
                                     std::vector<std::uint32_t> owned)
    : shared_(shared), partitions_(partitions), owned_(partitions, false) {
  for (const std::uint32_t p : owned)
    if (p < partitions_) owned_[p] = true;
}

bool partition_storage::owns(const order_id& order) const noexcept {
  return partitions_ > 0 && owned_[partition_of(order.view(), partitions_)];
}

recovery_state partition_storage::recover(timestamp_ms since) {
  recovery_state all = shared_.recover(since);
  recovery_state mine;
  for (order& o : all.active_orders)
    if (owns(o.id)) mine.active_orders.push_back(std::move(o));
  // An event counts as seen here only through a record of an owned order: a
  // position shared by two partitions may have moved another node's order
  // and still be new to this one.
  for (auto& pair : all.recent_event_orders)
    if (owns(pair.second)) mine.recent_event_orders.push_back(std::move(pair));
  finish_recovery(mine);
  return mine;
}

}  // namespace xiaoxiang
