// Builders of orders and tracking records for the storage tests, and a
// simple oracle of what a storage should hold after a sequence of commits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "xiaoxiang/order/order.hpp"
#include "xiaoxiang/order/tracking_record.hpp"
#include "xiaoxiang/storage/storage.hpp"

namespace xiaoxiang::testing {

inline id must_id(const std::string& text) { return *id::make(text); }

// An order with every field set to something that would show a round-trip bug.
inline order make_order(const std::string& order_key, const std::string& user_key,
                        std::uint64_t version, order_status status = order_status::paid,
                        timestamp_ms create_time = 1'764'000'000'000) {
  order o;
  o.id = must_id(order_key);
  o.user = must_id(user_key);
  o.warehouse = must_id("wh-3");
  o.status = status;
  o.total_amount = 2350;  // 23.50
  o.create_time = create_time;
  o.update_time = create_time + static_cast<timestamp_ms>(version) * 1000;
  o.version = version;
  if (status == order_status::delivering || status == order_status::completed)
    o.rider = must_id("rider-7");
  o.origin = {116.397128, 39.916527};
  o.destination = {116.41, 39.92};
  o.address = "北京市东城区 1号楼 2单元";
  o.promised_time = create_time + 30 * 60 * 1000;
  o.stage = status == order_status::paid ? picking_stage::packed : picking_stage::none;
  return o;
}

// A record of `order_key` producing `version`; kind and payload vary with the version.
inline tracking_record make_record(const std::string& order_key, std::uint64_t version,
                                   timestamp_ms create_time, const std::string& event_key,
                                   order_status status = order_status::delivering) {
  tracking_record r;
  r.order = must_id(order_key);
  r.version = version;
  r.record_id = make_record_id(r.order, version);
  r.status = status;
  r.create_time = create_time;
  if (!event_key.empty()) r.source_event = must_id(event_key);
  switch (version % 4) {
    case 0:
      r.kind = record_kind::position;
      r.has_position = true;
      r.position = {116.3 + static_cast<double>(version) * 1e-6, 39.9 + 1.0 / 3.0};
      r.operator_id = must_id("rider-7");
      r.op_type = operator_type::rider;
      break;
    case 1:
      r.kind = record_kind::status_change;
      r.address = "";
      break;
    case 2:
      r.kind = record_kind::picking;
      r.stage = picking_stage::picked;
      r.operator_id = must_id("wh-3");
      r.op_type = operator_type::warehouse;
      r.address = "拣货区 A-12";
      break;
    default:
      r.kind = record_kind::rider_assigned;
      r.operator_id = must_id("rider-7");
      r.op_type = operator_type::rider;
      r.has_position = true;
      r.position = {-0.1275, 51.507222};
      break;
  }
  return r;
}

// What a correct storage holds: orders (newest version wins) and records.
class storage_oracle {
 public:
  void commit(const write_batch& batch) {
    for (const auto& o : batch.orders) {
      auto it = orders_.find(o.id);
      if (it == orders_.end() || o.version >= it->second.version) orders_[o.id] = o;
    }
    for (const auto& r : batch.records) records_[r.order][r.version] = r;
  }

  std::optional<order> load_order(const order_id& key) const {
    const auto it = orders_.find(key);
    if (it == orders_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<tracking_record> records_since(const order_id& key, std::uint64_t version) const {
    std::vector<tracking_record> out;
    const auto it = records_.find(key);
    if (it == records_.end()) return out;
    for (auto v = it->second.upper_bound(version); v != it->second.end(); ++v)
      out.push_back(v->second);
    return out;
  }

  std::vector<tracking_record> trajectory(const order_id& key) const {
    auto out = records_since(key, 0);
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.create_time != b.create_time ? a.create_time < b.create_time
                                            : a.version < b.version;
    });
    return out;
  }

  std::vector<order> orders_of_user(const user_id& user) const {
    std::vector<order> out;
    for (const auto& [key, o] : orders_)
      if (o.user == user) out.push_back(o);
    std::sort(out.begin(), out.end(), [](const order& a, const order& b) {
      return a.create_time != b.create_time ? a.create_time > b.create_time : a.id > b.id;
    });
    return out;
  }

  recovery_state recover(timestamp_ms since) const {
    recovery_state out;
    std::set<event_id> events;
    std::set<std::pair<event_id, order_id>> pairs;
    for (const auto& [key, o] : orders_)
      if (is_active(o.status)) out.active_orders.push_back(o);
    for (const auto& [key, by_version] : records_) {
      const auto o = load_order(key);
      const bool active = o && is_active(o->status);
      for (const auto& [v, r] : by_version)
        if ((active || r.create_time >= since) && !r.source_event.empty()) {
          events.insert(r.source_event);
          pairs.emplace(r.source_event, r.order);
        }
    }
    out.recent_events.assign(events.begin(), events.end());
    out.recent_event_orders.assign(pairs.begin(), pairs.end());
    return out;
  }

  bool has_version(const order_id& key, std::uint64_t version) const {
    const auto it = records_.find(key);
    return it != records_.end() && it->second.count(version) != 0;
  }

  const std::map<order_id, order>& orders() const { return orders_; }
  std::size_t record_count() const {
    std::size_t n = 0;
    for (const auto& [key, by_version] : records_) n += by_version.size();
    return n;
  }

 private:
  std::map<order_id, order> orders_;
  std::map<order_id, std::map<std::uint64_t, tracking_record>> records_;
};

}  // namespace xiaoxiang::testing
