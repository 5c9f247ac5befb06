// alert_update: what one input did to a detector's alert, so that the engine
// pushes "alerts" only when something changed (raised, updated, cleared).
#pragma once

#include <cstdint>

#include "xiaoxiang/order/tracking_state.hpp"

namespace xiaoxiang {

// How an input changed a detector's alert.
enum class alert_change : std::uint8_t {
  none = 0,     // no change worth pushing (the value may have moved; see current)
  raised = 1,   // the alert became active (once per episode)
  updated = 2,  // still active, but what it names changed kind (predicted -> late)
  cleared = 3,  // the alert ended (once per episode)
};

// The change and the alert after the input: active, since (ms), value in the
// unit its alert_kind names. On `cleared`, current.active is false and
// current.since / value describe the episode that ended.
struct alert_update {
  alert_change change = alert_change::none;
  alert current;
};

}  // namespace xiaoxiang
