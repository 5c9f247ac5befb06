// Short constructors of events for tests.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "xiaoxiang/order/event.hpp"

namespace xiaoxiang::testing {

inline id make_id(const std::string& text) { return *id::make(text); }

// Builds events with fresh ids ("E1", "E2", ...) unless one is given.
class event_builder {
 public:
  explicit event_builder(timestamp_ms start = 1'764'000'000'000) : time_(start) {}

  timestamp_ms time() const { return time_; }
  void advance(duration_ms d) { time_ += d; }

  event base(event_kind kind) {
    event e;
    e.kind = kind;
    e.id = make_id("E" + std::to_string(++next_));
    e.time = time_;
    return e;
  }

  event created(const std::string& order, const std::string& user = "U1",
                const std::string& warehouse = "W1") {
    event e = base(event_kind::order_created);
    e.order = make_id(order);
    e.user = make_id(user);
    e.warehouse = make_id(warehouse);
    e.amount = 2350;
    e.origin = {116.40, 39.90};
    e.destination = {116.42, 39.91};
    e.address = "朝阳区 1号";
    e.promised_time = time_ + 30 * 60 * 1000;
    return e;
  }
  event paid(const std::string& order) {
    event e = base(event_kind::order_paid);
    e.order = make_id(order);
    return e;
  }
  event picking(const std::string& order, picking_stage stage, const std::string& warehouse = "W1") {
    event e = base(event_kind::picking_stage);
    e.order = make_id(order);
    e.warehouse = make_id(warehouse);
    e.stage = stage;
    return e;
  }
  event assigned(const std::string& order, const std::string& rider,
                 std::vector<geo_point> route = {}) {
    event e = base(event_kind::rider_assigned);
    e.order = make_id(order);
    e.rider = make_id(rider);
    e.route = std::move(route);
    return e;
  }
  event position(const std::string& rider, geo_point p, timestamp_ms t = -1) {
    event e = base(event_kind::rider_position);
    e.rider = make_id(rider);
    e.position = p;
    e.has_position = true;
    if (t >= 0) e.time = t;
    return e;
  }
  event batch(const std::string& rider, std::vector<position_fix> fixes) {
    event e = base(event_kind::position_batch);
    e.rider = make_id(rider);
    e.fixes = std::move(fixes);
    return e;
  }
  event delivered(const std::string& order, const std::string& rider) {
    event e = base(event_kind::order_delivered);
    e.order = make_id(order);
    e.rider = make_id(rider);
    return e;
  }
  event cancelled(const std::string& order) {
    event e = base(event_kind::order_cancelled);
    e.order = make_id(order);
    return e;
  }

 private:
  timestamp_ms time_;
  std::uint64_t next_ = 0;
};

}  // namespace xiaoxiang::testing
