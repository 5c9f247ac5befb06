// Seeded random operation sequences against a simple oracle: many orders
// publish random change sets (with occasional version jumps and forgets)
// while subscribers join with random since-versions, unsubscribe (some from
// inside their own callback) and check everything they receive.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "transport_test_util.hpp"
#include "xiaoxiang/transport/binary_codec.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {
namespace {

using testing::make_id;
using testing::same_fields;

struct logged {
  tracking_state state;
  std::uint32_t changed;
};

struct order_model {
  tracking_state current;
  bool in_broker = false;             // the broker holds its state
  std::uint64_t history_start = 0;    // first version of the unbroken run the history holds
  std::map<std::uint64_t, logged> log;  // every published version
};

struct client {
  std::size_t order = 0;
  subscription sub;
  bool has_baseline = false;
  bool state_known = false;
  std::uint64_t version = 0;
  tracking_state state;
  std::size_t received = 0;
  std::size_t snapshots = 0;
  std::size_t leave_after = 0;  // 0: never; n: unsubscribes itself in its n-th live callback
  bool live = false;            // subscribe() returned: the handle is set
  std::size_t live_received = 0;
};

class broker_oracle_run {
 public:
  broker_oracle_run(std::uint64_t seed, std::size_t history, bool binary)
      : rng_(seed), history_(history), binary_(binary) {
    broker_options opt;
    opt.history_messages = history;
    opt.history_bytes = 1 << 20;  // large: the message bound alone decides, so it is predictable
    opt.shard_count = 4;
    opt.encode_binary = binary;
    opt.forget_terminal_after_ms = 1'000'000'000;
    b_ = std::make_unique<broker>(opt);
    orders_.resize(40);
    for (std::size_t i = 0; i < orders_.size(); ++i) {
      orders_[i].current.order = make_id("O" + std::to_string(i));
    }
  }

  void run(int steps) {
    for (int i = 0; i < steps && !::testing::Test::HasFatalFailure(); ++i) {
      const int op = uni(0, 99);
      if (op < 65) publish();
      else if (op < 80) subscribe();
      else if (op < 97) unsubscribe();
      else forget();
    }
    finish();
  }

 private:
  int uni(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  void publish() {
    const auto oi = static_cast<std::size_t>(uni(0, static_cast<int>(orders_.size()) - 1));
    order_model& o = orders_[oi];
    std::uint64_t step = 1;
    if (o.current.version > 0 && uni(0, 99) == 0) step += static_cast<std::uint64_t>(uni(1, 5));
    const std::uint32_t changed =
        o.current.version == 0 ? field::all
                               : static_cast<std::uint32_t>(uni(1, static_cast<int>(field::all)));
    testing::randomize_fields(o.current, changed, rng_);
    o.current.version += step;
    // The history holds an unbroken run: it restarts when the broker had no
    // state or the version does not follow.
    if (!o.in_broker || step != 1) o.history_start = o.current.version;
    o.in_broker = true;
    o.log[o.current.version] = {o.current, changed};
    publish_saw_snapshot_ = false;
    b_->publish(o.current, changed);
    ++expected_encodes_;
    if (binary_) ++expected_encodes_;
    if (publish_saw_snapshot_) expected_encodes_ += binary_ ? 2 : 1;
    ++publishes_;
  }

  void subscribe() {
    const auto oi = static_cast<std::size_t>(uni(0, static_cast<int>(orders_.size()) - 1));
    order_model& o = orders_[oi];
    const std::uint64_t v = o.current.version;
    std::optional<std::uint64_t> since;
    switch (uni(0, 5)) {
      case 0: since = std::nullopt; break;
      case 1: since = 0; break;
      case 2: since = v; break;
      case 3: since = v + static_cast<std::uint64_t>(uni(1, 3)); break;
      default: {
        const auto back = static_cast<std::uint64_t>(uni(0, 20));
        since = v > back ? v - back : 0;
      }
    }
    auto c = std::make_unique<client>();
    client* cp = c.get();
    cp->order = oi;
    cp->leave_after = uni(0, 9) == 0 ? static_cast<std::size_t>(uni(1, 5)) : 0;
    // What the client holds before anything arrives.
    if (since) {
      cp->has_baseline = true;
      cp->version = *since;
      if (*since == 0) {
        cp->state = tracking_state{};
        cp->state.order = o.current.order;
        cp->state_known = true;
      } else if (const auto it = o.log.find(*since); it != o.log.end()) {
        cp->state = it->second.state;  // as the client decoded it: 6 decimals
        cp->state.position = {testing::round6(cp->state.position.lon),
                              testing::round6(cp->state.position.lat)};
        cp->state_known = true;
      }
    } else if (!o.in_broker) {
      // Subscribing to an order the broker does not hold: baseline 0.
      cp->has_baseline = true;
      cp->version = 0;
      cp->state.order = o.current.order;
      cp->state_known = true;
    }

    // The oracle's expectation of what subscribe() replays.
    enum class want { nothing, replay, snapshot } expect = want::nothing;
    std::uint64_t replay_count = 0;
    if (o.in_broker) {
      if (!since) {
        expect = want::snapshot;
      } else if (*since == v) {
        expect = want::nothing;
      } else if (*since < v && *since + 1 >= o.history_start && v - *since <= history_) {
        expect = want::replay;
        replay_count = v - *since;
      } else {
        expect = want::snapshot;
      }
    }

    auto r = b_->subscribe(order_topic(o.current.order), since,
                           [this, cp](const message_view& m) { receive(*cp, m); });
    ASSERT_TRUE(r.ok()) << r.message();
    cp->sub = std::move(r.value());
    cp->live = true;
    if (expect == want::snapshot) {
      expected_encodes_ += binary_ ? 2 : 1;
      EXPECT_EQ(cp->snapshots, 1u);
      EXPECT_EQ(cp->received, 1u);
    } else if (expect == want::replay) {
      EXPECT_EQ(cp->snapshots, 0u);
      EXPECT_EQ(cp->received, replay_count)
          << "since " << *since << " v " << v << " start " << o.history_start;
    } else {
      EXPECT_EQ(cp->received, 0u);
    }
    clients_.push_back(std::move(c));
  }

  void receive(client& c, const message_view& m) {
    ++c.received;
    // The handle exists once subscribe() has returned (after the replay).
    if (c.live) {
      ++c.live_received;
      if (c.leave_after != 0 && c.live_received == c.leave_after) c.sub.unsubscribe();
      EXPECT_TRUE(c.leave_after == 0 || c.live_received <= c.leave_after)
          << "delivered after unsubscribe";
    }
    const order_model& o = orders_[c.order];
    EXPECT_EQ(m.topic, order_topic(o.current.order));
    const auto d = decode_update_json(m.body);
    ASSERT_TRUE(d.ok()) << d.message() << " in " << m.body;
    EXPECT_EQ(d->kind, m.kind);
    EXPECT_EQ(d->state.version, m.version);
    if (binary_) {
      const auto bd = decode_update_binary(m.binary);
      ASSERT_TRUE(bd.ok()) << bd.message();
      EXPECT_EQ(bd->changed, d->changed);
      EXPECT_EQ(bd->state.version, m.version);
    } else {
      EXPECT_TRUE(m.binary.empty());
    }
    const auto it = o.log.find(m.version);
    ASSERT_NE(it, o.log.end()) << "version never published: " << m.version;
    const logged& truth = it->second;
    if (m.kind == message_kind::snapshot) {
      ++c.snapshots;
      publish_saw_snapshot_ = true;
      EXPECT_EQ(d->changed, field::all);
      EXPECT_TRUE(same_fields(truth.state, d->state, field::all, true));
      c.state = d->state;
      c.state_known = true;
    } else {
      // A delta must continue the client's baseline exactly: no silent gap.
      ASSERT_TRUE(c.has_baseline) << "delta without a baseline";
      ASSERT_EQ(m.version, c.version + 1) << "gap in " << o.current.order.view();
      EXPECT_EQ(d->changed, truth.changed) << "a delta carries exactly the changed keys";
      EXPECT_TRUE(same_fields(truth.state, d->state, truth.changed, true));
      apply_delta(c.state, d->state, d->changed);
      if (d->changed == field::all) c.state_known = true;
      if (c.state_known) {
        EXPECT_TRUE(same_fields(truth.state, c.state, field::all, true));
      }
    }
    c.has_baseline = true;
    c.version = m.version;
  }

  void unsubscribe() {
    if (clients_.empty()) return;
    const auto i = static_cast<std::size_t>(uni(0, static_cast<int>(clients_.size()) - 1));
    clients_[i]->sub.unsubscribe();
    if (uni(0, 3) != 0) clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void forget() {
    const auto oi = static_cast<std::size_t>(uni(0, static_cast<int>(orders_.size()) - 1));
    b_->forget(orders_[oi].current.order);
    orders_[oi].in_broker = false;
  }

  void finish() {
    // Every client still subscribed has caught up with its order.
    for (const auto& c : clients_) {
      if (!c->sub.active()) continue;
      const order_model& o = orders_[c->order];
      if (c->received == 0) continue;  // e.g. subscribed since v with nothing after
      EXPECT_EQ(c->version, o.current.version);
      if (c->state_known) {
        EXPECT_TRUE(same_fields(o.current, c->state, field::all, true));
      }
    }
    const broker_metrics m = b_->metrics();
    EXPECT_EQ(m.published, publishes_);
    EXPECT_EQ(m.encodes, expected_encodes_);
    std::size_t active = 0;
    for (const auto& c : clients_) active += c->sub.active() ? 1 : 0;
    EXPECT_LE(m.subscriptions, active + 0);
    std::size_t in_broker = 0;
    for (const auto& o : orders_) in_broker += o.in_broker ? 1 : 0;
    EXPECT_EQ(m.orders, in_broker);
    for (std::size_t i = 0; i < orders_.size(); ++i) {
      const auto snap = b_->snapshot(orders_[i].current.order);
      if (orders_[i].in_broker) {
        ASSERT_TRUE(snap.ok());
        EXPECT_EQ(*snap, orders_[i].current);
      } else {
        EXPECT_EQ(snap.error(), errc::unknown_order);
      }
    }
  }

  std::mt19937_64 rng_;
  std::size_t history_;
  bool binary_;
  std::unique_ptr<broker> b_;
  std::vector<order_model> orders_;
  std::vector<std::unique_ptr<client>> clients_;
  bool publish_saw_snapshot_ = false;
  std::uint64_t publishes_ = 0;
  std::uint64_t expected_encodes_ = 0;
};

TEST(BrokerOracle, SeededRandomSequences) {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    broker_oracle_run run(seed, 1 + seed % 16, seed % 3 == 0);
    run.run(4000);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace xiaoxiang
