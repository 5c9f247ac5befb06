// write_behind: the bounded queue between the engine and a storage. The
// engine reserves room, changes its state, pushes the records and moves on;
// one background writer thread commits batches (one transaction each) and
// reports what is durable, so a host commits its queue offsets only then.
//
// Threading: reserve/push/release/queued_records/durable_sequence may be
// called from any number of threads at once and take no lock (a CAS on the
// room counter and a fetch_add on the sequence); flush/close block.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/order/order.hpp"
#include "xiaoxiang/order/tracking_record.hpp"
#include "xiaoxiang/storage/storage.hpp"

namespace xiaoxiang {

struct write_behind_options {
  // Room of the queue, in tracking records; a write of n records takes
  // max(n, 1) of it from reserve() until its batch is committed. Memory is
  // about capacity_records x 0.5 KiB (a ring of reusable slots).
  std::size_t capacity_records = 65536;
  // Largest batch (one transaction), in records; a single larger write is
  // committed alone.
  std::size_t max_batch_records = 8192;
  // Longest a write waits in an idle queue for company before the writer
  // commits it (group commit); a full batch or flush() starts at once.
  std::chrono::milliseconds max_delay{5};
};

class write_behind;

// Room reserved in a write_behind for one write: hand it to push() or
// release(); a ticket destroyed unused gives its room back. A ticket must
// not outlive the write_behind it came from.
class write_ticket {
 public:
  write_ticket() noexcept = default;
  write_ticket(write_ticket&& other) noexcept;
  write_ticket& operator=(write_ticket&& other) noexcept;
  write_ticket(const write_ticket&) = delete;
  write_ticket& operator=(const write_ticket&) = delete;
  ~write_ticket();

  // True while the ticket holds room (not yet pushed or released).
  bool valid() const noexcept { return owner_ != nullptr; }
  // The number of records reserved.
  std::size_t records() const noexcept { return records_; }

 private:
  friend class write_behind;
  write_ticket(write_behind* owner, std::size_t records) noexcept
      : owner_(owner), records_(records) {}

  write_behind* owner_ = nullptr;
  std::size_t records_ = 0;
};

class write_behind {
 public:
  // Starts the writer thread. `target` must outlive this object.
  explicit write_behind(storage& target, write_behind_options options = {});
  // Drains what was pushed, stops the writer thread; never throws.
  ~write_behind();
  write_behind(const write_behind&) = delete;
  write_behind& operator=(const write_behind&) = delete;

  // Reserves room for one write of `records` tracking records plus one order
  // upsert, before the caller changes any state. Fails with
  // errc::storage_closed after close(), errc::storage_io after the writer
  // failed, errc::too_large ("records") when the write could never fit, and
  // errc::queue_full ("queue") when the queue has no room now (nothing is
  // enqueued, retry later or reject the event).
  result<write_ticket> reserve(std::size_t records) noexcept;

  // Enqueues the write reserved by `ticket` (records.size() <= what was
  // reserved): copied into a reused slot, no allocation in steady state.
  // Returns the write's sequence number (1, 2, ... in push order).
  // Requires: ticket.valid() and came from this object.
  std::uint64_t push(write_ticket&& ticket, std::span<const tracking_record> records,
                     const order& latest);

  // Gives a reservation back unused (the event was rejected after all).
  void release(write_ticket&& ticket) noexcept;

  // Every write with a sequence number <= this is committed to the storage.
  std::uint64_t durable_sequence() const noexcept;

  // The highest sequence number handed out by push() so far.
  std::uint64_t pushed_sequence() const noexcept;

  // Blocks until every write pushed before the call is committed. Throws
  // xiaoxiang::error (errc::storage_io, with the storage's message) if the
  // writer failed.
  void flush();

  // Adds a callback run on the writer thread after each commit with the new
  // durable sequence, before durable_sequence() and flush() waiters see it.
  // It must be quick and must not call flush()/close(); an exception it
  // throws is caught and counted (callback_errors()).
  void on_durable(std::function<void(std::uint64_t durable_sequence)> callback);

  // Records pushed but not yet committed (the backlog, a metric).
  std::size_t queued_records() const noexcept;

  // Transactions committed so far (a metric: records / commits = batch size).
  std::uint64_t commits() const noexcept;

  // Exceptions thrown by on_durable callbacks (caught on the writer thread).
  std::uint64_t callback_errors() const noexcept;

  // True once the storage threw; the message is in flush()'s exception.
  bool failed() const noexcept;

  // Flushes and stops the writer; reserve() then gives errc::storage_closed.
  // Idempotent. Throws like flush() if the writer failed.
  // Requires: no thread holds an unused ticket it will not push or release.
  void close();

 private:
  struct slot;
  friend class write_ticket;

  void give_back(std::size_t units) noexcept;
  void wake_writer(bool force);
  void run_writer();
  bool slot_ready(std::uint64_t sequence) const noexcept;
  std::size_t gather();
  void coalesce_orders();
  [[noreturn]] void throw_failure() const;

  storage& target_;
  write_behind_options options_;
  std::unique_ptr<slot[]> slots_;
  std::size_t slot_count_ = 0;

  // Producer side: room in use (reserved + queued + in the batch being
  // committed), tickets outstanding, sequence numbers handed out.
  alignas(64) std::atomic<std::size_t> units_in_use_{0};
  alignas(64) std::atomic<std::uint64_t> next_sequence_{0};
  alignas(64) std::atomic<std::size_t> tickets_{0};
  std::atomic<std::size_t> pushed_units_{0};
  std::atomic<std::size_t> queued_records_{0};

  // Writer side.
  alignas(64) std::atomic<std::uint64_t> durable_{0};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> callback_errors_{0};
  std::atomic<bool> closed_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> writer_idle_{false};     // asleep with nothing queued
  std::atomic<bool> writer_waiting_{false};  // asleep, lingering for a full batch
  std::uint64_t consumed_ = 0;               // last sequence taken into a batch
  std::size_t gathered_units_ = 0;           // room taken by the current batch
  write_batch batch_;
  std::vector<std::uint32_t> order_index_;   // open-addressing table for coalescing

  std::atomic<std::size_t> taken_units_{0};  // cumulative room taken into batches

  std::mutex close_mutex_;    // serialises close() callers (one join)
  std::mutex callbacks_mutex_;  // guards callbacks_, held while they run
  mutable std::mutex mutex_;  // guards the fields below and the condition variables
  std::condition_variable writer_cv_;
  std::condition_variable durable_cv_;
  std::uint64_t flush_target_ = 0;
  bool stopping_ = false;
  bool writer_done_ = false;
  std::string failure_;
  std::vector<std::function<void(std::uint64_t)>> callbacks_;  // under callbacks_mutex_
  std::thread writer_;
};

}  // namespace xiaoxiang
