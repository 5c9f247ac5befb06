// memory_storage: the in-process storage — for tests, the simulator, and
// hosts that keep history elsewhere. Thread-safe: reads take a shared lock,
// so they run in parallel with each other and wait only for a commit's
// (short) apply step.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "xiaoxiang/storage/storage.hpp"

namespace xiaoxiang {

class memory_storage final : public storage {
 public:
  memory_storage();
  ~memory_storage() override;
  memory_storage(const memory_storage&) = delete;
  memory_storage& operator=(const memory_storage&) = delete;

  // Applies the batch all or nothing. Throws xiaoxiang::error(errc::storage_io)
  // and changes nothing when a record repeats an (order_id, version) or a
  // record id already stored (the SQLite schema's UNIQUE constraints).
  void commit(const write_batch& batch) override;

  std::optional<order> load_order(const order_id& id) override;
  recovery_state recover(timestamp_ms since) override;
  std::vector<tracking_record> trajectory(const order_id& id) override;
  std::vector<tracking_record> records_since(const order_id& id, std::uint64_t version) override;
  std::vector<order> orders_of_user(const user_id& user) override;

  // True when some stored record came from `event` (duplicate check for
  // events older than recover()'s window).
  bool contains_event(const event_id& event);
  // Number of stored tracking records (all orders).
  std::size_t record_count();
  // Number of stored orders.
  std::size_t order_count();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace xiaoxiang
