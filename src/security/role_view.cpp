#include "xiaoxiang/security/role_view.hpp"

#include <array>

#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang {

std::uint32_t view_fields(role r, order_status current) noexcept {
  switch (r) {
    case role::admin: return field::all;
    case role::rider: return field::all & ~field::user;
    case role::warehouse: return field::all & ~(field::position | field::address);
    case role::customer: {
      std::uint32_t f = field::status | field::address | field::create_time | field::eta |
                        field::picking | field::user;
      if (current == order_status::delivering) f |= field::position;
      return f;
    }
  }
  return 0;
}

namespace {

// Resets the groups a view does not show, so a snapshot says "none" for them.
void reset_masked(tracking_state& s, std::uint32_t shown) {
  const tracking_state blank;
  if (!(shown & field::position)) {
    s.position = blank.position;
    s.has_position = false;
  }
  if (!(shown & field::address)) s.address.clear();
  if (!(shown & field::operator_info)) {
    s.operator_id = blank.operator_id;
    s.op_type = blank.op_type;
  }
  if (!(shown & field::create_time)) s.create_time = blank.create_time;
  if (!(shown & field::eta)) {
    s.eta_seconds = blank.eta_seconds;
    s.eta_p90_seconds = blank.eta_p90_seconds;
  }
  if (!(shown & field::alerts)) s.alerts = blank.alerts;
  if (!(shown & field::rider)) s.rider = blank.rider;
  if (!(shown & field::picking)) s.stage = blank.stage;
  if (!(shown & field::user)) {
    s.user = blank.user;
    s.warehouse = blank.warehouse;
  }
}

status_result project_decoded(decoded_update& d, role r, order_status current, std::string& out) {
  const std::uint32_t shown = view_fields(r, current);
  reset_masked(d.state, shown);
  encode_update(d.state, d.changed & shown, d.kind, out);
  return {};
}

}  // namespace

status_result project_update(std::string_view message, role r, order_status current, std::string& out) {
  auto d = decode_update_json(message);
  if (!d) return {d.error(), d.field()};
  if (d->changed & field::status) current = d->state.status;
  return project_decoded(*d, r, current, out);
}

namespace {

std::atomic<std::uint64_t> g_generation{1};

// The last message each role's view was computed for, on this thread.
struct view_slot {
  std::uint64_t generation = 0;
  std::string source;
  std::string view;
  bool failed = false;
};
thread_local std::array<view_slot, kRoleCount> tl_slots;

}  // namespace

role_view_cache::role_view_cache() : generation_(g_generation.fetch_add(1, std::memory_order_relaxed)) {}

std::string_view role_view_cache::project(std::string_view message, role r,
                                          const std::function<order_status()>& status_of) {
  if (r == role::admin) return message;
  view_slot& slot = tl_slots[static_cast<std::size_t>(r)];
  // The bytes themselves are the key (orderId and version are in them): a
  // compare costs a memcmp, a projection a JSON decode and encode.
  if (slot.generation == generation_ && slot.source == message) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    return slot.failed ? std::string_view() : std::string_view(slot.view);
  }
  slot.generation = generation_;
  slot.source.assign(message);
  slot.view.clear();
  slot.failed = false;
  auto d = decode_update_json(message);
  if (!d) {
    slot.failed = true;
    failures_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  const order_status current = (d->changed & field::status) ? d->state.status : status_of();
  (void)project_decoded(*d, r, current, slot.view);
  projections_.fetch_add(1, std::memory_order_relaxed);
  return slot.view;
}

role_view_metrics role_view_cache::metrics() const noexcept {
  role_view_metrics m;
  m.projections = projections_.load(std::memory_order_relaxed);
  m.hits = hits_.load(std::memory_order_relaxed);
  m.failures = failures_.load(std::memory_order_relaxed);
  return m;
}

}  // namespace xiaoxiang
