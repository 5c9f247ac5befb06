#include "xiaoxiang/storage/memory_storage.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "xiaoxiang/core/error.hpp"
#include "storage_common.hpp"

namespace xiaoxiang {

struct memory_storage::impl {
  std::shared_mutex mutex;
  std::unordered_map<order_id, order> orders;
  // Each order's records, kept sorted by version.
  std::unordered_map<order_id, std::vector<tracking_record>> records;
  std::unordered_set<id> record_ids;
  std::unordered_map<event_id, std::size_t> events;  // records per source event
  std::unordered_map<user_id, std::set<order_id>> orders_by_user;
  std::size_t record_count = 0;

  bool has_version(const order_id& order, std::uint64_t version) const {
    const auto it = records.find(order);
    if (it == records.end()) return false;
    const auto pos = std::lower_bound(
        it->second.begin(), it->second.end(), version,
        [](const tracking_record& x, std::uint64_t v) { return x.version < v; });
    return pos != it->second.end() && pos->version == version;
  }
};

memory_storage::memory_storage() : impl_(std::make_unique<impl>()) {}
memory_storage::~memory_storage() = default;

void memory_storage::commit(const write_batch& batch) {
  std::unique_lock lock(impl_->mutex);
  impl& s = *impl_;

  // Check everything first so that a rejected batch changes nothing.
  std::set<std::pair<order_id, std::uint64_t>> batch_versions;
  std::unordered_set<id> batch_ids;
  for (const auto& r : batch.records) {
    if (s.has_version(r.order, r.version) || !batch_versions.emplace(r.order, r.version).second)
      throw error(errc::storage_io, "memory_storage: commit: duplicate (order_id, version) (" +
                                        r.order.str() + ", " + std::to_string(r.version) + ")");
    if (s.record_ids.count(r.record_id) != 0 || !batch_ids.insert(r.record_id).second)
      throw error(errc::storage_io,
                  "memory_storage: commit: duplicate record id " + r.record_id.str());
  }

  for (const auto& o : batch.orders) {
    auto [it, inserted] = s.orders.try_emplace(o.id, o);
    if (!inserted) {
      // Upserts never move an order back to an older version.
      if (o.version < it->second.version) continue;
      if (it->second.user != o.user) {
        auto& old_set = s.orders_by_user[it->second.user];
        old_set.erase(o.id);
        if (old_set.empty()) s.orders_by_user.erase(it->second.user);
      }
      it->second = o;
    }
    s.orders_by_user[o.user].insert(o.id);
  }
  for (const auto& r : batch.records) {
    auto& list = s.records[r.order];
    const auto pos = std::upper_bound(
        list.begin(), list.end(), r.version,
        [](std::uint64_t v, const tracking_record& x) { return v < x.version; });
    list.insert(pos, r);
    s.record_ids.insert(r.record_id);
    ++s.events[r.source_event];
    ++s.record_count;
  }
}

std::optional<order> memory_storage::load_order(const order_id& id) {
  std::shared_lock lock(impl_->mutex);
  const auto it = impl_->orders.find(id);
  if (it == impl_->orders.end()) return std::nullopt;
  return it->second;
}

recovery_state memory_storage::recover(timestamp_ms since) {
  std::shared_lock lock(impl_->mutex);
  recovery_state out;
  for (const auto& [order_key, o] : impl_->orders) {
    if (!is_active(o.status)) continue;
    out.active_orders.push_back(o);
  }
  for (const auto& [order_key, list] : impl_->records) {
    const auto it = impl_->orders.find(order_key);
    const bool active = it != impl_->orders.end() && is_active(it->second.status);
    for (const auto& r : list)
      if ((active || r.create_time >= since) && !r.source_event.empty())
        out.recent_event_orders.emplace_back(r.source_event, r.order);
  }
  detail::sort_recovery(out);
  return out;
}

std::vector<tracking_record> memory_storage::trajectory(const order_id& id) {
  std::vector<tracking_record> out;
  {
    std::shared_lock lock(impl_->mutex);
    const auto it = impl_->records.find(id);
    if (it == impl_->records.end()) return out;
    out = it->second;
  }
  detail::sort_trajectory(out);
  return out;
}

std::vector<tracking_record> memory_storage::records_since(const order_id& id,
                                                           std::uint64_t version) {
  std::shared_lock lock(impl_->mutex);
  const auto it = impl_->records.find(id);
  if (it == impl_->records.end()) return {};
  const auto& list = it->second;
  const auto from = std::upper_bound(
      list.begin(), list.end(), version,
      [](std::uint64_t v, const tracking_record& x) { return v < x.version; });
  return {from, list.end()};
}

std::vector<order> memory_storage::orders_of_user(const user_id& user) {
  std::vector<order> out;
  {
    std::shared_lock lock(impl_->mutex);
    const auto it = impl_->orders_by_user.find(user);
    if (it == impl_->orders_by_user.end()) return out;
    for (const auto& order_key : it->second) out.push_back(impl_->orders.at(order_key));
  }
  detail::sort_newest_first(out);
  return out;
}

bool memory_storage::contains_event(const event_id& event) {
  std::shared_lock lock(impl_->mutex);
  return impl_->events.count(event) != 0;
}

std::size_t memory_storage::record_count() {
  std::shared_lock lock(impl_->mutex);
  return impl_->record_count;
}

std::size_t memory_storage::order_count() {
  std::shared_lock lock(impl_->mutex);
  return impl_->orders.size();
}

}  // namespace xiaoxiang
