// Base of storage test doubles: reads go to an in-memory storage; a derived
// double decides what commit() does (hold, fail, record) and then forwards
// to inner_.
#pragma once

#include "xiaoxiang/storage/memory_storage.hpp"

namespace xiaoxiang::testing {

class forwarding_storage : public storage {
 public:
  std::optional<order> load_order(const order_id& id) override { return inner_.load_order(id); }
  recovery_state recover(timestamp_ms since) override { return inner_.recover(since); }
  std::vector<tracking_record> trajectory(const order_id& id) override {
    return inner_.trajectory(id);
  }
  std::vector<tracking_record> records_since(const order_id& id, std::uint64_t v) override {
    return inner_.records_since(id, v);
  }
  std::vector<order> orders_of_user(const user_id& user) override {
    return inner_.orders_of_user(user);
  }

 protected:
  memory_storage inner_;
};

}  // namespace xiaoxiang::testing
