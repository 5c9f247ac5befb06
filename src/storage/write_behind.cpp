#include "xiaoxiang/storage/write_behind.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace xiaoxiang {

// One queued write. `ready` holds the sequence number once the producer has
// filled the slot; the writer takes slots strictly in sequence order.
struct write_behind::slot {
  std::atomic<std::uint64_t> ready{0};
  std::vector<tracking_record> records;
  order latest;
  std::size_t units = 0;
};

namespace {

std::size_t units_of(std::size_t records) noexcept { return records == 0 ? 1 : records; }

std::size_t next_power_of_two(std::size_t n) noexcept {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

// Copies `from` into `to`, assigning over existing elements so that their
// strings keep their capacity: no allocation once the slot has been used
// for a write of this size.
void assign_reusing(std::vector<tracking_record>& to, std::span<const tracking_record> from) {
  const std::size_t common = std::min(to.size(), from.size());
  for (std::size_t i = 0; i < common; ++i) to[i] = from[i];
  if (from.size() > common) {
    to.insert(to.end(), from.begin() + static_cast<std::ptrdiff_t>(common), from.end());
  } else {
    to.erase(to.begin() + static_cast<std::ptrdiff_t>(common), to.end());
  }
}

}  // namespace

write_ticket::write_ticket(write_ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), records_(other.records_) {}

write_ticket& write_ticket::operator=(write_ticket&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) owner_->release(std::move(*this));
    owner_ = std::exchange(other.owner_, nullptr);
    records_ = other.records_;
  }
  return *this;
}

write_ticket::~write_ticket() {
  if (owner_ != nullptr) owner_->release(std::move(*this));
}

write_behind::write_behind(storage& target, write_behind_options options)
    : target_(target), options_(options) {
  if (options_.capacity_records == 0) options_.capacity_records = 1;
  if (options_.max_batch_records == 0) options_.max_batch_records = 1;
  // One slot per unit of room: every write holds at least one unit until it
  // is committed, so the slot of sequence s + slot_count is always free by
  // the time s + slot_count is handed out.
  slot_count_ = options_.capacity_records;
  slots_ = std::make_unique<slot[]>(slot_count_);
  order_index_.assign(next_power_of_two(2 * std::min(options_.max_batch_records,
                                                     options_.capacity_records) + 2),
                      0);
  writer_ = std::thread([this] { run_writer(); });
}

write_behind::~write_behind() {
  try {
    close();
  } catch (...) {
    // The failure was reported to flush()/close() callers; a destructor must not throw.
  }
}

result<write_ticket> write_behind::reserve(std::size_t records) noexcept {
  if (closed_.load(std::memory_order_acquire)) return {errc::storage_closed, "queue"};
  if (failed_.load(std::memory_order_acquire)) return {errc::storage_io, "queue"};
  const std::size_t units = units_of(records);
  if (units > options_.capacity_records) return {errc::too_large, "records"};
  // Counted before closed_ is checked again, so that close() either sees the
  // ticket (and waits for its push) or this call sees closed_.
  tickets_.fetch_add(1, std::memory_order_seq_cst);
  if (closed_.load(std::memory_order_seq_cst)) {
    tickets_.fetch_sub(1, std::memory_order_seq_cst);
    return {errc::storage_closed, "queue"};
  }
  std::size_t used = units_in_use_.load(std::memory_order_relaxed);
  do {
    if (used + units > options_.capacity_records) {
      tickets_.fetch_sub(1, std::memory_order_seq_cst);
      return {errc::queue_full, "queue"};
    }
  } while (!units_in_use_.compare_exchange_weak(used, used + units, std::memory_order_acquire,
                                                std::memory_order_relaxed));
  return write_ticket(this, records);
}

std::uint64_t write_behind::push(write_ticket&& ticket, std::span<const tracking_record> records,
                                 const order& latest) {
  assert(ticket.owner_ == this && "push() needs a ticket reserved on this write_behind");
  assert(records.size() <= ticket.records_ && "push() got more records than were reserved");
  const std::size_t units = units_of(ticket.records_);
  ticket.owner_ = nullptr;

  const std::uint64_t sequence = next_sequence_.fetch_add(1, std::memory_order_relaxed) + 1;
  slot& s = slots_[sequence % slot_count_];
  assign_reusing(s.records, records);
  s.latest = latest;
  s.units = units;
  queued_records_.fetch_add(records.size(), std::memory_order_relaxed);
  // seq_cst pairs with the writer's store to writer_idle_ before it re-checks
  // this slot: one of the two sides always sees the other.
  s.ready.store(sequence, std::memory_order_seq_cst);
  const std::size_t pushed = pushed_units_.fetch_add(units, std::memory_order_seq_cst) + units;
  tickets_.fetch_sub(1, std::memory_order_seq_cst);

  if (writer_idle_.load(std::memory_order_seq_cst)) {
    wake_writer(false);
  } else if (writer_waiting_.load(std::memory_order_relaxed) &&
             pushed - taken_units_.load(std::memory_order_relaxed) >= options_.max_batch_records) {
    wake_writer(false);
  }
  return sequence;
}

void write_behind::release(write_ticket&& ticket) noexcept {
  if (ticket.owner_ == nullptr) return;
  assert(ticket.owner_ == this && "release() needs a ticket reserved on this write_behind");
  ticket.owner_ = nullptr;
  give_back(units_of(ticket.records_));
}

void write_behind::give_back(std::size_t units) noexcept {
  units_in_use_.fetch_sub(units, std::memory_order_release);
  tickets_.fetch_sub(1, std::memory_order_seq_cst);
  // close() waits for outstanding tickets: tell the writer this one is gone.
  if (closed_.load(std::memory_order_seq_cst)) wake_writer(true);
}

void write_behind::wake_writer(bool force) {
  const bool was_idle = writer_idle_.exchange(false, std::memory_order_seq_cst);
  const bool was_waiting = writer_waiting_.exchange(false, std::memory_order_seq_cst);
  if (!(was_idle || was_waiting || force)) return;
  // Taking the mutex orders this notify after the writer's predicate check.
  { std::lock_guard lock(mutex_); }
  writer_cv_.notify_one();
}

bool write_behind::slot_ready(std::uint64_t sequence) const noexcept {
  return slots_[sequence % slot_count_].ready.load(std::memory_order_seq_cst) == sequence;
}

std::uint64_t write_behind::durable_sequence() const noexcept {
  return durable_.load(std::memory_order_acquire);
}

std::uint64_t write_behind::pushed_sequence() const noexcept {
  return next_sequence_.load(std::memory_order_acquire);
}

std::size_t write_behind::queued_records() const noexcept {
  return queued_records_.load(std::memory_order_relaxed);
}

std::uint64_t write_behind::commits() const noexcept {
  return commits_.load(std::memory_order_relaxed);
}

std::uint64_t write_behind::callback_errors() const noexcept {
  return callback_errors_.load(std::memory_order_relaxed);
}

bool write_behind::failed() const noexcept { return failed_.load(std::memory_order_acquire); }

void write_behind::on_durable(std::function<void(std::uint64_t)> callback) {
  std::lock_guard lock(callbacks_mutex_);
  callbacks_.push_back(std::move(callback));
}

void write_behind::throw_failure() const {
  std::string message;
  {
    std::lock_guard lock(mutex_);
    message = failure_;
  }
  throw error(errc::storage_io, "write_behind: the writer stopped after a failed commit (" +
                                    message + ")");
}

void write_behind::flush() {
  const std::uint64_t target = next_sequence_.load(std::memory_order_acquire);
  std::unique_lock lock(mutex_);
  if (failed_.load()) {
    lock.unlock();
    throw_failure();
  }
  if (durable_.load(std::memory_order_acquire) >= target) return;
  flush_target_ = std::max(flush_target_, target);
  writer_waiting_.store(false);
  writer_cv_.notify_one();
  durable_cv_.wait(lock, [&] {
    return durable_.load(std::memory_order_acquire) >= target || failed_.load() || writer_done_;
  });
  if (durable_.load(std::memory_order_acquire) < target) {
    lock.unlock();
    throw_failure();
  }
}

void write_behind::close() {
  std::lock_guard close_lock(close_mutex_);
  closed_.store(true, std::memory_order_seq_cst);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  writer_cv_.notify_one();
  if (writer_.joinable()) writer_.join();
  if (failed_.load()) throw_failure();
}

// Gathers the ready writes that follow consumed_ into batch_ (records
// appended, orders coalesced), up to max_batch_records units; returns the
// number of records.
std::size_t write_behind::gather() {
  std::size_t records = 0;
  std::size_t orders = 0;
  std::size_t units = 0;
  std::fill(order_index_.begin(), order_index_.end(), 0u);
  const std::size_t mask = order_index_.size() - 1;
  auto& out_records = batch_.records;
  auto& out_orders = batch_.orders;

  while (slot_ready(consumed_ + 1)) {
    slot& s = slots_[(consumed_ + 1) % slot_count_];
    if (units > 0 && units + s.units > options_.max_batch_records) break;
    // Swap rather than copy: the slot gets back a record whose strings keep
    // their capacity for the next producer.
    for (auto& r : s.records) {
      if (records < out_records.size()) {
        std::swap(out_records[records], r);
      } else {
        out_records.push_back(r);
      }
      ++records;
    }
    // Coalesce: one upsert per order per batch, the highest version wins.
    std::size_t h = static_cast<std::size_t>(s.latest.id.hash()) & mask;
    while (order_index_[h] != 0 && out_orders[order_index_[h] - 1].id != s.latest.id)
      h = (h + 1) & mask;
    if (order_index_[h] == 0) {
      if (orders < out_orders.size()) {
        std::swap(out_orders[orders], s.latest);
      } else {
        out_orders.push_back(s.latest);
      }
      ++orders;
      order_index_[h] = static_cast<std::uint32_t>(orders);
    } else if (s.latest.version >= out_orders[order_index_[h] - 1].version) {
      std::swap(out_orders[order_index_[h] - 1], s.latest);
    }
    units += s.units;
    ++consumed_;
  }
  out_records.resize(records);
  out_orders.resize(orders);
  gathered_units_ = units;
  taken_units_.fetch_add(units, std::memory_order_relaxed);
  return records;
}

void write_behind::run_writer() {
  for (;;) {
    if (!slot_ready(consumed_ + 1)) {
      std::unique_lock lock(mutex_);
      const auto all_done = [&] {
        return stopping_ && tickets_.load(std::memory_order_seq_cst) == 0 &&
               next_sequence_.load(std::memory_order_seq_cst) == consumed_;
      };
      for (;;) {
        writer_idle_.store(true, std::memory_order_seq_cst);
        if (slot_ready(consumed_ + 1) || all_done()) break;
        // The timeout is a safety net only: producers wake an idle writer.
        writer_cv_.wait_for(lock, std::chrono::milliseconds(50));
      }
      writer_idle_.store(false, std::memory_order_seq_cst);
      if (!slot_ready(consumed_ + 1)) break;  // stopping, and everything is committed
      // Group commit: a write that arrives in an idle queue waits up to
      // max_delay for company, unless a batch is full, a flush waits or we stop.
      const auto deadline = std::chrono::steady_clock::now() + options_.max_delay;
      const auto must_go = [&] {
        return stopping_ || flush_target_ > consumed_ ||
               pushed_units_.load(std::memory_order_relaxed) -
                       taken_units_.load(std::memory_order_relaxed) >=
                   options_.max_batch_records;
      };
      while (!must_go()) {
        writer_waiting_.store(true, std::memory_order_seq_cst);
        if (must_go()) break;
        if (writer_cv_.wait_until(lock, deadline) == std::cv_status::timeout) break;
      }
      writer_waiting_.store(false, std::memory_order_seq_cst);
    }

    const std::size_t records = gather();
    try {
      target_.commit(batch_);
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      failure_ = e.what();
      failed_.store(true);
      break;
    } catch (...) {
      std::lock_guard lock(mutex_);
      failure_ = "unknown exception from storage::commit";
      failed_.store(true);
      break;
    }
    queued_records_.fetch_sub(records, std::memory_order_relaxed);
    units_in_use_.fetch_sub(gathered_units_, std::memory_order_release);
    commits_.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t durable = consumed_;
    // Callbacks first: once flush() returns, the host's callbacks have seen
    // everything it waited for.
    {
      std::lock_guard lock(callbacks_mutex_);
      for (auto& callback : callbacks_) {
        try {
          callback(durable);
        } catch (...) {
          callback_errors_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    {
      std::lock_guard lock(mutex_);
      durable_.store(durable, std::memory_order_release);
    }
    durable_cv_.notify_all();
  }
  {
    std::lock_guard lock(mutex_);
    writer_done_ = true;
  }
  durable_cv_.notify_all();
}

}  // namespace xiaoxiang
