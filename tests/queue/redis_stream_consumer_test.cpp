// The ingest queue against a real redis-server: every event ingested exactly
// once in effect across two tracker nodes, acknowledgement only after
// durability, a dead consumer's pending entries claimed by another, and
// redelivery absorbed as duplicates.
#include "xiaoxiang/queue/redis_stream_consumer.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "../redis/redis_test_server.hpp"
#include "event_builder.hpp"
#include "forwarding_storage.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/queue/redis_stream_producer.hpp"
#include "xiaoxiang/redis/partition.hpp"
#include "xiaoxiang/sim/simulation.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"

namespace xiaoxiang {
namespace {

// A storage whose commits wait until the test opens the gate: durability
// delayed at will.
class gated_storage final : public testing::forwarding_storage {
 public:
  void commit(const write_batch& batch) override {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return open_; });
    inner_.commit(batch);
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct queue_fixture {
  redis_stream_options streams;
  redis_connection admin{test::test_connection()};
  explicit queue_fixture(std::uint32_t partitions) {
    streams.stream_prefix = test::unique_prefix() + "events:";
    streams.partitions = partitions;
  }
  redis_stream_producer producer() {
    redis_stream_producer_options o;
    o.connection = test::test_connection();
    o.streams = streams;
    return redis_stream_producer(o);
  }
  redis_stream_consumer_options consumer(const std::string& name,
                                         std::vector<std::uint32_t> partitions = {}) const {
    redis_stream_consumer_options o;
    o.connection = test::test_connection();
    o.streams = streams;
    o.consumer = name;
    o.partitions = std::move(partitions);
    o.block_ms = 10;
    return o;
  }
  // Entries of the group pending (delivered, not acknowledged) on stream p.
  long long pending(std::uint32_t p, const std::string& group = "trackers") {
    return admin.command({"XPENDING", event_stream_name(streams, p), group}).at(0).integer;
  }
  long long pending_all() {
    long long n = 0;
    for (std::uint32_t p = 0; p < streams.partitions; ++p) n += pending(p);
    return n;
  }
};

std::vector<event> created_orders(int n) {
  testing::event_builder b(now_ms() - 60'000);
  std::vector<event> out;
  for (int i = 0; i < n; ++i) out.push_back(b.created("O" + std::to_string(i)));
  return out;
}

TEST(RedisStreamConsumer, TwoNodesIngestEverySimEventExactlyOnceInEffect) {
  sim_options so;
  so.seed = 11;
  so.riders = 12;
  so.start = now_ms() - 3 * 3600 * 1000;  // within the tracker's position age limit
  // The sim's demand follows the city's clock: at night there (before 7:00)
  // it is 0.3 of the day's, so raise the rate to keep enough orders at any
  // time of day the test runs.
  const std::int64_t local_ms = (so.start + so.city.utc_offset_hours * 3'600'000LL) % 86'400'000;
  if (local_ms < 7 * 3'600'000LL) so.orders_per_rider_hour /= 0.3;
  simulation city(so);
  std::vector<sim_event> items;
  city.step(50 * 60'000, items);
  ASSERT_GT(items.size(), 1000u);

  queue_fixture q(4);
  {
    auto producer = q.producer();
    for (const sim_event& item : items) producer.add(item.ev);
    producer.flush();
    EXPECT_EQ(producer.events(), items.size());
    EXPECT_GE(producer.entries(), items.size());  // positions of riders with orders in 2 partitions
  }

  // The single-process reference. Every tracker reads the same fixed "now"
  // (the clock-driven parts of the detectors must not depend on how long
  // the queue took on a loaded machine).
  manual_clock clock(city.now());
  // ETA and detectors off: this compares what the queue delivered, and
  // their alerts depend on what else a node saw (the rider's other orders).
  tracker_options to;
  to.eta = false;
  to.detectors = false;
  to.eta_learning = false;
  memory_storage reference_store;  // evicted terminal orders are found there
  tracker reference(to, &reference_store, nullptr, &clock);
  for (const sim_event& item : items) (void)reference.ingest(item.ev);
  reference.flush();

  // Two nodes: partitions {0,1} and {2,3}, each its own tracker and storage.
  memory_storage store_a, store_b;
  tracker node_a(to, &store_a, nullptr, &clock), node_b(to, &store_b, nullptr, &clock);
  redis_stream_consumer ca(node_a, q.consumer("a", {0, 1}));
  redis_stream_consumer cb(node_b, q.consumer("b", {2, 3}));
  for (int round = 0; round < 1000; ++round) {
    const std::size_t n = ca.poll() + cb.poll();
    if (n == 0 && ca.metrics().entries_read + cb.metrics().entries_read > 0) break;
  }
  ca.drain();
  cb.drain();
  const auto ma = ca.metrics(), mb = cb.metrics();
  EXPECT_EQ(ma.rejected + mb.rejected, 0u);
  EXPECT_EQ(ma.malformed + mb.malformed, 0u);
  EXPECT_EQ(ma.entries_read + mb.entries_read, ma.acked + mb.acked);
  // Each entry ingested exactly once: accepted or a duplicate (the sim's own
  // duplicates), or acknowledged unread as the copy of a position on a
  // second partition of the same node.
  EXPECT_EQ(ma.accepted + ma.duplicates + ma.shared_copies + mb.accepted + mb.duplicates + mb.shared_copies,
            ma.entries_read + mb.entries_read);
  EXPECT_EQ(q.pending_all(), 0);
  EXPECT_GT(ma.duplicates + mb.duplicates, 0u);  // the sim's own duplicate deliveries

  // Every order is on its partition's node, in the state the reference has.
  std::size_t orders = 0;
  for (const sim_event& item : items) {
    if (item.ev.kind != event_kind::order_created) continue;
    ++orders;
    const tracker& owner = partition_of(item.ev.order.view(), 4) < 2 ? node_a : node_b;
    const tracker& other = &owner == &node_a ? node_b : node_a;
    const auto want = reference.find_order(item.ev.order);
    const auto got = owner.find_order(item.ev.order);
    ASSERT_TRUE(want && got) << item.ev.order.str();
    EXPECT_EQ(got->status, want->status) << item.ev.order.str();
    // Versions may differ from the single process: a node sees a rider's
    // fixes only while it owns one of the rider's orders, so the position
    // filters (too fast, duplicate, stale) compare against other fixes
    // (docs/scaling.md). Status and presence must agree.
    EXPECT_GE(got->version, 1u) << item.ev.order.str();
    EXPECT_FALSE(other.find_order(item.ev.order)) << item.ev.order.str();
  }
  EXPECT_GT(orders, 10u);
}

// One rider carries an order of partition 0 and one of partition 1; a node
// owning both reads 40 positions from partition 0 before it reaches their
// copies in partition 1 — further back than a rider's duplicate memory (32
// events). Each position must still move each order once: the copies name
// their partitions ("p") and the node ingests the one in its lowest.
TEST(RedisStreamConsumer, OneNodeOfSeveralPartitionsIngestsOneCopyOfASharedPosition) {
  queue_fixture q(2);
  auto order_in = [](std::uint32_t partition) {
    for (int n = 1;; ++n)
      if (std::string id = "SO" + std::to_string(n); partition_of(id, 2) == partition) return id;
  };
  const std::string a = order_in(0), b = order_in(1);
  testing::event_builder eb(now_ms() - 3600'000);
  constexpr int kFixes = 40;
  {
    auto producer = q.producer();
    for (const auto& o : {a, b}) {
      producer.add(eb.created(o));
      producer.add(eb.paid(o));
      producer.add(eb.assigned(o, "SR"));
    }
    for (int i = 0; i < kFixes; ++i) {
      eb.advance(15'000);
      EXPECT_EQ(producer.add(eb.position("SR", {116.40 + 0.0002 * i, 39.90})), 2u);
    }
    producer.flush();
  }
  // The copies carry the list; XRANGE shows it on the last entry.
  const redis_value last = q.admin.command({"XREVRANGE", event_stream_name(q.streams, 1), "+", "-", "COUNT", "1"});
  ASSERT_EQ(last.elements.size(), 1u);
  const redis_value& fields = last.at(0).at(1);
  ASSERT_EQ(fields.elements.size(), 4u);
  EXPECT_EQ(fields.at(2).text(), "p");
  EXPECT_EQ(fields.at(3).text(), "0,1");

  tracker_options to;
  to.eta = to.detectors = to.eta_learning = false;
  memory_storage store;
  tracker node(to, &store);
  auto options = q.consumer("both", {0, 1});
  options.batch_entries = 1000;  // all of partition 0, then all of partition 1
  redis_stream_consumer consumer(node, options);
  for (int round = 0; round < 100; ++round)
    if (consumer.poll() == 0 && consumer.metrics().entries_read > 0) break;
  consumer.drain();
  const auto m = consumer.metrics();
  EXPECT_EQ(m.entries_read, 6u + 2u * kFixes);
  EXPECT_EQ(m.shared_copies, static_cast<std::uint64_t>(kFixes));
  EXPECT_EQ(m.accepted, 6u + kFixes);
  EXPECT_EQ(m.duplicates, 0u);
  EXPECT_EQ(m.acked, m.entries_read);
  for (const auto& o : {a, b}) {
    std::size_t positions = 0;
    for (const auto& r : store.trajectory(testing::make_id(o))) positions += r.kind == record_kind::position;
    EXPECT_EQ(positions, static_cast<std::size_t>(kFixes)) << o;
  }

  // Two nodes, one partition each: each ingests its own copy.
  memory_storage store0, store1;
  tracker n0(to, &store0), n1(to, &store1);
  // A group of their own reads the streams from the start.
  auto o0 = q.consumer("n0", {0});
  o0.group = "others";
  auto o1 = q.consumer("n1", {1});
  o1.group = "others";
  redis_stream_consumer g0(n0, o0), g1(n1, o1);
  for (int round = 0; round < 100; ++round)
    if (g0.poll() + g1.poll() == 0 && g0.metrics().entries_read + g1.metrics().entries_read > 0) break;
  g0.drain();
  g1.drain();
  EXPECT_EQ(g0.metrics().shared_copies + g1.metrics().shared_copies, 0u);
  EXPECT_EQ(g0.metrics().accepted, 3u + kFixes);
  EXPECT_EQ(g1.metrics().accepted, 3u + kFixes);
}

TEST(RedisStreamConsumer, AcknowledgesOnlyWhatStorageReportsDurable) {
  queue_fixture q(1);
  {
    auto producer = q.producer();
    for (const event& e : created_orders(10)) producer.add(e);
  }
  gated_storage store;
  tracker engine(tracker_options{}, &store);
  redis_stream_consumer c(engine, q.consumer("a"));
  std::size_t read = 0;
  for (int i = 0; i < 10 && read < 10; ++i) read += c.poll();
  ASSERT_EQ(read, 10u);
  EXPECT_EQ(c.metrics().accepted, 10u);
  EXPECT_EQ(c.metrics().unacked, 10u);
  c.ack_durable();
  EXPECT_EQ(q.pending(0), 10);  // not durable: still pending in the group
  EXPECT_EQ(c.metrics().acked, 0u);
  store.open();
  engine.flush();
  EXPECT_EQ(c.ack_durable(), 10u);
  EXPECT_EQ(q.pending(0), 0);
  EXPECT_EQ(c.metrics().unacked, 0u);
}

TEST(RedisStreamConsumer, RejectionsAndMalformedEntriesAreAcknowledgedAtOnce) {
  queue_fixture q(1);
  testing::event_builder b(now_ms());
  {
    auto producer = q.producer();
    producer.add(b.paid("O404"));  // unknown order: rejected
  }
  const std::string stream = event_stream_name(q.streams, 0);
  q.admin.command({"XADD", stream, "*", "e", "{not json"});
  q.admin.command({"XADD", stream, "*", "other", "x"});
  gated_storage store;  // closed: nothing may wait for it
  tracker engine(tracker_options{}, &store);
  redis_stream_consumer c(engine, q.consumer("a"));
  for (int i = 0; i < 5; ++i) c.poll();
  const auto m = c.metrics();
  EXPECT_EQ(m.rejected, 1u);
  EXPECT_EQ(m.malformed, 2u);
  EXPECT_EQ(m.acked, 3u);
  EXPECT_EQ(q.pending(0), 0);
  store.open();
}

// A "p" field that is not a list of partition numbers: the event is good,
// so it is ingested at once (as if unshared) and counted, never dropped.
TEST(RedisStreamConsumer, MalformedPartitionListIsCountedAndTheEventIngested) {
  queue_fixture q(1);
  const auto events = created_orders(4);
  const std::string stream = event_stream_name(q.streams, 0);
  const char* bad_lists[] = {"x", "0,", ",0", "0,,1", "99999999999", "-1"};
  for (std::size_t i = 0; i < 4; ++i)
    q.admin.command({"XADD", stream, "*", "e", event_to_json(events[i]), "p", bad_lists[i]});
  q.admin.command({"XADD", stream, "*", "e", event_to_json(events[0]), "p", bad_lists[4]});
  q.admin.command({"XADD", stream, "*", "e", event_to_json(events[1]), "p", bad_lists[5]});
  tracker engine(tracker_options{}, nullptr);
  redis_stream_consumer c(engine, q.consumer("a"));
  for (int i = 0; i < 5; ++i) c.poll();
  const auto m = c.metrics();
  EXPECT_EQ(m.malformed_copies, 6u);
  EXPECT_EQ(m.accepted, 4u);
  EXPECT_EQ(m.duplicates, 2u);  // the last two repeat events 0 and 1
  EXPECT_EQ(m.waiting_copies, 0u);
  EXPECT_EQ(m.malformed, 0u);
  EXPECT_EQ(q.pending(0), 0);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_TRUE(engine.find_order(events[i].order).has_value());
}

TEST(RedisStreamConsumer, DeadConsumersPendingEntriesAreClaimedBySurvivor) {
  queue_fixture q(2);
  const auto events = created_orders(20);
  {
    auto producer = q.producer();
    for (const event& e : events) producer.add(e);
  }
  // The survivor first: a tracker takes a moment to build, and the idle
  // time below starts when node A reads.
  memory_storage store;
  tracker survivor(tracker_options{}, &store);
  auto o = q.consumer("b");
  o.claim_min_idle_ms = 400;
  redis_stream_consumer b(survivor, o);
  gated_storage dead_store;  // node A never gets anything durable
  tracker dead_engine(tracker_options{}, &dead_store);
  {
    redis_stream_consumer a(dead_engine, q.consumer("a"));
    std::size_t read = 0;
    for (int i = 0; i < 10 && read < 20; ++i) read += a.poll();
    ASSERT_EQ(read, 20u);
  }  // "killed": gone without acknowledging
  EXPECT_EQ(q.pending_all(), 20);
  EXPECT_EQ(b.claim(), 0u);  // not idle long enough yet
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  EXPECT_EQ(b.claim(), 20u);
  b.drain();
  EXPECT_EQ(b.metrics().claimed, 20u);
  EXPECT_EQ(b.metrics().accepted, 20u);
  EXPECT_EQ(q.pending_all(), 0);
  for (const event& e : events) EXPECT_TRUE(survivor.find_order(e.order)) << e.order.str();
  dead_store.open();
}

TEST(RedisStreamConsumer, RestartedConsumerReadsItsPendingEntriesAsDuplicates) {
  queue_fixture q(1);
  {
    auto producer = q.producer();
    for (const event& e : created_orders(8)) producer.add(e);
  }
  gated_storage store;
  tracker engine(tracker_options{}, &store);  // its state outlives the crashed consumer
  {
    redis_stream_consumer first(engine, q.consumer("a"));
    std::size_t read = 0;
    for (int i = 0; i < 10 && read < 8; ++i) read += first.poll();
    ASSERT_EQ(read, 8u);
  }
  EXPECT_EQ(q.pending(0), 8);
  store.open();
  redis_stream_consumer again(engine, q.consumer("a"));
  std::size_t read = 0;
  for (int i = 0; i < 10; ++i) read += again.poll();
  again.drain();
  EXPECT_EQ(read, 8u);
  EXPECT_EQ(again.metrics().duplicates, 8u);
  EXPECT_EQ(again.metrics().accepted, 0u);
  EXPECT_EQ(engine.metrics().duplicates, 8u);
  EXPECT_EQ(q.pending(0), 0);
}

TEST(RedisStreamConsumer, RandomisedCrashesLoseNothing) {
  // Seeded: consumers crash after random rounds (never acknowledging what
  // was not durable); the final state equals ingesting every event once.
  queue_fixture q(3);
  testing::event_builder b(now_ms() - 60'000);
  std::vector<event> events;
  for (int i = 0; i < 60; ++i) {
    const std::string o = "O" + std::to_string(i);
    events.push_back(b.created(o));
    events.push_back(b.paid(o));
    if (i % 3 == 0) events.push_back(b.cancelled(o));
  }
  {
    auto producer = q.producer();
    for (const event& e : events) producer.add(e);
  }
  tracker reference;
  for (const event& e : events) (void)reference.ingest(e);

  std::mt19937 rng(7);
  memory_storage store;
  tracker engine(tracker_options{}, &store);
  std::uint64_t duplicates = 0;
  for (int life = 0; life < 12; ++life) {
    auto o = q.consumer("n" + std::to_string(life % 2));
    o.batch_entries = 1 + rng() % 7;
    o.claim_min_idle_ms = 0;
    redis_stream_consumer c(engine, o);
    c.claim();
    const int rounds = static_cast<int>(rng() % 4);
    for (int r = 0; r < rounds; ++r) c.poll();
    if (rng() % 2) c.drain();  // sometimes a clean stop, otherwise a crash
    duplicates += c.metrics().duplicates;
  }
  {
    auto o = q.consumer("last");
    o.claim_min_idle_ms = 0;
    redis_stream_consumer c(engine, o);
    c.claim();
    for (int r = 0; r < 50; ++r) c.poll();
    c.drain();
  }
  EXPECT_EQ(q.pending_all(), 0);
  EXPECT_LE(duplicates, engine.metrics().duplicates);  // redelivery shows up as duplicates
  for (const event& e : events) {
    if (e.kind != event_kind::order_created) continue;
    const auto want = reference.find_order(e.order);
    const auto got = engine.find_order(e.order);
    ASSERT_TRUE(want && got);
    EXPECT_EQ(got->status, want->status) << e.order.str();
    EXPECT_EQ(got->version, want->version) << e.order.str();
  }
}

}  // namespace
}  // namespace xiaoxiang
