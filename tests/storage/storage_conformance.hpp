// The behaviour every storage implementation must share, as a typed
// parameterised GoogleTest suite. An implementation joins it with a traits
// type and one line in its own test file:
//
//   struct my_traits {
//     static constexpr bool kPersistent = true;    // survives reopen()
//     std::unique_ptr<storage> open();             // a fresh, empty storage
//     std::unique_ptr<storage> reopen();           // the same data, new object
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(my_db, storage_conformance, my_traits);
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>

#include "storage_fixtures.hpp"
#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/storage/storage.hpp"

namespace xiaoxiang::testing {

template <class Traits>
class storage_conformance : public ::testing::Test {
 protected:
  void SetUp() override { db_ = traits_.open(); }
  storage& db() { return *db_; }
  // Closes and reopens a persistent storage (no-op for in-memory ones).
  void reopen() {
    if constexpr (Traits::kPersistent) {
      db_.reset();
      db_ = traits_.reopen();
    }
  }

  Traits traits_;
  std::unique_ptr<storage> db_;
};

TYPED_TEST_SUITE_P(storage_conformance);

TYPED_TEST_P(storage_conformance, EmptyStorageAnswersEmpty) {
  const auto key = must_id("o-1");
  EXPECT_FALSE(this->db().load_order(key).has_value());
  EXPECT_TRUE(this->db().trajectory(key).empty());
  EXPECT_TRUE(this->db().records_since(key, 0).empty());
  EXPECT_TRUE(this->db().orders_of_user(must_id("u-1")).empty());
  const auto state = this->db().recover(0);
  EXPECT_TRUE(state.active_orders.empty());
  EXPECT_TRUE(state.recent_events.empty());
  this->db().commit(write_batch{});  // an empty batch is fine
}

TYPED_TEST_P(storage_conformance, RoundTripsEveryField) {
  write_batch batch;
  batch.orders.push_back(make_order("o-1", "u-1", 4, order_status::delivering));
  for (std::uint64_t v = 1; v <= 4; ++v)
    batch.records.push_back(make_record("o-1", v, 1000 + static_cast<timestamp_ms>(v),
                                        "ev-" + std::to_string(v)));
  batch.records[0].source_event = {};  // a record without an event id
  this->db().commit(batch);
  this->reopen();
  EXPECT_EQ(this->db().load_order(must_id("o-1")), batch.orders[0]);
  EXPECT_EQ(this->db().records_since(must_id("o-1"), 0), batch.records);
  EXPECT_EQ(this->db().trajectory(must_id("o-1")), batch.records);
}

TYPED_TEST_P(storage_conformance, UpsertNeverGoesBackToAnOlderVersion) {
  const auto key = must_id("o-1");
  this->db().commit({{make_order("o-1", "u-1", 3, order_status::paid)}, {}});
  this->db().commit({{make_order("o-1", "u-1", 2, order_status::pending_payment)}, {}});
  EXPECT_EQ(this->db().load_order(key)->version, 3u);
  EXPECT_EQ(this->db().load_order(key)->status, order_status::paid);
  this->db().commit({{make_order("o-1", "u-1", 5, order_status::completed)}, {}});
  EXPECT_EQ(this->db().load_order(key), make_order("o-1", "u-1", 5, order_status::completed));
}

TYPED_TEST_P(storage_conformance, TrajectoryIsInDeviceTimeThenVersionOrder) {
  // An offline batch: versions 4..6 carry fixes older than version 3's.
  write_batch batch;
  const timestamp_ms times[] = {100, 200, 900, 300, 300, 250};
  for (std::uint64_t v = 1; v <= 6; ++v)
    batch.records.push_back(make_record("o-1", v, times[v - 1], "ev-" + std::to_string(v)));
  this->db().commit(batch);
  std::vector<std::uint64_t> versions;
  for (const auto& r : this->db().trajectory(must_id("o-1"))) versions.push_back(r.version);
  EXPECT_EQ(versions, (std::vector<std::uint64_t>{1, 2, 6, 4, 5, 3}));
}

TYPED_TEST_P(storage_conformance, RecordsSinceReturnsLaterVersionsInOrder) {
  write_batch first, second;
  for (std::uint64_t v = 1; v <= 3; ++v) first.records.push_back(make_record("o-1", v, 10, "a"));
  for (std::uint64_t v = 4; v <= 6; ++v) second.records.push_back(make_record("o-1", v, 5, "b"));
  second.records.push_back(make_record("o-2", 1, 5, "b"));
  this->db().commit(second);  // later versions committed first
  this->db().commit(first);
  const auto since = this->db().records_since(must_id("o-1"), 2);
  ASSERT_EQ(since.size(), 4u);
  for (std::size_t i = 0; i < since.size(); ++i) EXPECT_EQ(since[i].version, 3 + i);
  EXPECT_TRUE(this->db().records_since(must_id("o-1"), 6).empty());
  EXPECT_EQ(this->db().records_since(must_id("o-2"), 0).size(), 1u);
}

TYPED_TEST_P(storage_conformance, OrdersOfUserAreNewestFirst) {
  write_batch batch;
  batch.orders.push_back(make_order("o-a", "u-1", 1, order_status::paid, 1000));
  batch.orders.push_back(make_order("o-b", "u-1", 1, order_status::completed, 3000));
  batch.orders.push_back(make_order("o-c", "u-1", 1, order_status::cancelled, 2000));
  batch.orders.push_back(make_order("o-d", "u-1", 1, order_status::paid, 2000));
  batch.orders.push_back(make_order("o-e", "u-2", 1, order_status::paid, 5000));
  this->db().commit(batch);
  std::vector<std::string> ids;
  for (const auto& o : this->db().orders_of_user(must_id("u-1"))) ids.push_back(o.id.str());
  EXPECT_EQ(ids, (std::vector<std::string>{"o-b", "o-d", "o-c", "o-a"}));
  EXPECT_EQ(this->db().orders_of_user(must_id("u-2")).size(), 1u);
}

TYPED_TEST_P(storage_conformance, RecoverGivesActiveOrdersAndRecentEventIds) {
  write_batch batch;
  batch.orders.push_back(make_order("o-active", "u-1", 2, order_status::delivering));
  batch.orders.push_back(make_order("o-done", "u-1", 3, order_status::completed));
  batch.orders.push_back(make_order("o-gone", "u-2", 2, order_status::cancelled));
  batch.records.push_back(make_record("o-active", 1, 10, "ev-a1"));
  batch.records.push_back(make_record("o-active", 2, 20, "ev-shared"));
  batch.records.push_back(make_record("o-done", 1, 10, "ev-old"));
  batch.records.push_back(make_record("o-done", 2, 500, "ev-shared"));  // one event, two orders
  batch.records.push_back(make_record("o-done", 3, 1000, "ev-recent"));
  batch.records.push_back(make_record("o-gone", 1, 999, "ev-before"));
  batch.records.push_back(make_record("o-gone", 2, 1000, ""));  // no event id
  this->db().commit(batch);
  this->reopen();
  const auto state = this->db().recover(1000);
  ASSERT_EQ(state.active_orders.size(), 1u);
  EXPECT_EQ(state.active_orders[0], batch.orders[0]);
  std::vector<std::string> events;
  for (const auto& e : state.recent_events) events.push_back(e.str());
  EXPECT_EQ(events, (std::vector<std::string>{"ev-a1", "ev-recent", "ev-shared"}));
  // The pairs name each record's order (the shared event's record of the
  // completed order is older than `since`).
  std::vector<std::string> pairs;
  for (const auto& [e, o] : state.recent_event_orders) pairs.push_back(e.str() + "@" + o.str());
  EXPECT_EQ(pairs, (std::vector<std::string>{"ev-a1@o-active", "ev-recent@o-done", "ev-shared@o-active"}));
}

TYPED_TEST_P(storage_conformance, DuplicateVersionFailsTheWholeBatch) {
  write_batch first;
  first.orders.push_back(make_order("o-1", "u-1", 1));
  first.records.push_back(make_record("o-1", 1, 10, "ev-1"));
  this->db().commit(first);

  write_batch again;
  again.orders.push_back(make_order("o-1", "u-1", 2));
  again.orders.push_back(make_order("o-2", "u-1", 1));
  again.records.push_back(make_record("o-2", 1, 10, "ev-2"));
  again.records.push_back(make_record("o-1", 1, 11, "ev-1b"));  // (o-1, 1) exists
  try {
    this->db().commit(again);
    FAIL() << "a repeated (order_id, version) must be refused";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
  }
  // All or nothing: the upserts and the good record of the batch are not there.
  EXPECT_EQ(this->db().load_order(must_id("o-1"))->version, 1u);
  EXPECT_FALSE(this->db().load_order(must_id("o-2")).has_value());
  EXPECT_TRUE(this->db().records_since(must_id("o-2"), 0).empty());

  write_batch twice;  // the same (order, version) twice in one batch
  twice.records.push_back(make_record("o-3", 1, 10, "ev-3"));
  twice.records.push_back(make_record("o-3", 1, 10, "ev-3"));
  EXPECT_THROW(this->db().commit(twice), error);
  EXPECT_TRUE(this->db().records_since(must_id("o-3"), 0).empty());
  // The storage still works afterwards.
  this->db().commit({{}, {make_record("o-3", 1, 10, "ev-3")}});
  EXPECT_EQ(this->db().records_since(must_id("o-3"), 0).size(), 1u);
}

TYPED_TEST_P(storage_conformance, ReadsAreSafeWhileCommitsRun) {
  // One writer commits versions 1..N of a few orders, each commit atomic;
  // readers must only ever see complete prefixes 1..k.
  constexpr std::uint64_t kVersions = 150;
  const std::vector<std::string> keys = {"o-1", "o-2", "o-3"};
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<long> reads{0};
  auto reader = [&] {
    while (!done.load()) {
      for (const auto& k : keys) {
        const auto records = this->db().records_since(must_id(k), 0);
        for (std::size_t i = 0; i < records.size(); ++i)
          if (records[i].version != i + 1) ++bad;
        const auto o = this->db().load_order(must_id(k));
        if (o && o->version > kVersions) ++bad;
        ++reads;
      }
      // A gap between reads, so that a reader-preferring lock lets the writer in.
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  };
  std::thread r1(reader), r2(reader);
  while (reads.load() == 0) std::this_thread::yield();  // readers are running
  for (std::uint64_t v = 1; v <= kVersions; ++v) {
    write_batch b;
    for (const auto& k : keys) {
      b.orders.push_back(make_order(k, "u-1", v, order_status::delivering));
      b.records.push_back(make_record(k, v, static_cast<timestamp_ms>(v), "ev"));
    }
    this->db().commit(b);
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  for (const auto& k : keys) EXPECT_EQ(this->db().records_since(must_id(k), 0).size(), kVersions);
}

TYPED_TEST_P(storage_conformance, RandomCommitsAgreeWithOracle) {
  for (const unsigned seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    this->db_ = this->traits_.open();
    std::mt19937_64 rng(seed);
    storage_oracle oracle;
    std::map<std::string, std::uint64_t> next_version;
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    for (int step = 0; step < 90; ++step) {
      write_batch batch;
      const int writes = 1 + pick(12);
      for (int w = 0; w < writes; ++w) {
        const std::string key = "o-" + std::to_string(pick(15));
        const std::string user = "u-" + std::to_string(pick(4));
        auto& v = next_version[key];
        const int records = pick(4);
        for (int i = 0; i < records; ++i)
          batch.records.push_back(make_record(key, ++v, pick(1000), "ev-" + std::to_string(pick(60)),
                                              static_cast<order_status>(1 + pick(5))));
        // Sometimes an older version of the order arrives last.
        const std::uint64_t ov = (pick(5) == 0 && v > 1) ? v - 1 : v;
        batch.orders.push_back(make_order(key, user, ov, static_cast<order_status>(1 + pick(5)),
                                          pick(50)));
      }
      this->db().commit(batch);
      oracle.commit(batch);
      if (pick(20) == 0) this->reopen();
      if (step % 10 == 9) {
        for (int o = 0; o < 15; ++o) {
          const auto key = must_id("o-" + std::to_string(o));
          ASSERT_EQ(this->db().load_order(key), oracle.load_order(key));
          ASSERT_EQ(this->db().trajectory(key), oracle.trajectory(key));
          const std::uint64_t from = static_cast<std::uint64_t>(pick(10));
          ASSERT_EQ(this->db().records_since(key, from), oracle.records_since(key, from));
        }
        for (int u = 0; u < 4; ++u) {
          const auto user = must_id("u-" + std::to_string(u));
          ASSERT_EQ(this->db().orders_of_user(user), oracle.orders_of_user(user));
        }
        const timestamp_ms since = pick(1000);
        const auto got = this->db().recover(since);
        const auto want = oracle.recover(since);
        ASSERT_EQ(got.active_orders, want.active_orders);
        ASSERT_EQ(got.recent_events, want.recent_events);
        ASSERT_EQ(got.recent_event_orders, want.recent_event_orders);
      }
    }
  }
}

TYPED_TEST_P(storage_conformance, PersistsAcrossReopen) {
  if constexpr (!TypeParam::kPersistent) GTEST_SKIP() << "in-memory storage does not persist";
  write_batch batch;
  batch.orders.push_back(make_order("o-1", "u-1", 1, order_status::pending_payment));
  batch.records.push_back(make_record("o-1", 1, 10, "ev-1"));
  this->db().commit(batch);
  this->reopen();
  EXPECT_EQ(this->db().load_order(must_id("o-1")), batch.orders[0]);
  EXPECT_EQ(this->db().records_since(must_id("o-1"), 0), batch.records);
}

REGISTER_TYPED_TEST_SUITE_P(storage_conformance, EmptyStorageAnswersEmpty, RoundTripsEveryField,
                            UpsertNeverGoesBackToAnOlderVersion,
                            TrajectoryIsInDeviceTimeThenVersionOrder,
                            RecordsSinceReturnsLaterVersionsInOrder, OrdersOfUserAreNewestFirst,
                            RecoverGivesActiveOrdersAndRecentEventIds,
                            DuplicateVersionFailsTheWholeBatch, ReadsAreSafeWhileCommitsRun,
                            RandomCommitsAgreeWithOracle, PersistsAcrossReopen);

}  // namespace xiaoxiang::testing
