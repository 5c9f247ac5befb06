#include "xiaoxiang/transport/broker.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "transport_test_util.hpp"
#include "xiaoxiang/transport/binary_codec.hpp"

namespace xiaoxiang {
namespace {

using testing::make_id;

struct received {
  std::string topic, body, binary;
  std::uint64_t version;
  message_kind kind;
};

// Collects what a subscription receives.
struct recorder {
  std::vector<received> got;
  message_callback callback() {
    return [this](const message_view& m) {
      got.push_back({std::string(m.topic), std::string(m.body), std::string(m.binary), m.version,
                     m.kind});
    };
  }
  std::vector<std::uint64_t> versions() const {
    std::vector<std::uint64_t> v;
    for (const auto& r : got) v.push_back(r.version);
    return v;
  }
};

// An order that the tests move through versions 1..n, each a position change.
struct order_feed {
  tracking_state s;
  explicit order_feed(std::string_view id_text) {
    s.order = make_id(id_text);
    s.user = make_id("U1");
    s.warehouse = make_id("W1");
  }
  void next(broker& b, std::uint32_t changed = field::position) {
    ++s.version;
    s.position = {116.3 + 1e-4 * static_cast<double>(s.version), 39.9};
    s.has_position = true;
    b.publish(s, changed);
  }
};

subscription must(result<subscription> r) {
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? std::move(r.value()) : subscription{};
}

TEST(Broker, OrderTopic) {
  EXPECT_EQ(order_topic(make_id("O1")), "/topic/orders/O1");
  EXPECT_STREQ(riders_topic, "/topic/riders");
}

TEST(Broker, RejectsBadTopics) {
  broker b;
  auto r = b.subscribe("/topic/users/U1", std::nullopt, [](const message_view&) {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::invalid_field);
  EXPECT_STREQ(r.field(), "topic");
  r = b.subscribe("/topic/orders/", std::nullopt, [](const message_view&) {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::empty_id);
  EXPECT_STREQ(r.field(), "orderId");
  r = b.subscribe("/topic/orders/a b", std::nullopt, [](const message_view&) {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::invalid_id_character);
  EXPECT_STREQ(r.field(), "orderId");
  r = b.subscribe("/topic/orders/" + std::string(33, 'x'), std::nullopt, [](const message_view&) {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::id_too_long);
}

TEST(Broker, DeliversDeltasToSubscribersOfTheOrderOnly) {
  broker b;
  recorder r1, r2;
  auto s1 = must(b.subscribe("/topic/orders/O1", std::nullopt, r1.callback()));
  auto s2 = must(b.subscribe("/topic/orders/O2", std::nullopt, r2.callback()));
  order_feed o1("O1");
  o1.next(b, field::all);
  o1.next(b);
  ASSERT_EQ(r1.versions(), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(r2.got.empty());
  EXPECT_EQ(r1.got[1].topic, "/topic/orders/O1");
  EXPECT_EQ(r1.got[1].kind, message_kind::delta);
  const auto d = decode_update_json(r1.got[1].body);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->changed, field::position);
  EXPECT_EQ(d->state.version, 2u);
  EXPECT_TRUE(r1.got[1].binary.empty());  // binary not asked for
}

TEST(Broker, EncodesOnceWhateverTheNumberOfSubscribers) {
  broker b;
  std::vector<recorder> recs(10);
  std::vector<subscription> subs;
  for (auto& r : recs) subs.push_back(must(b.subscribe("/topic/orders/O1", 0, r.callback())));
  order_feed o("O1");
  const auto before = b.metrics();
  o.next(b);
  const auto after = b.metrics();
  EXPECT_EQ(after.encodes - before.encodes, 1u);
  EXPECT_EQ(after.deliveries - before.deliveries, 10u);
  EXPECT_EQ(after.published - before.published, 1u);
  EXPECT_EQ(after.subscriptions, 10u);
  for (const auto& r : recs) ASSERT_EQ(r.got.size(), 1u);
  // Every subscriber saw the very same bytes.
  for (const auto& r : recs) EXPECT_EQ(r.got[0].body, recs[0].got[0].body);
}

TEST(Broker, NoSinceGetsASnapshotFirst) {
  broker b;
  order_feed o("O1");
  for (int i = 0; i < 5; ++i) o.next(b);
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O1", std::nullopt, r.callback()));
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].kind, message_kind::snapshot);
  EXPECT_EQ(r.got[0].version, 5u);
  const auto d = decode_update_json(r.got[0].body);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, message_kind::snapshot);
  o.next(b);
  ASSERT_EQ(r.versions(), (std::vector<std::uint64_t>{5, 6}));
  EXPECT_EQ(r.got[1].kind, message_kind::delta);
  EXPECT_EQ(b.metrics().snapshots_sent, 1u);
}

TEST(Broker, SinceVersionReplaysTheMissedDeltas) {
  broker b;
  order_feed o("O1");
  for (int i = 0; i < 10; ++i) o.next(b);
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O1", 6, r.callback()));
  ASSERT_EQ(r.versions(), (std::vector<std::uint64_t>{7, 8, 9, 10}));
  for (const auto& m : r.got) EXPECT_EQ(m.kind, message_kind::delta);
  EXPECT_EQ(b.metrics().resumed_from_history, 4u);
  o.next(b);
  EXPECT_EQ(r.versions().back(), 11u);
}

TEST(Broker, SinceCurrentVersionGetsOnlyLiveDeltas) {
  broker b;
  order_feed o("O1");
  for (int i = 0; i < 3; ++i) o.next(b);
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O1", 3, r.callback()));
  EXPECT_TRUE(r.got.empty());
  o.next(b);
  EXPECT_EQ(r.versions(), (std::vector<std::uint64_t>{4}));
}

TEST(Broker, SinceOlderThanTheHistoryGetsASnapshot) {
  broker_options opt;
  opt.history_messages = 4;
  broker b(opt);
  order_feed o("O1");
  for (int i = 0; i < 10; ++i) o.next(b);
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O1", 5, r.callback()));  // needs 6..10, holds 7..10
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].kind, message_kind::snapshot);
  EXPECT_EQ(r.got[0].version, 10u);
  recorder r2;
  auto s2 = must(b.subscribe("/topic/orders/O1", 6, r2.callback()));  // 7..10 held
  EXPECT_EQ(r2.versions(), (std::vector<std::uint64_t>{7, 8, 9, 10}));
}

TEST(Broker, SinceNewerThanTheBrokerGetsASnapshot) {
  broker b;
  order_feed o("O1");
  for (int i = 0; i < 3; ++i) o.next(b);
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O1", 99, r.callback()));
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].kind, message_kind::snapshot);
}

TEST(Broker, HistoryByteCapEvictsOldestAndFallsBackToSnapshot) {
  broker_options opt;
  opt.history_messages = 1000;
  opt.history_bytes = 600;  // a position delta is ~90 bytes: about 6 fit
  broker b(opt);
  order_feed o("O1");
  for (int i = 0; i < 50; ++i) o.next(b);
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O1", 46, r.callback()));
  EXPECT_EQ(r.versions(), (std::vector<std::uint64_t>{47, 48, 49, 50}));
  recorder old;
  auto s2 = must(b.subscribe("/topic/orders/O1", 30, old.callback()));
  ASSERT_EQ(old.got.size(), 1u);
  EXPECT_EQ(old.got[0].kind, message_kind::snapshot);
  // A message larger than the whole cap empties the history (no crash, no gap).
  o.s.address = std::string(250, 'x');
  o.next(b, field::address);
  o.s.address = std::string(250, 'y');
  o.next(b, field::address);
  o.s.address = std::string(250, 'z');
  o.next(b, field::address);
  recorder after;
  auto s3 = must(b.subscribe("/topic/orders/O1", 50, after.callback()));
  ASSERT_FALSE(after.got.empty());
  EXPECT_EQ(after.got.back().version, 53u);
}

TEST(Broker, SubscribingBeforeTheOrderExistsStartsAtItsFirstVersion) {
  broker b;
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O9", std::nullopt, r.callback()));
  EXPECT_TRUE(r.got.empty());
  order_feed o("O9");
  o.next(b, field::all);
  o.next(b);
  EXPECT_EQ(r.versions(), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(r.got[0].kind, message_kind::delta);
}

TEST(Broker, AVersionJumpIsToldAsASnapshot) {
  broker b;
  order_feed o("O1");
  o.next(b);
  o.next(b);
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O1", 2, r.callback()));
  o.s.version += 5;  // the engine restarted or a publish was lost: 8 after 2
  o.next(b);
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].version, 8u);
  EXPECT_EQ(r.got[0].kind, message_kind::snapshot);
  o.next(b);
  EXPECT_EQ(r.got[1].kind, message_kind::delta);
  // The history restarted at 8: resuming from 2 needs a snapshot.
  recorder r2;
  auto s2 = must(b.subscribe("/topic/orders/O1", 2, r2.callback()));
  ASSERT_EQ(r2.got.size(), 1u);
  EXPECT_EQ(r2.got[0].kind, message_kind::snapshot);
  recorder r3;
  auto s3 = must(b.subscribe("/topic/orders/O1", 7, r3.callback()));
  EXPECT_EQ(r3.versions(), (std::vector<std::uint64_t>{8, 9}));
}

TEST(Broker, SubscriberWithAnUnknownBaselineGetsASnapshotOnFirstPublish) {
  broker b;
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O1", 4, r.callback()));  // claims 4, broker knows nothing
  order_feed o("O1");
  o.next(b);  // version 1
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].kind, message_kind::snapshot);
}

TEST(Broker, UnsubscribeStopsDelivery) {
  broker b;
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O1", 0, r.callback()));
  order_feed o("O1");
  o.next(b);
  EXPECT_TRUE(s.active());
  s.unsubscribe();
  EXPECT_FALSE(s.active());
  o.next(b);
  EXPECT_EQ(r.got.size(), 1u);
  EXPECT_EQ(b.metrics().subscriptions, 0u);
  s.unsubscribe();  // twice is fine
  {
    auto scoped = must(b.subscribe("/topic/orders/O1", std::nullopt, r.callback()));
    EXPECT_EQ(b.metrics().subscriptions, 1u);
  }
  EXPECT_EQ(b.metrics().subscriptions, 0u);
  EXPECT_EQ(b.metrics().subscriptions_total, 2u);
}

TEST(Broker, CallbackMayUnsubscribeItself) {
  broker b;
  auto handle = std::make_shared<subscription>();
  int calls = 0;
  recorder other;
  auto keep = must(b.subscribe("/topic/orders/O1", 0, other.callback()));
  *handle = must(b.subscribe("/topic/orders/O1", 0, [&, handle_ptr = handle.get()](const message_view&) {
    ++calls;
    handle_ptr->unsubscribe();
  }));
  order_feed o("O1");
  o.next(b);
  o.next(b);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(other.got.size(), 2u);  // the others are not disturbed
}

TEST(Broker, CallbackMayDestroyItsOwnHandle) {
  broker b;
  auto holder = std::make_unique<subscription>();
  int calls = 0;
  *holder = must(b.subscribe("/topic/orders/O1", 0, [&](const message_view&) {
    ++calls;
    holder.reset();  // destroys the handle (and so the subscription) from inside
  }));
  order_feed o("O1");
  o.next(b);
  o.next(b);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(holder, nullptr);
}

TEST(Broker, CallbackMayUnsubscribeDuringReplay) {
  broker b;
  order_feed o("O1");
  for (int i = 0; i < 5; ++i) o.next(b);
  int calls = 0;
  subscription* self = nullptr;
  subscription s;
  s = must(b.subscribe("/topic/orders/O1", 1, [&](const message_view&) {
    ++calls;
    if (self) self->unsubscribe();
  }));
  EXPECT_EQ(calls, 4);  // the replay runs before the handle exists
  self = &s;
  o.next(b);
  o.next(b);
  EXPECT_EQ(calls, 5);
}

TEST(Broker, CallbackMaySubscribeToAnotherOrder) {
  broker b;
  order_feed o2("O2");
  for (int i = 0; i < 3; ++i) o2.next(b);
  recorder inner;
  std::vector<subscription> made;
  auto s = must(b.subscribe("/topic/orders/O1", 0, [&](const message_view&) {
    if (made.empty()) made.push_back(must(b.subscribe("/topic/orders/O2", 1, inner.callback())));
  }));
  order_feed o1("O1");
  o1.next(b);
  EXPECT_EQ(inner.versions(), (std::vector<std::uint64_t>{2, 3}));
}

TEST(Broker, ThrowingCallbackIsCountedAndSkipped) {
  broker b;
  recorder r;
  auto bad = must(b.subscribe("/topic/orders/O1", 0, [](const message_view&) {
    throw std::runtime_error("socket gone");
  }));
  auto good = must(b.subscribe("/topic/orders/O1", 0, r.callback()));
  order_feed o("O1");
  o.next(b);
  EXPECT_EQ(r.got.size(), 1u);
  EXPECT_EQ(b.metrics().callback_failures, 1u);
}

TEST(Broker, SubscriptionMayOutliveTheBroker) {
  subscription s;
  {
    broker b;
    s = must(b.subscribe("/topic/orders/O1", 0, [](const message_view&) {}));
  }
  EXPECT_TRUE(s.active());
  s.unsubscribe();
  EXPECT_FALSE(s.active());
}

TEST(Broker, SnapshotReturnsTheLatestState) {
  broker b;
  auto missing = b.snapshot(make_id("O1"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), errc::unknown_order);
  EXPECT_STREQ(missing.field(), "orderId");
  order_feed o("O1");
  o.next(b);
  o.next(b);
  const auto snap = b.snapshot(make_id("O1"));
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(*snap, o.s);
}

TEST(Broker, UpdatesSinceForLongPolling) {
  broker b;
  std::string out;
  auto missing = b.updates_since(make_id("O1"), 0, out);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), errc::unknown_order);
  EXPECT_STREQ(missing.field(), "orderId");
  order_feed o("O1");
  for (int i = 0; i < 5; ++i) o.next(b);

  auto up = b.updates_since(make_id("O1"), 5, out);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(out, "[]");
  EXPECT_EQ(up->latest_version, 5u);
  EXPECT_EQ(up->messages, 0u);

  out.clear();
  up = b.updates_since(make_id("O1"), 3, out);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->messages, 2u);
  EXPECT_FALSE(up->snapshot);
  const auto arr = boost::json::parse(out).as_array();
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0].at("version").as_int64(), 4);
  EXPECT_EQ(arr[1].at("version").as_int64(), 5);

  out.clear();
  up = b.updates_since(make_id("O1"), 9, out);  // newer than the broker: snapshot
  ASSERT_TRUE(up.ok());
  EXPECT_TRUE(up->snapshot);
  EXPECT_EQ(boost::json::parse(out).as_array()[0].at("type").as_string(), "snapshot");
}

TEST(Broker, ForgetDropsStateButKeepsSubscribers) {
  broker b;
  recorder r;
  auto s = must(b.subscribe("/topic/orders/O1", 0, r.callback()));
  order_feed o("O1");
  o.next(b);
  EXPECT_EQ(b.metrics().orders, 1u);
  b.forget(make_id("O1"));
  EXPECT_EQ(b.metrics().orders, 0u);
  EXPECT_EQ(b.metrics().forgotten, 1u);
  EXPECT_EQ(b.snapshot(make_id("O1")).error(), errc::unknown_order);
  b.forget(make_id("O1"));  // twice is fine
  b.forget(make_id("nope"));
  o.next(b);  // still delivered, continuing from the subscriber's version
  EXPECT_EQ(r.versions(), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(r.got[1].kind, message_kind::delta);
}

// A forgotten order's history buffers go to the shard's next new order: the
// new order must resume from its own messages only, never the old bytes.
TEST(Broker, ANewOrderReusingForgottenBuffersResumesFromItsOwnHistory) {
  broker_options opt;
  opt.shard_count = 1;  // every order in one shard, so the buffers are reused
  opt.history_messages = 8;
  opt.history_bytes = 1024;
  broker b(opt);
  order_feed old("OLD");
  for (int i = 0; i < 20; ++i) old.next(b);  // a full, wrapped history
  b.forget(make_id("OLD"));
  order_feed fresh("NEW");
  for (int i = 0; i < 3; ++i) fresh.next(b);
  recorder r;
  auto s = must(b.subscribe("/topic/orders/NEW", 1, r.callback()));
  ASSERT_EQ(r.versions(), (std::vector<std::uint64_t>{2, 3}));
  for (const auto& m : r.got) {
    EXPECT_EQ(m.kind, message_kind::delta);
    const auto body = boost::json::parse(m.body).as_object();
    EXPECT_EQ(body.at("orderId").as_string(), "NEW");
    EXPECT_EQ(static_cast<std::uint64_t>(body.at("version").as_int64()), m.version);
  }
  std::string out;
  auto up = b.updates_since(make_id("NEW"), 0, out);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->messages, 3u);
  EXPECT_FALSE(up->snapshot);
  EXPECT_EQ(out.find("OLD"), std::string::npos);
}

// Seeded: orders published, forgotten and re-created at random in one shard
// (buffers passed from order to order), against an oracle of the versions
// each order published since it was last forgotten. Resume from any version
// gets exactly the deltas the caps allow, or a snapshot.
TEST(Broker, RandomForgetAndReuseMatchesAnOracle) {
  broker_options opt;
  opt.shard_count = 1;
  opt.history_messages = 6;
  opt.history_bytes = 700;
  broker b(opt);
  std::mt19937_64 rng(20261208);
  std::vector<order_feed> feeds;
  std::vector<std::uint64_t> first_kept;  // oldest version published since the last forget
  for (int i = 0; i < 12; ++i) {
    feeds.emplace_back("R" + std::to_string(i));
    first_kept.push_back(1);
  }
  for (int step = 0; step < 20'000; ++step) {
    const std::size_t k = rng() % feeds.size();
    order_feed& f = feeds[k];
    if (rng() % 10 == 0) {
      b.forget(f.s.order);
      first_kept[k] = f.s.version + 1;  // the history restarts at the next version
      continue;
    }
    f.next(b);
    if (rng() % 4 != 0 || f.s.version < 2) continue;
    const std::uint64_t since = f.s.version - 1 - rng() % std::min<std::uint64_t>(f.s.version - 1, 9);
    std::string out;
    auto up = b.updates_since(f.s.order, since, out);
    ASSERT_TRUE(up.ok());
    ASSERT_EQ(up->latest_version, f.s.version);
    const auto arr = boost::json::parse(out).as_array();
    if (up->snapshot) {
      ASSERT_EQ(arr.size(), 1u);
      // A snapshot only when the history could not reach back: past the
      // last forget, or beyond what the caps hold (at least 4 messages of
      // ~110 bytes fit in 700 whatever the wrap).
      EXPECT_TRUE(since + 1 < first_kept[k] || f.s.version - since > 4)
          << "order " << k << " since " << since << " at " << f.s.version;
      continue;
    }
    ASSERT_GE(since + 1, first_kept[k]);
    ASSERT_EQ(arr.size(), f.s.version - since);
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const auto& m = arr[i].as_object();
      ASSERT_EQ(static_cast<std::uint64_t>(m.at("version").as_int64()), since + 1 + i);
      ASSERT_EQ(m.at("orderId").as_string(), f.s.order.view());
    }
  }
}

TEST(Broker, TerminalOrdersAreForgottenAfterTheConfiguredTime) {
  manual_clock clk(1'000'000);
  broker_options opt;
  opt.forget_terminal_after_ms = 60'000;
  opt.time_source = &clk;
  broker b(opt);
  order_feed done("O1"), live("O2");
  done.next(b);
  done.s.status = order_status::completed;
  done.next(b, field::status);
  live.next(b);
  clk.advance(59'999);
  EXPECT_EQ(b.sweep(), 0u);
  EXPECT_TRUE(b.snapshot(make_id("O1")).ok());
  clk.advance(1);
  EXPECT_EQ(b.sweep(), 1u);
  EXPECT_EQ(b.snapshot(make_id("O1")).error(), errc::unknown_order);
  EXPECT_TRUE(b.snapshot(make_id("O2")).ok());
  EXPECT_EQ(b.metrics().orders, 1u);

  // publish() sweeps its own shard as it goes.
  broker_options one_shard = opt;
  one_shard.shard_count = 1;
  broker b1(one_shard);
  order_feed a("A"), z("Z");
  a.s.status = order_status::cancelled;
  a.next(b1, field::status);
  clk.advance(60'000);
  z.next(b1);
  EXPECT_EQ(b1.snapshot(make_id("A")).error(), errc::unknown_order);
  EXPECT_EQ(b1.metrics().forgotten, 1u);
}

TEST(Broker, BinaryBodiesWhenAskedFor) {
  broker_options opt;
  opt.encode_binary = true;
  broker b(opt);
  recorder live, late;
  auto s = must(b.subscribe("/topic/orders/O1", 0, live.callback()));
  order_feed o("O1");
  o.next(b, field::all);
  o.next(b);
  EXPECT_EQ(b.metrics().encodes, 4u);  // JSON + binary per publish
  auto s2 = must(b.subscribe("/topic/orders/O1", 1, late.callback()));
  auto s3 = must(b.subscribe("/topic/orders/O1", std::nullopt, late.callback()));
  ASSERT_EQ(live.got.size(), 2u);
  ASSERT_EQ(late.got.size(), 2u);
  for (const auto* m : {&live.got[1], &late.got[0], &late.got[1]}) {
    const auto d = decode_update_binary(m->binary);
    ASSERT_TRUE(d.ok()) << d.message();
    EXPECT_EQ(d->state.version, m->version);
    EXPECT_EQ(d->kind, m->kind);
  }
  EXPECT_EQ(decode_update_binary(late.got[1].binary)->state, o.s);
}

TEST(Broker, RidersTopic) {
  broker b;
  recorder r;
  auto s = must(b.subscribe(riders_topic, std::nullopt, r.callback()));
  b.publish_rider(make_id("R1"), {1000, {116.4, 39.9}});
  order_feed o("O1");
  o.next(b);  // not on the riders topic
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].topic, "/topic/riders");
  EXPECT_NE(r.got[0].body.find("\"riderId\":\"R1\""), std::string::npos);
  EXPECT_EQ(b.metrics().rider_published, 1u);
  s.unsubscribe();
  b.publish_rider(make_id("R1"), {2000, {116.4, 39.9}});
  EXPECT_EQ(r.got.size(), 1u);
}

}  // namespace
}  // namespace xiaoxiang
