// A seeded random stream of 100,000 events of every kind — duplicates,
// reordering, illegal transitions, offline batches, bad fixes and restarts
// from SQLite — through the engine and through a simple oracle model. The
// two must agree on every result, and at the end on states, versions,
// stored records and published messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <unistd.h>

#include "event_builder.hpp"
#include "recording_publisher.hpp"
#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"

namespace xiaoxiang {
namespace {

using testing::make_id;

// The oracle: the rules of DESIGN.md and the tracker's documented filters,
// written the plain way (unbounded sets, no partitions, no caches).
struct oracle {
  struct order_state {
    order_status status = order_status::pending_payment;
    std::uint64_t version = 0;
    std::string rider;
    picking_stage stage = picking_stage::none;
    timestamp_ms assigned_at = 0;
  };
  struct rider_state {
    std::vector<std::string> orders;
    bool has_live = false;
    position_fix live;
    std::set<std::string> events;  // accepted position event ids (since restart)
    std::vector<position_fix> fixes;  // accepted fixes (since restart)
  };

  tracker_options options;
  std::map<std::string, order_state> orders;
  std::map<std::string, rider_state> riders;
  std::set<std::string> order_events;            // accepted order event ids
  std::set<std::string> recoverable_positions;   // position events that produced records
  std::map<errc, std::uint64_t> rejected;
  std::uint64_t accepted = 0, duplicates = 0;

  struct outcome {
    ingest_status status;
    errc code = errc::ok;
    std::uint64_t version = 0;         // for single-order events
    std::uint32_t orders_updated = 0;  // for positions
  };

  bool has_fix(const rider_state& r, const position_fix& f) const {
    return std::find(r.fixes.begin(), r.fixes.end(), f) != r.fixes.end();
  }
  bool too_fast(const position_fix& a, const position_fix& b) const {
    const double metres = haversine_m(a.point, b.point);
    const double seconds = std::abs(static_cast<double>(b.time - a.time)) / 1000.0;
    if (seconds <= 0) return metres > 0;
    return metres / seconds * 3.6 > options.max_speed_kmh;
  }
  errc check_fix(const position_fix& f, timestamp_ms now) const {
    if (const errc e = check_point(f.point); e != errc::ok) return e;
    if (f.point.lon == 0 && f.point.lat == 0) return errc::position_null_island;
    if (f.time > now + options.max_future_skew_ms) return errc::position_in_future;
    if (f.time < now - options.max_position_age_ms) return errc::position_too_old;
    return errc::ok;
  }

  outcome reject(errc code) {
    ++rejected[code];
    return {ingest_status::rejected, code};
  }
  outcome dup() {
    ++duplicates;
    return {ingest_status::duplicate, errc::duplicate_event};
  }

  // Applies sorted, accepted fixes to the rider's orders.
  std::uint32_t apply(rider_state& r, const std::string& rider, const std::vector<position_fix>& fixes,
                      const std::string& event_id) {
    std::uint32_t updated = 0;
    for (const std::string& o : r.orders) {
      order_state& s = orders[o];
      if (s.status != order_status::delivering || s.rider != rider) continue;
      bool any = false;
      for (const position_fix& f : fixes) {
        if (f.time < s.assigned_at) continue;
        ++s.version;
        recoverable_positions.insert(event_id);
        any = true;
      }
      updated += any ? 1 : 0;
    }
    return updated;
  }

  outcome ingest(const event& e, timestamp_ms now) {
    const std::string eid = e.id.str();
    if (e.kind == event_kind::rider_position || e.kind == event_kind::position_batch) {
      rider_state& r = riders[e.rider.str()];
      std::vector<position_fix> fixes;
      if (e.kind == event_kind::rider_position) {
        const position_fix f{e.time, e.position};
        if (const errc c = check_fix(f, now); c != errc::ok) return reject(c);
        if (r.events.count(eid) || recoverable_positions.count(eid)) return dup();
        if (has_fix(r, f)) return reject(errc::position_duplicate_fix);
        if (r.has_live && f.time >= r.live.time && too_fast(r.live, f))
          return reject(errc::position_too_fast);
        fixes.push_back(f);
      } else {
        if (r.events.count(eid) || recoverable_positions.count(eid)) return dup();
        std::vector<position_fix> sorted = e.fixes;
        std::stable_sort(sorted.begin(), sorted.end(),
                         [](const position_fix& a, const position_fix& b) { return a.time < b.time; });
        for (const position_fix& f : sorted) {
          errc c = check_fix(f, now);
          if (c == errc::ok && has_fix(r, f)) c = errc::position_duplicate_fix;
          if (c == errc::ok && !fixes.empty() && fixes.back() == f) c = errc::position_duplicate_fix;
          if (c == errc::ok && !fixes.empty() && too_fast(fixes.back(), f)) c = errc::position_too_fast;
          if (c != errc::ok) {
            ++rejected[c];
            continue;
          }
          fixes.push_back(f);
        }
        if (fixes.empty()) return reject(errc::invalid_event);
      }
      const std::uint32_t updated = apply(r, e.rider.str(), fixes, eid);
      r.events.insert(eid);
      // The engine documents that it remembers a rider's last 32 fixes.
      r.fixes.insert(r.fixes.end(), fixes.begin(), fixes.end());
      if (r.fixes.size() > 32) r.fixes.erase(r.fixes.begin(), r.fixes.end() - 32);
      if (!r.has_live || fixes.back().time > r.live.time) {
        r.live = fixes.back();
        r.has_live = true;
      }
      ++accepted;
      return {ingest_status::accepted, errc::ok, 0, updated};
    }

    if (e.kind == event_kind::picking_stage &&
        (e.stage < picking_stage::task_created || e.stage > picking_stage::handed_over))
      return reject(errc::invalid_picking_stage);
    const std::string oid = e.order.str();
    auto it = orders.find(oid);
    if (e.kind == event_kind::order_created) {
      if (it != orders.end()) return order_events.count(eid) ? dup() : reject(errc::order_exists);
      orders[oid].version = 1;
      order_events.insert(eid);
      ++accepted;
      return {ingest_status::accepted, errc::ok, 1};
    }
    if (it == orders.end()) return reject(errc::unknown_order);
    order_state& s = it->second;
    if (order_events.count(eid)) return dup();
    order_status next = s.status;
    switch (e.kind) {
      case event_kind::order_paid: next = order_status::paid; break;
      case event_kind::rider_assigned: next = order_status::delivering; break;
      case event_kind::order_delivered: next = order_status::completed; break;
      case event_kind::order_cancelled: next = order_status::cancelled; break;
      default: break;
    }
    if (e.kind == event_kind::picking_stage) {
      if (is_terminal(s.status)) return reject(errc::order_terminal);
      if (s.status != order_status::paid || e.stage <= s.stage)
        return reject(errc::invalid_picking_stage);
      s.stage = e.stage;
    } else {
      if (const errc t = check_transition(s.status, next); t != errc::ok) return reject(t);
      if (e.kind == event_kind::order_delivered && e.rider.str() != s.rider)
        return reject(errc::rider_not_assigned);
      if (e.kind == event_kind::rider_assigned) {
        s.rider = e.rider.str();
        s.assigned_at = e.time;
        auto& list = riders[s.rider].orders;
        if (std::find(list.begin(), list.end(), oid) == list.end()) list.push_back(oid);
      }
      if (is_terminal(next) && s.status == order_status::delivering) {
        auto& list = riders[s.rider].orders;
        list.erase(std::remove(list.begin(), list.end(), oid), list.end());
      }
      s.status = next;
    }
    ++s.version;
    order_events.insert(eid);
    ++accepted;
    return {ingest_status::accepted, errc::ok, s.version};
  }

  // What a restart forgets: the riders' live fixes and fix memory; what it
  // keeps: orders (from storage) and the event ids of their records.
  void restart() {
    for (auto& [id, r] : riders) {
      r.has_live = false;
      r.fixes.clear();
      r.events.clear();
    }
  }
};

class generator {
 public:
  explicit generator(std::uint64_t seed) : rng_(seed) {}

  std::mt19937_64& rng() { return rng_; }
  double uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng_); }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(double p) { return uniform(0, 1) < p; }

 private:
  std::mt19937_64 rng_;
};

TEST(TrackerOracle, HundredThousandRandomEventsAgreeWithTheOracle) {
  constexpr int kEvents = 100'000;
  constexpr int kRiders = 200;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("xiaoxiang-oracle-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db_path = (dir / "oracle.db").string();

  generator g(20261125);
  testing::event_builder b;
  manual_clock clock(b.time());
  testing::recording_publisher pub;
  oracle model;
  tracker_options options;
  options.order_partitions = 8;
  options.rider_partitions = 8;
  model.options = options;

  auto db = std::make_unique<sqlite_storage>(db_path);
  auto engine = std::make_unique<tracker>(options, db.get(), &pub, &clock);
  std::vector<tracker_metrics> finished;  // metrics of engines before restarts

  std::vector<std::string> order_ids;
  std::vector<event> recent;  // candidates for redelivery
  std::map<std::string, position_fix> rider_pos;  // generator's idea of where riders are
  std::map<std::string, std::vector<position_fix>> rider_recent;
  std::map<std::string, timestamp_ms> rider_last;
  int restarts = 0;
  std::uint64_t mismatches = 0;

  auto rider_name = [](int i) { return "R" + std::to_string(i); };
  auto remember = [&recent](const event& e) {
    recent.push_back(e);
    if (recent.size() > 64) recent.erase(recent.begin());
  };

  for (int step = 0; step < kEvents; ++step) {
    b.advance(static_cast<duration_ms>(g.uniform(200, 800)));
    clock.set(b.time());
    event e;
    const double roll = g.uniform(0, 1);
    if (step > 0 && step % 20'000 == 0) {
      // Restart: everything accepted is flushed, the engine is rebuilt from SQLite.
      engine->flush();
      finished.push_back(engine->metrics());
      engine.reset();
      db.reset();
      db = std::make_unique<sqlite_storage>(db_path);
      engine = std::make_unique<tracker>(options, db.get(), &pub, &clock);
      model.restart();
      rider_recent.clear();
      ++restarts;
    }
    if (roll < 0.10 || order_ids.empty()) {
      const std::string o = "O" + std::to_string(order_ids.size());
      order_ids.push_back(o);
      e = b.created(o, "U" + std::to_string(g.pick(50)));
    } else if (roll < 0.42) {
      // The next logical step of a random order (sometimes out of turn).
      const std::string& o = order_ids[g.pick(static_cast<int>(order_ids.size()))];
      const auto it = model.orders.find(o);
      const order_status s = it == model.orders.end() ? order_status::pending_payment : it->second.status;
      const int stage = it == model.orders.end() ? 0 : static_cast<int>(it->second.stage);
      const double r = g.uniform(0, 1);
      if (r < 0.05) {
        e = b.cancelled(o);
      } else if (s == order_status::pending_payment) {
        e = b.paid(o);
      } else if (s == order_status::paid) {
        if (stage < 5 && r < 0.7)
          e = b.picking(o, static_cast<picking_stage>(stage + 1 + (g.chance(0.1) ? 1 : 0) - (g.chance(0.1) ? 1 : 0)));
        else
          e = b.assigned(o, rider_name(g.pick(kRiders)));
      } else if (s == order_status::delivering) {
        e = b.delivered(o, g.chance(0.95) ? it->second.rider : rider_name(g.pick(kRiders)));
      } else {
        e = g.chance(0.5) ? b.paid(o) : b.delivered(o, "R0");  // terminal: rejected
      }
    } else if (roll < 0.80) {
      // A live position, mostly plausible, sometimes each kind of bad fix.
      const std::string r = rider_name(g.pick(kRiders));
      position_fix& p = rider_pos[r];
      if (p.point.lon == 0) p.point = {g.uniform(116.30, 116.50), g.uniform(39.85, 40.00)};
      if (rider_last.count(r) && b.time() - rider_last[r] < 5'000) {
        --step;  // too soon for this rider: pick something else
        continue;
      }
      geo_point next{p.point.lon + g.uniform(-0.001, 0.001), p.point.lat + g.uniform(-0.001, 0.001)};
      timestamp_ms t = b.time();
      const double bad = g.uniform(0, 1);
      if (bad < 0.01) next.lon = std::numeric_limits<double>::quiet_NaN();
      else if (bad < 0.02) next.lat = 95;
      else if (bad < 0.03) next = {0, 0};
      else if (bad < 0.04) t += 5 * 60'000;  // future
      else if (bad < 0.05) t -= 30LL * 3600'000;  // too old
      else if (bad < 0.06) next.lon += 0.5;  // ~40 km: too fast
      else if (bad < 0.08 && !rider_recent[r].empty()) {
        // The same fix again under a new event id.
        const auto& list = rider_recent[r];
        const position_fix again = list[g.pick(static_cast<int>(std::min<std::size_t>(list.size(), 4))) + (list.size() > 4 ? list.size() - 4 : 0)];
        next = again.point;
        t = again.time;
      }
      e = b.position(r, next, t);
      if (bad >= 0.06) {
        p = {t, next};
        rider_last[r] = b.time();
        rider_recent[r].push_back({t, next});
      }
    } else if (roll < 0.86) {
      // An offline batch: fixes from the last minutes, shuffled, partly repeated.
      const std::string r = rider_name(g.pick(kRiders));
      position_fix& p = rider_pos[r];
      if (p.point.lon == 0) p.point = {g.uniform(116.30, 116.50), g.uniform(39.85, 40.00)};
      std::vector<position_fix> fixes;
      geo_point at = p.point;
      const int n = 2 + g.pick(7);
      timestamp_ms t = b.time() - 60'000 - g.pick(120) * 1000;
      for (int i = 0; i < n; ++i) {
        at = {at.lon + g.uniform(-0.0001, 0.0001), at.lat + g.uniform(-0.0001, 0.0001)};
        t += 3'000 + g.pick(3) * 1000;
        fixes.push_back({t, at});
      }
      if (g.chance(0.2)) fixes.push_back(fixes[static_cast<std::size_t>(g.pick(n))]);
      if (g.chance(0.1)) fixes.push_back({t + 1000, {0, 0}});
      std::shuffle(fixes.begin(), fixes.end(), g.rng());
      e = b.batch(r, fixes);
      rider_last[r] = b.time();
    } else if (roll < 0.95 && !recent.empty()) {
      e = recent[static_cast<std::size_t>(g.pick(static_cast<int>(recent.size())))];  // redelivery
    } else if (roll < 0.97) {
      e = b.paid("X" + std::to_string(step));  // an order nobody created
    } else {
      // Any kind for any order: mostly illegal transitions.
      const std::string& o = order_ids[g.pick(static_cast<int>(order_ids.size()))];
      switch (g.pick(4)) {
        case 0: e = b.paid(o); break;
        case 1: e = b.assigned(o, rider_name(g.pick(kRiders))); break;
        case 2: e = b.delivered(o, rider_name(g.pick(kRiders))); break;
        default: e = b.picking(o, static_cast<picking_stage>(1 + g.pick(5))); break;
      }
    }

    const oracle::outcome want = model.ingest(e, clock.now());
    const ingest_result got = engine->ingest(e);
    const bool positional =
        e.kind == event_kind::rider_position || e.kind == event_kind::position_batch;
    const bool same_effect = positional ? got.orders_updated == want.orders_updated
                                        : got.version == want.version;
    if (got.status != want.status || (want.status != ingest_status::accepted && got.code != want.code) ||
        (want.status == ingest_status::accepted && !same_effect)) {
      if (++mismatches <= 10) {
        ADD_FAILURE() << "step " << step << " " << event_kind_name(e.kind) << " " << e.id.str()
                      << " order " << e.order.str() << " rider " << e.rider.str()
                      << ": engine " << got.message() << ", oracle "
                      << ingest_status_name(want.status) << " " << errc_name(want.code) << " v"
                      << want.version << " orders " << want.orders_updated << " (engine "
                      << got.orders_updated << ")";
      }
    }
    if (got.status != ingest_status::rejected) remember(e);
    if (step % 2000 == 0) engine->flush();  // keeps the write-behind backlog small
  }
  engine->flush();
  finished.push_back(engine->metrics());
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(restarts, 4);

  // Counters, summed over the engines between restarts.
  std::uint64_t accepted = 0, duplicates = 0;
  std::map<errc, std::uint64_t> rejected;
  for (const tracker_metrics& m : finished) {
    accepted += m.accepted;
    duplicates += m.duplicates;
    for (const auto& [code, n] : m.rejected_by_code) rejected[code] += n;
  }
  EXPECT_EQ(accepted, model.accepted);
  EXPECT_EQ(duplicates, model.duplicates);
  EXPECT_EQ(rejected, model.rejected);
  EXPECT_GT(model.duplicates, 1000u);
  EXPECT_GT(model.rejected.size(), 8u);

  // States, versions, stored records and published messages.
  std::uint64_t delivered = 0;
  for (const auto& [id, want] : model.orders) {
    const order_id oid = make_id(id);
    const auto stored = db->load_order(oid);
    ASSERT_TRUE(stored) << id;
    EXPECT_EQ(stored->status, want.status) << id;
    EXPECT_EQ(stored->version, want.version) << id;
    const auto records = db->records_since(oid, 0);
    ASSERT_EQ(records.size(), want.version) << id;
    for (std::size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].version, i + 1) << id;
    const auto path = db->trajectory(oid);
    EXPECT_TRUE(std::is_sorted(path.begin(), path.end(), [](const auto& a, const auto& c) {
      return a.create_time < c.create_time;
    })) << id;
    EXPECT_EQ(pub.changes(id).size(), want.version) << id;
    if (const auto snap = engine->snapshot(oid)) {
      EXPECT_EQ(snap->version, want.version) << id;
    }
    if (want.status == order_status::completed) ++delivered;
  }
  EXPECT_TRUE(pub.gaps().empty()) << pub.gaps().front();
  EXPECT_GT(delivered, 100u);
  engine.reset();
  db.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xiaoxiang
