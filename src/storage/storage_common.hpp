// Orderings every storage implementation returns, in one place so that all
// of them (memory, SQLite, and later PostgreSQL) agree exactly.
#pragma once

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "xiaoxiang/storage/storage.hpp"

namespace xiaoxiang::detail {

// Device-time order, then version: late offline fixes land in their place.
inline void sort_trajectory(std::vector<tracking_record>& records) {
  std::stable_sort(records.begin(), records.end(),
                   [](const tracking_record& a, const tracking_record& b) {
                     if (a.create_time != b.create_time) return a.create_time < b.create_time;
                     return a.version < b.version;
                   });
}

// Newest first: create_time descending, then id descending (a stable tie-break).
inline void sort_newest_first(std::vector<order>& orders) {
  std::sort(orders.begin(), orders.end(), [](const order& a, const order& b) {
    if (a.create_time != b.create_time) return a.create_time > b.create_time;
    return a.id > b.id;
  });
}

// Active orders by id, event ids sorted and distinct (finish_recovery).
inline void sort_recovery(recovery_state& state) {
  std::sort(state.active_orders.begin(), state.active_orders.end(),
            [](const order& a, const order& b) { return a.id < b.id; });
  finish_recovery(state);
}

}  // namespace xiaoxiang::detail
