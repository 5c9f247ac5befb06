#include "xiaoxiang/storage/write_behind.hpp"

#include "forwarding_storage.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <random>
#include <stdexcept>
#include <thread>

#include "storage_fixtures.hpp"
#include "temp_dir.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"

// Counts allocations made by the current thread while counting is on, to
// check that push() does not allocate in steady state. The replacement pairs
// malloc with free correctly; GCC cannot see that through inlining.
#if defined(__SANITIZE_ADDRESS__)
#define XIAOXIANG_COUNT_ALLOCATIONS 0  // ASan owns operator new; it counts nothing here
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XIAOXIANG_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef XIAOXIANG_COUNT_ALLOCATIONS
#define XIAOXIANG_COUNT_ALLOCATIONS 1
#endif

namespace {
thread_local bool g_counting = false;
thread_local long g_allocations = 0;
}  // namespace

#if XIAOXIANG_COUNT_ALLOCATIONS
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace xiaoxiang::testing {
namespace {

using namespace std::chrono_literals;

// A storage double: keeps every batch it commits, can hold commits until
// released, and can be told to throw.
class scripted_storage final : public forwarding_storage {
 public:
  void commit(const write_batch& batch) override {
    std::unique_lock lock(mutex_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !blocked_; });
    if (throw_storage_error_) throw error(errc::storage_io, "disk full");
    if (throw_other_) throw std::runtime_error("driver exploded");
    batches_.push_back(batch);
    inner_.commit(batch);
  }

  void block() {
    std::lock_guard lock(mutex_);
    blocked_ = true;
  }
  void unblock() {
    std::lock_guard lock(mutex_);
    blocked_ = false;
    cv_.notify_all();
  }
  // Waits until `n` commits have started (the writer holds a batch).
  void wait_entered(int n) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  void fail_with_storage_error() { throw_storage_error_ = true; }
  void fail_with_other_exception() { throw_other_ = true; }
  std::vector<write_batch> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  memory_storage& inner() { return inner_; }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool blocked_ = false;
  int entered_ = 0;
  std::atomic<bool> throw_storage_error_{false};
  std::atomic<bool> throw_other_{false};
  std::vector<write_batch> batches_;
};

// Reserves and pushes one write of `n` records of `key` with versions
// after `version` (updated); the order carries the last version.
std::uint64_t push_write(write_behind& wb, const std::string& key, std::uint64_t& version,
                         std::size_t n = 1) {
  auto ticket = wb.reserve(n);
  while (!ticket.ok() && ticket.error() == errc::queue_full) {
    std::this_thread::yield();  // back-pressure: the writer frees room as it commits
    ticket = wb.reserve(n);
  }
  if (!ticket.ok()) throw std::logic_error("reserve: " + ticket.message());
  std::vector<tracking_record> records;
  for (std::size_t i = 0; i < n; ++i) {
    ++version;
    records.push_back(make_record(key, version, static_cast<timestamp_ms>(version), "ev-" + key));
  }
  return wb.push(std::move(*ticket), records, make_order(key, "u-1", version));
}

TEST(WriteBehind, SequencesStartAtOneAndFlushMakesEverythingDurable) {
  memory_storage db;
  write_behind wb(db, {.capacity_records = 64, .max_batch_records = 16});
  std::map<std::string, std::uint64_t> versions;
  for (std::uint64_t i = 1; i <= 100; ++i) {
    const std::string key = "o-" + std::to_string(i % 7);
    EXPECT_EQ(push_write(wb, key, versions[key], 2), i);
  }
  EXPECT_EQ(wb.pushed_sequence(), 100u);
  wb.flush();
  EXPECT_EQ(wb.durable_sequence(), 100u);
  EXPECT_EQ(wb.queued_records(), 0u);
  EXPECT_EQ(db.record_count(), 200u);
  for (const auto& [key, v] : versions) {
    EXPECT_EQ(db.load_order(must_id(key))->version, v);
    EXPECT_EQ(db.records_since(must_id(key), 0).size(), v);
  }
  EXPECT_GE(wb.commits(), 200u / 16);
}

TEST(WriteBehind, OnDurableReportsIncreasingSequencesUpToTheLastPush) {
  memory_storage db;
  write_behind wb(db, {.capacity_records = 32, .max_batch_records = 8});
  std::mutex m;
  std::vector<std::uint64_t> seen;
  wb.on_durable([&](std::uint64_t d) {
    std::lock_guard lock(m);
    seen.push_back(d);
  });
  wb.on_durable([](std::uint64_t) { throw std::runtime_error("a host's bug"); });
  std::uint64_t v = 0;
  for (int i = 0; i < 50; ++i) push_write(wb, "o-1", v);
  wb.flush();
  std::lock_guard lock(m);
  ASSERT_FALSE(seen.empty());
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]);
  EXPECT_EQ(seen.back(), 50u);
  EXPECT_EQ(wb.callback_errors(), seen.size());
}

TEST(WriteBehind, DurableSequenceWaitsForTheCommit) {
  scripted_storage db;
  db.block();
  write_behind wb(db, {.capacity_records = 16, .max_batch_records = 4, .max_delay = 0ms});
  std::uint64_t v = 0;
  push_write(wb, "o-1", v);
  db.wait_entered(1);
  push_write(wb, "o-1", v);
  EXPECT_EQ(wb.durable_sequence(), 0u);
  EXPECT_EQ(wb.queued_records(), 2u);
  db.unblock();
  wb.flush();
  EXPECT_EQ(wb.durable_sequence(), 2u);
  EXPECT_EQ(db.inner().record_count(), 2u);
}

TEST(WriteBehind, QueueFullIsBackPressureAndNothingIsLost) {
  scripted_storage db;
  db.block();
  write_behind wb(db, {.capacity_records = 10, .max_batch_records = 4, .max_delay = 0ms});
  std::uint64_t v = 0;
  push_write(wb, "o-1", v);  // taken by the writer, which now waits in commit()
  db.wait_entered(1);
  for (int i = 0; i < 9; ++i) push_write(wb, "o-1", v);

  auto full = wb.reserve(1);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error(), errc::queue_full);
  EXPECT_STREQ(full.field(), "queue");
  auto huge = wb.reserve(11);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error(), errc::too_large);
  EXPECT_STREQ(huge.field(), "records");
  EXPECT_EQ(wb.queued_records(), 10u);

  db.unblock();
  wb.flush();
  EXPECT_EQ(wb.durable_sequence(), 10u);
  EXPECT_EQ(db.inner().record_count(), 10u);
  EXPECT_EQ(db.inner().load_order(must_id("o-1"))->version, 10u);
  for (const auto& batch : db.batches()) EXPECT_LE(batch.records.size(), 4u);
  EXPECT_TRUE(wb.reserve(10).ok());
}

TEST(WriteBehind, ReleaseAndUnusedTicketsGiveTheRoomBack) {
  memory_storage db;
  write_behind wb(db, {.capacity_records = 3});
  auto a = wb.reserve(1);
  auto b = wb.reserve(2);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(a->valid());
  EXPECT_EQ(b->records(), 2u);
  EXPECT_EQ(wb.reserve(1).error(), errc::queue_full);
  wb.release(std::move(*b));
  EXPECT_FALSE(b->valid());
  {
    auto c = wb.reserve(2);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(wb.reserve(1).error(), errc::queue_full);
  }  // c destroyed unused
  auto zero = wb.reserve(0);  // an order upsert alone takes one unit
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(wb.reserve(2).error(), errc::queue_full);
  wb.push(std::move(*zero), {}, make_order("o-1", "u-1", 1));
  wb.release(std::move(*a));
  wb.flush();
  EXPECT_EQ(db.load_order(must_id("o-1"))->version, 1u);
  EXPECT_EQ(db.record_count(), 0u);
  EXPECT_TRUE(wb.reserve(3).ok());
}

TEST(WriteBehind, CloseFlushesAndRefusesFurtherWrites) {
  memory_storage db;
  write_behind wb(db, {.capacity_records = 64, .max_delay = 1h});
  std::uint64_t v = 0;
  for (int i = 0; i < 20; ++i) push_write(wb, "o-1", v);
  wb.close();
  EXPECT_EQ(db.record_count(), 20u);
  EXPECT_EQ(wb.durable_sequence(), 20u);
  auto r = wb.reserve(1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::storage_closed);
  wb.close();  // idempotent
  wb.flush();  // nothing left to wait for
}

TEST(WriteBehind, CloseWaitsForATicketInFlight) {
  memory_storage db;
  auto wb = std::make_unique<write_behind>(db, write_behind_options{.capacity_records = 8});
  auto ticket = wb->reserve(1);
  ASSERT_TRUE(ticket.ok());
  std::thread closer([&] { wb->close(); });
  std::this_thread::sleep_for(20ms);  // let close() start; it must wait for the push
  wb->push(std::move(*ticket), std::vector<tracking_record>{make_record("o-1", 1, 1, "ev")},
           make_order("o-1", "u-1", 1));
  closer.join();
  EXPECT_EQ(db.record_count(), 1u);
}

TEST(WriteBehind, FlushStartsACommitWithoutWaitingForMaxDelay) {
  memory_storage db;
  write_behind wb(db, {.capacity_records = 64, .max_batch_records = 4, .max_delay = 1h});
  std::uint64_t v = 0;
  push_write(wb, "o-1", v);
  wb.flush();  // would hang for an hour if flush did not cut the linger short
  EXPECT_EQ(db.record_count(), 1u);
  // A full batch goes without flush().
  for (int i = 0; i < 4; ++i) push_write(wb, "o-1", v);
  for (int i = 0; i < 3000 && wb.durable_sequence() < 5; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(wb.durable_sequence(), 5u);
}

TEST(WriteBehind, StorageErrorStopsTheWriterWithStorageIo) {
  for (const bool other_exception : {false, true}) {
    scripted_storage db;
    if (other_exception) {
      db.fail_with_other_exception();
    } else {
      db.fail_with_storage_error();
    }
    write_behind wb(db, {.capacity_records = 16, .max_delay = 0ms});
    std::uint64_t v = 0;
    push_write(wb, "o-1", v);
    try {
      wb.flush();
      FAIL() << "flush must report the failed commit";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::storage_io);
      EXPECT_NE(std::string(e.what()).find(other_exception ? "driver exploded" : "disk full"),
                std::string::npos)
          << e.what();
    }
    EXPECT_TRUE(wb.failed());
    EXPECT_EQ(wb.durable_sequence(), 0u);
    auto r = wb.reserve(1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), errc::storage_io);
    EXPECT_THROW(wb.close(), error);
    EXPECT_EQ(wb.reserve(1).error(), errc::storage_closed);
  }  // the destructor does not throw
}

TEST(WriteBehind, CoalescesUpsertsOfAnOrderWithinABatch) {
  scripted_storage db;
  db.block();
  write_behind wb(db, {.capacity_records = 64, .max_batch_records = 64, .max_delay = 0ms});
  std::uint64_t x = 0, a = 0, b = 0;
  push_write(wb, "o-x", x);
  db.wait_entered(1);
  for (int i = 0; i < 5; ++i) push_write(wb, "o-a", a);
  for (int i = 0; i < 3; ++i) push_write(wb, "o-b", b, 2);
  db.unblock();
  wb.flush();
  const auto batches = db.batches();
  ASSERT_EQ(batches.size(), 2u);
  ASSERT_EQ(batches[1].orders.size(), 2u);
  EXPECT_EQ(batches[1].orders[0], make_order("o-a", "u-1", 5));
  EXPECT_EQ(batches[1].orders[1], make_order("o-b", "u-1", 6));
  EXPECT_EQ(batches[1].records.size(), 11u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(batches[1].records[i].version, i + 1);
}

TEST(WriteBehind, MaxBatchRecordsBoundsATransaction) {
  scripted_storage db;
  db.block();
  write_behind wb(db, {.capacity_records = 256, .max_batch_records = 16, .max_delay = 0ms});
  std::uint64_t v = 0;
  push_write(wb, "o-1", v);
  db.wait_entered(1);
  for (int i = 0; i < 50; ++i) push_write(wb, "o-1", v);
  push_write(wb, "o-2", v, 40);  // larger than a batch: committed alone
  for (int i = 0; i < 10; ++i) push_write(wb, "o-1", v);
  db.unblock();
  wb.flush();
  std::size_t total = 0;
  bool saw_big = false;
  for (const auto& batch : db.batches()) {
    total += batch.records.size();
    if (batch.records.size() == 40) {
      saw_big = true;
    } else {
      EXPECT_LE(batch.records.size(), 16u);
    }
  }
  EXPECT_TRUE(saw_big);
  EXPECT_EQ(total, 101u);
}

TEST(WriteBehind, ManyProducersLoseNothing) {
  memory_storage db;
  write_behind wb(db, {.capacity_records = 128, .max_batch_records = 32});
  constexpr int kThreads = 4;
  constexpr int kWrites = 1500;
  std::atomic<long> full{0};
  auto producer = [&](int t) {
    const std::string key = "o-" + std::to_string(t);
    std::uint64_t v = 0;
    std::uint64_t last_sequence = 0;
    for (int i = 0; i < kWrites; ++i) {
      const std::size_t n = 1 + static_cast<std::size_t>(i % 3);
      auto ticket = wb.reserve(n);
      while (!ticket.ok()) {
        EXPECT_EQ(ticket.error(), errc::queue_full);
        ++full;
        std::this_thread::yield();
        ticket = wb.reserve(n);
      }
      std::vector<tracking_record> records;
      for (std::size_t k = 0; k < n; ++k) records.push_back(make_record(key, ++v, 1, "ev"));
      const auto sequence = wb.push(std::move(*ticket), records, make_order(key, "u-1", v));
      EXPECT_GT(sequence, last_sequence);
      last_sequence = sequence;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(producer, t);
  for (auto& t : threads) t.join();
  wb.flush();
  EXPECT_EQ(wb.durable_sequence(), static_cast<std::uint64_t>(kThreads * kWrites));
  for (int t = 0; t < kThreads; ++t) {
    const auto key = must_id("o-" + std::to_string(t));
    const auto records = db.records_since(key, 0);
    ASSERT_EQ(records.size(), 3000u);  // 1500 writes of 1, 2, 3 records
    for (std::size_t i = 0; i < records.size(); ++i) ASSERT_EQ(records[i].version, i + 1);
    EXPECT_EQ(db.load_order(key)->version, 3000u);
  }
}

TEST(WriteBehind, RandomOperationsAgreeWithOracle) {
  for (const unsigned seed : {11u, 12u, 13u, 14u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    scripted_storage db;
    write_behind wb(db, {.capacity_records = static_cast<std::size_t>(8 + pick(24)),
                         .max_batch_records = static_cast<std::size_t>(1 + pick(8)),
                         .max_delay = std::chrono::milliseconds(pick(2))});
    storage_oracle oracle;
    std::map<std::string, std::uint64_t> versions;
    std::vector<write_ticket> held;
    std::uint64_t pushed = 0;
    bool blocked = false;
    for (int step = 0; step < 1500; ++step) {
      const int op = pick(100);
      if (op < 45) {
        const std::size_t n = static_cast<std::size_t>(pick(4));
        auto ticket = wb.reserve(n);
        if (!ticket.ok()) {
          ASSERT_EQ(ticket.error(), errc::queue_full);
          continue;
        }
        held.push_back(std::move(*ticket));
      } else if (op < 80 && !held.empty()) {
        const std::size_t i = static_cast<std::size_t>(pick(static_cast<int>(held.size())));
        write_ticket ticket = std::move(held[i]);
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
        const std::string key = "o-" + std::to_string(pick(5));
        auto& v = versions[key];
        write_batch expected;
        const std::size_t n = ticket.records() == 0 ? 0 : 1 + pick(static_cast<int>(ticket.records()));
        for (std::size_t k = 0; k < n; ++k)
          expected.records.push_back(make_record(key, ++v, pick(100), "ev-" + std::to_string(step)));
        expected.orders.push_back(make_order(key, "u-1", v));
        ASSERT_EQ(wb.push(std::move(ticket), expected.records, expected.orders[0]), ++pushed);
        oracle.commit(expected);
      } else if (op < 87 && !held.empty()) {
        wb.release(std::move(held.back()));
        held.pop_back();
      } else if (op < 92) {
        blocked ? db.unblock() : db.block();
        blocked = !blocked;
      } else if (op < 95 && !blocked) {
        wb.flush();
        ASSERT_EQ(wb.durable_sequence(), pushed);
        ASSERT_EQ(db.inner().record_count(), oracle.record_count());
      } else {
        ASSERT_LE(wb.durable_sequence(), pushed);
      }
    }
    held.clear();
    db.unblock();
    wb.flush();
    ASSERT_EQ(wb.durable_sequence(), pushed);
    ASSERT_EQ(wb.queued_records(), 0u);
    for (int o = 0; o < 5; ++o) {
      const auto key = must_id("o-" + std::to_string(o));
      ASSERT_EQ(db.inner().load_order(key), oracle.load_order(key));
      ASSERT_EQ(db.inner().records_since(key, 0), oracle.records_since(key, 0));
    }
  }
}

TEST(WriteBehind, PushDoesNotAllocateInSteadyState) {
  if (!XIAOXIANG_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under ASan";
  memory_storage db;
  write_behind wb(db, {.capacity_records = 32, .max_batch_records = 8, .max_delay = 0ms});
  std::vector<tracking_record> records = {make_record("o-1", 1, 1, "ev"),
                                          make_record("o-1", 2, 1, "ev")};
  records[0].address = std::string(100, 'a');  // beyond the small-string buffer
  records[1].address = std::string(100, 'b');
  order latest = make_order("o-1", "u-1", 2);
  latest.address = std::string(200, 'c');
  auto round = [&](std::uint64_t first_version) {
    for (int i = 0; i < 64; ++i) {
      records[0].version = first_version + 2 * static_cast<std::uint64_t>(i) + 1;
      records[1].version = records[0].version + 1;
      records[0].record_id = make_record_id(records[0].order, records[0].version);
      records[1].record_id = make_record_id(records[1].order, records[1].version);
      latest.version = records[1].version;
      g_counting = true;
      auto ticket = wb.reserve(2);
      ASSERT_TRUE(ticket.ok());
      wb.push(std::move(*ticket), records, latest);
      g_counting = false;
      wb.flush();  // keeps the queue from filling; not counted
    }
  };
  round(0);  // warm-up: every slot gets its capacity
  g_allocations = 0;
  round(128);
  EXPECT_EQ(g_allocations, 0);
}

TEST(WriteBehind, RecoveryFromSqliteContinuesVersionsAndKnowsTheEvents) {
  temp_dir dir;
  const auto path = dir.file("recover.sqlite");
  {
    sqlite_storage db(path);
    write_behind wb(db, {.capacity_records = 64});
    std::uint64_t a = 0, b = 0;
    push_write(wb, "o-active", a, 3);
    push_write(wb, "o-done", b, 2);
    auto ticket = wb.reserve(1);
    ASSERT_TRUE(ticket.ok());
    auto done = make_record("o-done", ++b, 5000, "ev-delivered", order_status::completed);
    wb.push(std::move(*ticket), std::vector<tracking_record>{done},
            make_order("o-done", "u-1", b, order_status::completed));
  }  // the destructor drains
  sqlite_storage reopened(path);
  const auto state = reopened.recover(4000);
  ASSERT_EQ(state.active_orders.size(), 1u);
  EXPECT_EQ(state.active_orders[0].id, must_id("o-active"));
  EXPECT_EQ(state.active_orders[0].version, 3u);  // the next change is version 4
  std::vector<std::string> events;
  for (const auto& e : state.recent_events) events.push_back(e.str());
  EXPECT_EQ(events, (std::vector<std::string>{"ev-delivered", "ev-o-active"}));
  EXPECT_EQ(reopened.records_since(must_id("o-active"), 0).size(), 3u);
}

}  // namespace
}  // namespace xiaoxiang::testing
