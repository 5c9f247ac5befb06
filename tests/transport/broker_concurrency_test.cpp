// Two threads publish (each its own orders, as the publisher contract says)
// while two others subscribe with random since-versions, unsubscribe, take
// snapshots and long-poll. Every subscription checks that it never sees a
// gap, never runs two callbacks at once and decodes what the state at that
// version must be. Run it under the sanitizer build too.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "transport_test_util.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {
namespace {

using testing::make_id;

constexpr int kOrdersPerThread = 40;
constexpr std::uint64_t kVersions = 600;

// The state of order `o` at version v is a function of (o, v), so any
// message can be checked on its own.
tracking_state state_at(const order_id& o, std::uint64_t v) {
  tracking_state s;
  s.order = o;
  s.version = v;
  s.status = order_status::delivering;
  s.position = {116.0 + static_cast<double>(v) * 1e-4, 39.5 + static_cast<double>(o.hash() % 1000) * 1e-4};
  s.has_position = true;
  s.eta_seconds = static_cast<std::int32_t>(v);
  s.eta_p90_seconds = static_cast<std::int32_t>(v * 2);
  return s;
}

order_id order_name(int thread, int i) {
  return make_id("T" + std::to_string(thread) + "-O" + std::to_string(i));
}

struct watcher {
  order_id order;
  std::uint64_t last = 0;  // guarded by the broker: callbacks of one subscription are serial
  bool has_baseline = false;
  std::atomic<int> inside{0};
  std::atomic<bool> failed{false};
  std::string why;
  subscription sub;

  void fail(std::string text) {
    if (!failed.exchange(true)) why = std::move(text);
  }

  void on_message(const message_view& m) {
    if (inside.fetch_add(1) != 0) fail("two callbacks of one subscription at once");
    const auto d = decode_update_json(m.body);
    if (!d) {
      fail("undecodable: " + d.message());
    } else if (d->state.version != m.version) {
      fail("version mismatch");
    } else if (m.kind == message_kind::delta) {
      if (!has_baseline || m.version != last + 1)
        fail("gap: " + std::to_string(last) + " -> " + std::to_string(m.version));
      if (d->changed != (m.version == 1 ? field::all : field::position | field::eta))
        fail("wrong keys");
      if (d->state.eta_seconds != static_cast<std::int32_t>(m.version)) fail("wrong content");
    } else {
      const tracking_state want = state_at(order, m.version);
      if (!testing::same_fields(want, d->state, field::all, true)) fail("wrong snapshot");
    }
    last = m.version;
    has_baseline = true;
    inside.fetch_sub(1);
  }
};

TEST(BrokerConcurrency, TwoPublishersAndChurningSubscribers) {
  broker_options opt;
  opt.history_messages = 16;
  opt.shard_count = 8;
  broker b(opt);
  std::atomic<bool> publishing{true};
  std::atomic<std::uint64_t> rider_msgs{0};

  std::vector<std::thread> publishers;
  for (int t = 0; t < 2; ++t) {
    publishers.emplace_back([&b, t] {
      std::vector<order_id> orders;
      for (int i = 0; i < kOrdersPerThread; ++i) orders.push_back(order_name(t, i));
      for (std::uint64_t v = 1; v <= kVersions; ++v) {
        for (const order_id& o : orders) {
          b.publish(state_at(o, v), v == 1 ? field::all : field::position | field::eta);
        }
        b.publish_rider(make_id("R" + std::to_string(t)), {static_cast<timestamp_ms>(v), {116.4, 39.9}});
      }
    });
  }

  std::mutex kept_mu;
  std::vector<std::unique_ptr<watcher>> kept;  // subscriptions alive at the end
  std::vector<std::thread> subscribers;
  for (int t = 0; t < 2; ++t) {
    subscribers.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(t));
      std::vector<std::unique_ptr<watcher>> mine;
      auto riders = b.subscribe(riders_topic, std::nullopt,
                                [&](const message_view&) { rider_msgs.fetch_add(1); });
      ASSERT_TRUE(riders.ok());
      std::string poll;
      while (publishing.load()) {
        const order_id o = order_name(static_cast<int>(rng() % 2), static_cast<int>(rng() % kOrdersPerThread));
        auto w = std::make_unique<watcher>();
        w->order = o;
        std::optional<std::uint64_t> since;
        const auto snap = b.snapshot(o);
        const std::uint64_t now_v = snap ? snap->version : 0;
        if (!snap) {
          // The broker starts a subscriber of an order it does not hold at
          // baseline since.value_or(0).
          w->has_baseline = true;
        }
        if (rng() % 3 != 0) {
          since = now_v > 0 ? now_v - rng() % std::min<std::uint64_t>(now_v, 24) : 0;
          w->last = *since;
          w->has_baseline = true;
        }
        watcher* wp = w.get();
        auto r = b.subscribe(order_topic(o), since, [wp](const message_view& m) { wp->on_message(m); });
        ASSERT_TRUE(r.ok()) << r.message();
        w->sub = std::move(r.value());
        mine.push_back(std::move(w));
        poll.clear();
        (void)b.updates_since(o, now_v > 3 ? now_v - 3 : 0, poll);
        if (mine.size() > 30) {
          const std::size_t i = rng() % mine.size();
          mine[i]->sub.unsubscribe();  // waits for a callback running on a publisher
          EXPECT_FALSE(mine[i]->failed.load()) << mine[i]->why;
          mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      std::lock_guard lock(kept_mu);
      for (auto& w : mine) kept.push_back(std::move(w));
    });
  }

  for (auto& p : publishers) p.join();
  publishing = false;
  for (auto& s : subscribers) s.join();

  for (const auto& w : kept) {
    EXPECT_FALSE(w->failed.load()) << w->why;
    EXPECT_EQ(w->last, kVersions) << w->order.view();
    w->sub.unsubscribe();
  }
  const broker_metrics m = b.metrics();
  EXPECT_EQ(m.published, 2u * kOrdersPerThread * kVersions);
  EXPECT_EQ(m.rider_published, 2u * kVersions);
  EXPECT_GT(m.deliveries, 0u);
  EXPECT_EQ(m.subscriptions, 0u);  // every handle is gone
  std::printf("subscriptions %llu, deliveries %llu, snapshots %llu, resumed %llu, rider msgs %llu\n",
              static_cast<unsigned long long>(m.subscriptions_total),
              static_cast<unsigned long long>(m.deliveries),
              static_cast<unsigned long long>(m.snapshots_sent),
              static_cast<unsigned long long>(m.resumed_from_history),
              static_cast<unsigned long long>(rider_msgs.load()));
}

}  // namespace
}  // namespace xiaoxiang
