// partition_storage: the storage of a tracker node that owns some partitions
// of the cluster while its database is shared with the other nodes
// (PostgreSQL, docs/scaling.md). It forwards every call to the shared
// storage, except that recover() keeps only what this node owns: the active
// orders of its partitions and the event ids of their records. Without it a
// restarted node would take the other nodes' orders (at the versions their
// last batch left) for its own, apply a rider's position to them and write
// versions that exist already, and it would take a position another node
// applied to its orders for a duplicate of the same position sent to this
// node's partition.
#pragma once

#include <cstdint>
#include <vector>

#include "xiaoxiang/storage/storage.hpp"

namespace xiaoxiang {

class partition_storage final : public storage {
 public:
  // `shared` must outlive this. `owned` are partition numbers below
  // `partitions` (the cluster's partition count, as the queue's).
  partition_storage(storage& shared, std::uint32_t partitions, std::vector<std::uint32_t> owned);

  // Whether `order` falls in one of the owned partitions (partition_of).
  bool owns(const order_id& order) const noexcept;

  void commit(const write_batch& batch) override { shared_.commit(batch); }
  std::optional<order> load_order(const order_id& id) override { return shared_.load_order(id); }
  recovery_state recover(timestamp_ms since) override;
  std::vector<tracking_record> trajectory(const order_id& id) override {
    return shared_.trajectory(id);
  }
  std::vector<tracking_record> records_since(const order_id& id, std::uint64_t version) override {
    return shared_.records_since(id, version);
  }
  std::vector<order> orders_of_user(const user_id& user) override {
    return shared_.orders_of_user(user);
  }

 private:
  storage& shared_;
  std::uint32_t partitions_;
  std::vector<bool> owned_;  // by partition number
};

}  // namespace xiaoxiang
