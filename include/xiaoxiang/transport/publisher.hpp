// publisher: the interface the engine pushes every accepted change through.
// The in-process broker implements it; a host may implement it over its own
// WebSocket layer.
#pragma once

#include <cstdint>
#include <string>

#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/order/event.hpp"
#include "xiaoxiang/order/tracking_state.hpp"

namespace xiaoxiang {

// Topic of an order: "/topic/orders/{orderId}".
std::string order_topic(const order_id& order);
// Topic of all live rider positions, for dispatch consoles.
inline constexpr const char* riders_topic = "/topic/riders";

class publisher {
 public:
  virtual ~publisher() = default;

  // One accepted change. `state` is the order's full state after it;
  // `changed` has a bit (field::*) for each key that differs from the
  // previous version. For one order, calls come from one thread at a time
  // and in version order; calls for different orders may be concurrent.
  // Must not block: it runs on the ingest hot path.
  virtual void publish(const tracking_state& state, std::uint32_t changed) = 0;

  // A rider's live position (the all-riders topic). Same threading rules,
  // per rider.
  virtual void publish_rider(const rider_id& rider, const position_fix& fix) {
    (void)rider;
    (void)fix;
  }
};

}  // namespace xiaoxiang
