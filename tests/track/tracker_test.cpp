#include "xiaoxiang/track/tracker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <thread>

#include "event_builder.hpp"
#include "forwarding_storage.hpp"
#include "recording_publisher.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"

namespace xiaoxiang {
namespace {

using testing::event_builder;
using testing::make_id;
using testing::recording_publisher;

class TrackerTest : public ::testing::Test {
 protected:
  event_builder b;
  manual_clock clock{b.time()};
  recording_publisher pub;
  memory_storage store;
  tracker_options options;

  std::unique_ptr<tracker> make() {
    return std::make_unique<tracker>(options, &store, &pub, &clock);
  }

  // Drives an order to Delivering with rider R1 (versions 1..4).
  void to_delivering(tracker& t, const std::string& order, const std::string& rider = "R1") {
    ASSERT_TRUE(t.ingest(b.created(order)).accepted());
    ASSERT_TRUE(t.ingest(b.paid(order)).accepted());
    ASSERT_TRUE(t.ingest(b.picking(order, picking_stage::picked)).accepted());
    ASSERT_TRUE(t.ingest(b.assigned(order, rider, {{116.40, 39.90}, {116.42, 39.91}})).accepted());
  }

  ingest_result step(tracker& t, event e) {
    b.advance(15'000);
    clock.set(b.time());
    return t.ingest(e);
  }

  static void expect_rejected(const ingest_result& r, errc code, const char* field) {
    EXPECT_EQ(r.status, ingest_status::rejected) << r.message();
    EXPECT_EQ(r.code, code) << r.message();
    ASSERT_NE(r.field, nullptr);
    EXPECT_STREQ(r.field, field);
  }
};

TEST_F(TrackerTest, LifecycleBumpsVersionByOneAndPushesEachChange) {
  auto t = make();
  const auto created = t->ingest(b.created("O1"));
  ASSERT_TRUE(created.accepted()) << created.message();
  EXPECT_EQ(created.version, 1u);
  EXPECT_EQ(t->ingest(b.paid("O1")).version, 2u);
  EXPECT_EQ(t->ingest(b.picking("O1", picking_stage::task_created)).version, 3u);
  EXPECT_EQ(t->ingest(b.picking("O1", picking_stage::picked)).version, 4u);
  EXPECT_EQ(t->ingest(b.assigned("O1", "R1")).version, 5u);
  const auto moved = step(*t, b.position("R1", {116.41, 39.905}));
  ASSERT_TRUE(moved.accepted()) << moved.message();
  EXPECT_EQ(moved.version, 6u);
  EXPECT_EQ(moved.orders_updated, 1u);
  const auto done = t->ingest(b.delivered("O1", "R1"));
  EXPECT_EQ(done.version, 7u);

  const auto changes = pub.changes("O1");
  ASSERT_EQ(changes.size(), 7u);
  EXPECT_TRUE(pub.gaps().empty());
  EXPECT_EQ(changes[0].changed, field::all);
  EXPECT_EQ(changes[1].changed & field::status, field::status);
  EXPECT_EQ(changes[1].state.status, order_status::paid);
  EXPECT_EQ(changes[2].changed & field::picking, field::picking);
  EXPECT_EQ(changes[2].state.op_type, operator_type::warehouse);
  EXPECT_EQ(changes[5].changed & field::position, field::position);
  EXPECT_EQ(changes[5].changed & field::status, 0u);
  EXPECT_DOUBLE_EQ(changes[5].state.position.lon, 116.41);
  EXPECT_EQ(changes[6].state.status, order_status::completed);

  const auto snap = t->snapshot(make_id("O1"));
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->version, 7u);
  EXPECT_EQ(snap->status, order_status::completed);
  EXPECT_TRUE(t->orders_of_rider(make_id("R1")).empty());

  t->flush();
  const auto records = store.records_since(make_id("O1"), 0);
  ASSERT_EQ(records.size(), 7u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].version, i + 1);
    EXPECT_EQ(records[i].record_id, make_record_id(make_id("O1"), i + 1));
  }
  EXPECT_EQ(records[2].op_type, operator_type::warehouse);
  EXPECT_EQ(records[2].stage, picking_stage::task_created);
  EXPECT_EQ(records[5].kind, record_kind::position);
  EXPECT_EQ(records[5].op_type, operator_type::rider);
  EXPECT_EQ(store.load_order(make_id("O1"))->version, 7u);
  EXPECT_GE(t->durable_sequence(), done.durable_ticket);
}

// A scoped position (a cluster node's: the orders of the partitions it was
// read from) moves only the rider's orders in the scope; the rider's live
// position follows it as usual. Order events ignore the scope.
TEST_F(TrackerTest, ScopedPositionMovesOnlyTheOrdersInScope) {
  struct only final : order_scope {
    std::string id;
    bool includes(const order_id& o) const noexcept override { return o.str() == id; }
  };
  auto t = make();
  to_delivering(*t, "OA");
  to_delivering(*t, "OB");
  only scope;
  scope.id = "OA";
  b.advance(15'000);
  clock.set(b.time());
  const event p1 = b.position("R1", {116.401, 39.901});
  const auto r = t->ingest(p1, scope);
  ASSERT_TRUE(r.accepted()) << r.message();
  EXPECT_EQ(r.orders_updated, 1u);
  EXPECT_EQ(t->find_order(make_id("OA"))->version, 5u);
  EXPECT_EQ(t->find_order(make_id("OB"))->version, 4u);
  const auto s = t->snapshot(make_id("OB"));
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->has_position);
  // The same event again, unscoped: a duplicate (one event, one effect).
  EXPECT_EQ(t->ingest(p1).status, ingest_status::duplicate);
  scope.id = "nothing";
  b.advance(15'000);
  clock.set(b.time());
  const auto none = t->ingest(b.position("R1", {116.402, 39.902}), scope);
  EXPECT_TRUE(none.accepted()) << none.message();
  EXPECT_EQ(none.orders_updated, 0u);
  EXPECT_TRUE(t->ingest(b.delivered("OB", "R1"), scope).accepted());
}

TEST_F(TrackerTest, DuplicateEventChangesNothing) {
  auto t = make();
  const event created = b.created("O1");
  ASSERT_TRUE(t->ingest(created).accepted());
  const event paid = b.paid("O1");
  ASSERT_TRUE(t->ingest(paid).accepted());
  for (const event* e : {&created, &paid}) {
    const auto again = t->ingest(*e);
    EXPECT_EQ(again.status, ingest_status::duplicate);
    EXPECT_EQ(again.code, errc::duplicate_event);
  }
  EXPECT_EQ(t->snapshot(make_id("O1"))->version, 2u);
  EXPECT_EQ(pub.changes("O1").size(), 2u);
  EXPECT_EQ(t->metrics().duplicates, 2u);
}

TEST_F(TrackerTest, StateMachineRejectionsCarryTheirCode) {
  auto t = make();
  expect_rejected(t->ingest(b.paid("O404")), errc::unknown_order, "orderId");
  ASSERT_TRUE(t->ingest(b.created("O1")).accepted());
  expect_rejected(t->ingest(b.created("O1")), errc::order_exists, "orderId");
  expect_rejected(t->ingest(b.assigned("O1", "R1")), errc::illegal_transition, "status");
  expect_rejected(t->ingest(b.picking("O1", picking_stage::picking)), errc::invalid_picking_stage,
                  "stage");
  ASSERT_TRUE(t->ingest(b.paid("O1")).accepted());
  expect_rejected(t->ingest(b.paid("O1")), errc::illegal_transition, "status");
  expect_rejected(t->ingest(b.delivered("O1", "R1")), errc::illegal_transition, "status");
  ASSERT_TRUE(t->ingest(b.picking("O1", picking_stage::packed)).accepted());
  // A stage that arrives after a later one is stale.
  expect_rejected(t->ingest(b.picking("O1", picking_stage::picking)), errc::invalid_picking_stage,
                  "stage");
  event bad_stage = b.picking("O1", picking_stage::none);
  expect_rejected(t->ingest(bad_stage), errc::invalid_picking_stage, "stage");
  ASSERT_TRUE(t->ingest(b.assigned("O1", "R1")).accepted());
  expect_rejected(t->ingest(b.delivered("O1", "R2")), errc::rider_not_assigned, "riderId");
  ASSERT_TRUE(t->ingest(b.cancelled("O1")).accepted());
  expect_rejected(t->ingest(b.delivered("O1", "R1")), errc::order_terminal, "status");
  expect_rejected(t->ingest(b.picking("O1", picking_stage::handed_over)), errc::order_terminal,
                  "status");
  // Nothing rejected changed the order: created, paid, packed, assigned, cancelled.
  EXPECT_EQ(t->snapshot(make_id("O1"))->version, 5u);
  EXPECT_EQ(t->snapshot(make_id("O1"))->status, order_status::cancelled);
  const auto m = t->metrics();
  EXPECT_EQ(m.rejected_count(errc::illegal_transition), 3u);
  EXPECT_EQ(m.rejected_count(errc::order_terminal), 2u);
  EXPECT_EQ(m.events, m.accepted + m.duplicates + m.rejected);
}

TEST_F(TrackerTest, BadFieldsAreRejectedNamingTheField) {
  auto t = make();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  event e = b.created("O1");
  e.id = id();
  expect_rejected(t->ingest(e), errc::empty_id, "eventId");
  e = b.created("O1");
  e.user = id();
  expect_rejected(t->ingest(e), errc::empty_id, "userId");
  e = b.created("O1");
  e.amount = -1;
  expect_rejected(t->ingest(e), errc::invalid_amount, "totalAmount");
  e = b.created("O1");
  e.destination.lat = 91;
  expect_rejected(t->ingest(e), errc::invalid_latitude, "destination.latitude");
  e = b.created("O1");
  e.origin.lon = nan;
  expect_rejected(t->ingest(e), errc::invalid_longitude, "origin.longitude");
  e = b.created("O1");
  e.address = std::string(256, 'x');
  expect_rejected(t->ingest(e), errc::invalid_address, "address");
  e = b.created("O1");
  e.time = -5;
  expect_rejected(t->ingest(e), errc::invalid_timestamp, "time");
  EXPECT_EQ(t->hot_orders(), 0u);
  to_delivering(*t, "O2");
  event route = b.assigned("O2", "R1", {{116.4, 39.9}});
  expect_rejected(t->ingest(route), errc::invalid_polyline, "route");
}

TEST_F(TrackerTest, PositionFiltersEachHaveTheirReason) {
  auto t = make();
  to_delivering(*t, "O1");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  ASSERT_TRUE(step(*t, b.position("R1", {116.400, 39.900})).accepted());
  expect_rejected(step(*t, b.position("R1", {nan, 39.9})), errc::invalid_longitude, "longitude");
  expect_rejected(step(*t, b.position("R1", {116.4, inf})), errc::invalid_latitude, "latitude");
  expect_rejected(step(*t, b.position("R1", {0, 0})), errc::position_null_island, "longitude");
  expect_rejected(step(*t, b.position("R1", {116.4, 39.9}, b.time() + 10 * 60'000)),
                  errc::position_in_future, "time");
  expect_rejected(step(*t, b.position("R1", {116.4, 39.9}, b.time() - 25LL * 3600'000)),
                  errc::position_too_old, "time");
  // 10 km in 15 s is 2400 km/h.
  expect_rejected(step(*t, b.position("R1", {116.52, 39.9})), errc::position_too_fast,
                  "longitude");
  // The same fix again under another event id.
  const event fix = b.position("R1", {116.401, 39.900}, b.time() + 15'000);
  ASSERT_TRUE(step(*t, fix).accepted());
  event again = fix;
  again.id = make_id("another-id");
  expect_rejected(t->ingest(again), errc::position_duplicate_fix, "time");
  EXPECT_EQ(t->ingest(fix).status, ingest_status::duplicate);
  const auto m = t->metrics();
  for (errc code : {errc::invalid_longitude, errc::invalid_latitude, errc::position_null_island,
                    errc::position_in_future, errc::position_too_old, errc::position_too_fast,
                    errc::position_duplicate_fix})
    EXPECT_EQ(m.rejected_count(code), 1u) << errc_name(code);
  EXPECT_EQ(t->snapshot(make_id("O1"))->version, 6u);  // 4 + two accepted fixes
}

TEST_F(TrackerTest, ARiderPositionAppliesToEveryOrderItCarries) {
  auto t = make();
  to_delivering(*t, "O1", "R1");
  to_delivering(*t, "O2", "R1");
  to_delivering(*t, "O3", "R2");
  EXPECT_EQ(t->orders_of_rider(make_id("R1")).size(), 2u);
  const auto r = step(*t, b.position("R1", {116.41, 39.905}));
  ASSERT_TRUE(r.accepted());
  EXPECT_EQ(r.orders_updated, 2u);
  EXPECT_EQ(t->snapshot(make_id("O1"))->version, 5u);
  EXPECT_EQ(t->snapshot(make_id("O2"))->version, 5u);
  EXPECT_EQ(t->snapshot(make_id("O3"))->version, 4u);
  EXPECT_FALSE(t->snapshot(make_id("O3"))->has_position);
  // A rider with no order still moves in the live index.
  const auto idle = step(*t, b.position("R9", {116.3, 39.95}));
  ASSERT_TRUE(idle.accepted());
  EXPECT_EQ(idle.orders_updated, 0u);
  const auto near = t->nearby_riders({116.3, 39.95}, 1000, 5);
  ASSERT_TRUE(near.ok());
  ASSERT_EQ(near->size(), 1u);
  EXPECT_EQ((*near)[0].rider, make_id("R9"));
  EXPECT_TRUE(t->remove_rider(make_id("R9")).ok());
  EXPECT_EQ(t->remove_rider(make_id("R9")).code, errc::unknown_rider);
  EXPECT_TRUE(t->nearby_riders({116.3, 39.95}, 1000, 5)->empty());
}

// The duplicate-fix filter compares fingerprints of (time, point): a fix
// older than the newest one is looked up among the last 32; the same time
// at another place, or the same place at another time, is a new fix; -0.0
// and 0.0 are the same coordinate, as they compare equal.
TEST_F(TrackerTest, DuplicateFixIsTheSameTimeAndPlaceOnly) {
  auto t = make();
  to_delivering(*t, "O1");
  const timestamp_ms t0 = b.time() + 1000;
  ASSERT_TRUE(step(*t, b.position("R1", {-0.0, 10.0}, t0)).accepted());
  ASSERT_TRUE(step(*t, b.position("R1", {0.0001, 10.0}, t0 + 15'000)).accepted());
  // Older than the newest fix: the scan decides.
  expect_rejected(step(*t, b.position("R1", {0.0, 10.0}, t0)), errc::position_duplicate_fix,
                  "time");
  const auto batch = step(*t, b.batch("R1", {{t0, {0.00001, 10.0}},         // same time, elsewhere
                                             {t0 + 5'000, {-0.0, 10.0}},    // same place, later
                                             {t0 + 15'000, {0.0001, 10.0}}}));  // seen
  ASSERT_TRUE(batch.accepted()) << batch.message();
  EXPECT_EQ(batch.fixes_rejected, 1u);
  EXPECT_EQ(t->metrics().rejected_count(errc::position_duplicate_fix), 2u);
  // 33 newer fixes later, the first one has left the rider's memory.
  for (int i = 1; i <= 33; ++i)
    ASSERT_TRUE(step(*t, b.position("R1", {0.0001 + 0.0001 * i, 10.0}, t0 + 15'000 + 15'000 * i))
                    .accepted());
  EXPECT_TRUE(step(*t, b.position("R1", {-0.0, 10.0}, t0)).accepted());
}

TEST_F(TrackerTest, OfflineBatchIsStoredInDeviceTimeOrderAndLiveStaysNewest) {
  auto t = make();
  to_delivering(*t, "O1");
  const timestamp_ms t0 = b.time() + 1000;
  // Live position first, then the cached positions from before it arrive.
  ASSERT_TRUE(step(*t, b.position("R1", {116.410, 39.905}, t0 + 60'000)).accepted());
  const auto batch = step(*t, b.batch("R1", {{t0 + 30'000, {116.406, 39.903}},
                                             {t0, {116.402, 39.901}},
                                             {t0 + 15'000, {116.404, 39.902}},
                                             {t0 + 15'000, {116.404, 39.902}},  // repeated fix
                                             {t0 + 45'000, {0, 0}}}));         // no GPS fix
  ASSERT_TRUE(batch.accepted()) << batch.message();
  EXPECT_EQ(batch.fixes_rejected, 2u);
  EXPECT_EQ(batch.version, 8u);  // 4 + live + 3 batch fixes
  const auto snap = t->snapshot(make_id("O1"));
  EXPECT_DOUBLE_EQ(snap->position.lon, 116.410);  // the live position stays the newest
  EXPECT_EQ(snap->create_time, t0 + 60'000);
  t->flush();
  const auto path = store.trajectory(make_id("O1"));
  std::vector<timestamp_ms> times;
  for (const auto& r : path)
    if (r.kind == record_kind::position) times.push_back(r.create_time);
  EXPECT_EQ(times, (std::vector<timestamp_ms>{t0, t0 + 15'000, t0 + 30'000, t0 + 60'000}));
  // The same batch again is a duplicate; each version was pushed once.
  EXPECT_EQ(t->ingest(b.batch("R1", {})).code, errc::invalid_event);
  EXPECT_TRUE(pub.gaps().empty());
  EXPECT_EQ(pub.changes("O1").size(), 8u);
}

TEST_F(TrackerTest, RestartFromSqliteContinuesVersionsAndRecognisesDuplicates) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("xiaoxiang-tracker-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "track.db").string();
  event paid;
  {
    sqlite_storage db(path);
    tracker t(options, &db, &pub, &clock);
    to_delivering(t, "O1");
    ASSERT_TRUE(step(t, b.position("R1", {116.41, 39.905})).accepted());
    paid = b.paid("O2");
    ASSERT_TRUE(t.ingest(b.created("O2")).accepted());
    ASSERT_TRUE(t.ingest(paid).accepted());
    t.flush();
  }
  {
    sqlite_storage db(path);
    recording_publisher after;
    tracker t(options, &db, &after, &clock);
    EXPECT_EQ(t.hot_orders(), 2u);
    EXPECT_EQ(t.snapshot(make_id("O1"))->version, 5u);
    EXPECT_EQ(t.ingest(paid).status, ingest_status::duplicate);
    EXPECT_EQ(t.orders_of_rider(make_id("R1")).size(), 1u);
    const auto moved = step(t, b.position("R1", {116.412, 39.906}));
    ASSERT_TRUE(moved.accepted());
    EXPECT_EQ(moved.version, 6u);
    ASSERT_TRUE(t.ingest(b.delivered("O1", "R1")).accepted());
    t.flush();
    const auto records = db.records_since(make_id("O1"), 0);
    ASSERT_EQ(records.size(), 7u);
    for (std::size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].version, i + 1);
  }
  std::filesystem::remove_all(dir);
}

TEST_F(TrackerTest, TerminalOrdersLeaveTheHotCacheAndAreServedFromStorage) {
  options.terminal_retention_ms = 60'000;
  auto t = make();
  const event created = b.created("O1");
  ASSERT_TRUE(t->ingest(created).accepted());
  const event cancel = b.cancelled("O1");
  ASSERT_TRUE(t->ingest(cancel).accepted());
  t->flush();
  EXPECT_EQ(t->evict(clock.now()), 0u);
  clock.advance(61'000);
  EXPECT_EQ(t->evict(clock.now()), 1u);
  EXPECT_EQ(t->hot_orders(), 0u);
  EXPECT_FALSE(t->snapshot(make_id("O1")));
  const auto stored = t->find_order(make_id("O1"));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, order_status::cancelled);
  EXPECT_EQ(t->ingest(cancel).status, ingest_status::duplicate);
  EXPECT_EQ(t->ingest(created).status, ingest_status::duplicate);
  expect_rejected(t->ingest(b.paid("O1")), errc::order_terminal, "orderId");
  EXPECT_EQ(t->metrics().evicted, 1u);
}

// A storage whose commits wait until the test opens the gate: fills the
// write-behind queue so that back-pressure can be observed.
class gated_storage final : public testing::forwarding_storage {
 public:
  void commit(const write_batch& batch) override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
    inner_.commit(batch);
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST_F(TrackerTest, FullStorageQueueRejectsCleanlyAndLosesNothing) {
  gated_storage gated;
  options.storage_queue.capacity_records = 4;
  options.storage_queue.max_batch_records = 1;
  std::size_t accepted = 0;
  std::size_t full = 0;
  {
    tracker t(options, &gated, &pub, &clock);
    for (int i = 0; i < 20; ++i) {
      const auto r = t.ingest(b.created("O" + std::to_string(i)));
      if (r.accepted()) ++accepted;
      if (r.code == errc::queue_full) {
        ++full;
        EXPECT_STREQ(r.field, "storage");
      }
    }
    EXPECT_GT(full, 0u);
    EXPECT_EQ(t.hot_orders(), accepted);  // a rejected order left no trace
    gated.open();
    t.flush();
    EXPECT_EQ(t.metrics().rejected_count(errc::queue_full), full);
  }
  std::size_t stored = 0;
  for (int i = 0; i < 20; ++i) stored += gated.load_order(make_id("O" + std::to_string(i))) ? 1 : 0;
  EXPECT_EQ(stored, accepted);
}

TEST_F(TrackerTest, TwoThreadsIngestDifferentOrdersConcurrently) {
  auto t = make();
  constexpr int kOrders = 400;
  std::vector<std::vector<event>> streams(2);
  for (int i = 0; i < kOrders; ++i) {
    const std::string order = "O" + std::to_string(i);
    const std::string rider = "R" + std::to_string(i);
    auto& s = streams[i % 2];
    s.push_back(b.created(order));
    s.push_back(b.paid(order));
    s.push_back(b.assigned(order, rider));
    for (int k = 1; k <= 5; ++k)
      s.push_back(b.position(rider, {116.4 + 0.0005 * k, 39.9}, b.time() + k * 15'000));
    s.push_back(b.delivered(order, rider));
  }
  clock.set(b.time() + 10 * 15'000);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (auto& s : streams)
    threads.emplace_back([&t, &s, &failures] {
      for (const event& e : s)
        if (!t->ingest(e).accepted()) ++failures;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(pub.gaps().empty());
  for (int i = 0; i < kOrders; ++i)
    EXPECT_EQ(t->snapshot(make_id("O" + std::to_string(i)))->version, 9u);
  EXPECT_EQ(t->metrics().accepted, static_cast<std::uint64_t>(kOrders * 9));
}

}  // namespace
}  // namespace xiaoxiang
