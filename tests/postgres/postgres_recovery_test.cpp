// PostgreSQL under the engine: the write-behind writer's batches against
// memory_storage as the oracle (seeded, with restarts), and the tracker's
// recovery — versions continue and redelivered events stay duplicates after
// a restart, as with SQLite.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "event_builder.hpp"
#include "pg_test_server.hpp"
#include "storage_fixtures.hpp"
#include "xiaoxiang/postgres/postgres_storage.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/storage/write_behind.hpp"
#include "xiaoxiang/track/tracker.hpp"

namespace xiaoxiang::testing {
namespace {

// Every read of `got` equals the same read of `want`, for the given keys.
void expect_same_reads(storage& got, storage& want, int orders, int users, timestamp_ms since) {
  for (int o = 0; o < orders; ++o) {
    const auto key = must_id("o-" + std::to_string(o));
    ASSERT_EQ(got.load_order(key), want.load_order(key)) << key.str();
    ASSERT_EQ(got.trajectory(key), want.trajectory(key)) << key.str();
    ASSERT_EQ(got.records_since(key, 3), want.records_since(key, 3)) << key.str();
  }
  for (int u = 0; u < users; ++u) {
    const auto user = must_id("u-" + std::to_string(u));
    ASSERT_EQ(got.orders_of_user(user), want.orders_of_user(user)) << user.str();
  }
  const auto a = got.recover(since);
  const auto b = want.recover(since);
  ASSERT_EQ(a.active_orders, b.active_orders);
  ASSERT_EQ(a.recent_events, b.recent_events);
}

TEST(PostgresWriteBehind, SeededWritesAgreeWithMemoryStorageAcrossRestarts) {
  constexpr int kOrders = 25, kUsers = 5;
  for (const unsigned seed : {7u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    schema_guard s{fresh_schema()};
    const postgres_options options{.schema = s.name, .partitions = 4};
    std::mt19937_64 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    memory_storage oracle;
    auto db = std::make_unique<postgres_storage>(pg_test_server::conninfo(), options);
    auto wb = std::make_unique<write_behind>(
        *db, write_behind_options{.max_batch_records = 64, .max_delay = std::chrono::milliseconds(1)});
    std::map<std::string, std::uint64_t> version;
    std::map<std::string, std::string> owner;
    for (int step = 0; step < 400; ++step) {
      const std::string key = "o-" + std::to_string(pick(kOrders));
      if (!owner.count(key)) owner[key] = "u-" + std::to_string(pick(kUsers));
      auto& v = version[key];
      std::vector<tracking_record> records;
      for (int i = 0, n = 1 + pick(3); i < n; ++i)
        records.push_back(make_record(key, ++v, pick(5000), "ev-" + std::to_string(pick(400)),
                                      static_cast<order_status>(1 + pick(5))));
      const auto o = make_order(key, owner[key], v, static_cast<order_status>(1 + pick(5)),
                                1000 + pick(100));
      auto ticket = wb->reserve(records.size());
      ASSERT_TRUE(ticket);
      wb->push(std::move(*ticket), records, o);
      oracle.commit({{o}, records});
      if (pick(100) == 0 || step == 200) {  // a restart: drain, close, reopen
        wb.reset();
        db = std::make_unique<postgres_storage>(pg_test_server::conninfo(), options);
        wb = std::make_unique<write_behind>(*db);
      }
      if (step % 100 == 99) {
        wb->flush();
        expect_same_reads(*db, oracle, kOrders, kUsers, pick(5000));
      }
    }
    wb->flush();
    EXPECT_EQ(db->record_count(), oracle.record_count());
    EXPECT_EQ(db->order_count(), oracle.order_count());
  }
}

TEST(PostgresTracker, RestartContinuesVersionsAndKeepsDuplicatesOut) {
  schema_guard s{fresh_schema()};
  const postgres_options options{.schema = s.name};
  event_builder b;
  manual_clock clock(b.time());
  std::vector<event> sent;
  auto step = [&](event e) {
    b.advance(15'000);
    clock.set(b.time());
    e.time = b.time();
    sent.push_back(e);
    return e;
  };
  std::map<std::string, std::uint64_t> versions_before;
  {
    postgres_storage db(pg_test_server::conninfo(), options);
    tracker engine({}, &db, nullptr, &clock);
    for (int i = 0; i < 4; ++i) {
      const std::string o = "O" + std::to_string(i);
      ASSERT_TRUE(engine.ingest(step(b.created(o))).accepted());
      ASSERT_TRUE(engine.ingest(step(b.paid(o))).accepted());
      ASSERT_TRUE(engine.ingest(step(b.assigned(o, "R1"))).accepted());
    }
    for (int k = 0; k < 5; ++k)
      ASSERT_TRUE(engine.ingest(step(b.position("R1", {116.40 + k * 1e-3, 39.90}))).accepted());
    ASSERT_TRUE(engine.ingest(step(b.delivered("O0", "R1"))).accepted());
    ASSERT_TRUE(engine.ingest(step(b.cancelled("O3"))).accepted());
    engine.flush();
    for (int i = 0; i < 4; ++i) {
      const std::string o = "O" + std::to_string(i);
      versions_before[o] = engine.find_order(must_id(o))->version;
    }
  }
  // A new process: the same schema, the same events redelivered.
  postgres_storage db(pg_test_server::conninfo(), options);
  tracker engine({}, &db, nullptr, &clock);
  for (const auto& e : sent) {
    const auto r = engine.ingest(e);
    EXPECT_EQ(r.status, ingest_status::duplicate) << e.id.str() << ": " << r.message();
  }
  for (const auto& [o, v] : versions_before)
    EXPECT_EQ(engine.find_order(must_id(o))->version, v) << o;
  // New events continue each order's versions without a gap.
  const auto moved = engine.ingest(step(b.position("R1", {116.41, 39.91})));
  ASSERT_TRUE(moved.accepted()) << moved.message();
  ASSERT_TRUE(engine.ingest(step(b.delivered("O1", "R1"))).accepted());
  engine.flush();
  for (const char* o : {"O0", "O1", "O2", "O3"}) {
    const auto records = db.records_since(must_id(o), 0);
    ASSERT_FALSE(records.empty()) << o;
    for (std::size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].version, i + 1) << o;
    EXPECT_EQ(db.load_order(must_id(o))->version, records.back().version) << o;
  }
  EXPECT_EQ(db.load_order(must_id("O1"))->status, order_status::completed);
  EXPECT_EQ(db.load_order(must_id("O2"))->version, versions_before["O2"] + 1);
  EXPECT_EQ(db.load_order(must_id("O0"))->version, versions_before["O0"]);  // terminal: no fix
}

}  // namespace
}  // namespace xiaoxiang::testing
