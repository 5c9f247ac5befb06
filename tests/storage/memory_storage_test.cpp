#include "xiaoxiang/storage/memory_storage.hpp"

#include <gtest/gtest.h>

#include "storage_conformance.hpp"

namespace xiaoxiang::testing {

struct memory_storage_traits {
  static constexpr bool kPersistent = false;
  std::unique_ptr<storage> open() { return std::make_unique<memory_storage>(); }
  std::unique_ptr<storage> reopen() { return open(); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(memory, storage_conformance, memory_storage_traits);

namespace {

TEST(MemoryStorage, CountsAndFindsEvents) {
  memory_storage db;
  write_batch batch;
  batch.orders.push_back(make_order("o-1", "u-1", 2));
  batch.records.push_back(make_record("o-1", 1, 10, "ev-1"));
  batch.records.push_back(make_record("o-1", 2, 20, "ev-2"));
  db.commit(batch);
  EXPECT_EQ(db.record_count(), 2u);
  EXPECT_EQ(db.order_count(), 1u);
  EXPECT_TRUE(db.contains_event(must_id("ev-2")));
  EXPECT_FALSE(db.contains_event(must_id("ev-3")));
}

TEST(MemoryStorage, DuplicateRecordIdIsRefused) {
  memory_storage db;
  auto r = make_record("o-1", 1, 10, "ev-1");
  db.commit({{}, {r}});
  auto other = make_record("o-2", 1, 10, "ev-2");
  other.record_id = r.record_id;  // same primary key, different (order, version)
  try {
    db.commit({{}, {other}});
    FAIL() << "a repeated record id must be refused";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::storage_io);
  }
  EXPECT_EQ(db.record_count(), 1u);
}

}  // namespace
}  // namespace xiaoxiang::testing
