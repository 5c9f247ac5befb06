// A publisher for tests: records every pushed change (thread-safe) and
// checks, as it goes, that each order's versions arrive contiguous.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "xiaoxiang/transport/publisher.hpp"

namespace xiaoxiang::testing {

class recording_publisher final : public publisher {
 public:
  struct change {
    tracking_state state;
    std::uint32_t changed = 0;
  };

  void publish(const tracking_state& state, std::uint32_t changed) override {
    std::lock_guard lock(mu_);
    auto& list = by_order_[state.order.str()];
    const std::uint64_t expected = list.empty() ? first_version(state) : list.back().state.version + 1;
    if (state.version != expected) {
      gaps_.push_back(state.order.str() + ": got v" + std::to_string(state.version) +
                      " after v" + std::to_string(expected - 1));
    }
    list.push_back({state, changed});
    ++count_;
  }

  void publish_rider(const rider_id& rider, const position_fix& fix) override {
    std::lock_guard lock(mu_);
    riders_[rider.str()] = fix;
  }

  std::vector<change> changes(const std::string& order) const {
    std::lock_guard lock(mu_);
    const auto it = by_order_.find(order);
    return it == by_order_.end() ? std::vector<change>{} : it->second;
  }
  std::vector<std::string> gaps() const {
    std::lock_guard lock(mu_);
    return gaps_;
  }
  std::size_t count() const {
    std::lock_guard lock(mu_);
    return count_;
  }
  std::map<std::string, position_fix> riders() const {
    std::lock_guard lock(mu_);
    return riders_;
  }
  // After a restart a publisher may start mid-stream: accept any first version.
  void expect_resume() {
    std::lock_guard lock(mu_);
    resume_ = true;
  }

 private:
  std::uint64_t first_version(const tracking_state& s) const { return resume_ ? s.version : 1; }

  mutable std::mutex mu_;
  std::map<std::string, std::vector<change>> by_order_;
  std::map<std::string, position_fix> riders_;
  std::vector<std::string> gaps_;
  std::size_t count_ = 0;
  bool resume_ = false;
};

}  // namespace xiaoxiang::testing
