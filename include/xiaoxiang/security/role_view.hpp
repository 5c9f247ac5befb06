// role_view: the same pushed change at each role's level of detail (the
// article's 不同角色查看不同粒度的追踪信息). A view masks keys of a message:
// a delta loses them, a snapshot keeps every key with the masked ones reset
// (null / empty), so clients keep one shape. Version and orderId are always
// kept, so a client's gap detection works in every view.
//
// role_view_cache projects each (message, role) once, however many
// subscribers of that role a message goes to: the broker delivers one
// message to all its subscribers in a row on the publishing thread, so a
// per-thread slot per role holding the last source and its projection turns
// N projections into one (and the admin view is the source itself, free).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/order/status.hpp"
#include "xiaoxiang/security/principal.hpp"

namespace xiaoxiang {

// The field:: bits of tracking_state a role sees while the order has
// `current` status. customer: status, address, createTime, eta, pickingStage,
// userId/warehouseId, and the position only while Delivering (no operator,
// rider id or alerts); rider: all but userId/warehouseId (customer-private);
// warehouse: all but the live position and the address; admin: all.
std::uint32_t view_fields(role r, order_status current) noexcept;

// Appends the role's projection of a JSON message (json_codec's delta or
// snapshot) to out. `current`: the order's status at this version (a delta
// without "status" does not say it). Rejections: those of decode_update_json.
status_result project_update(std::string_view message, role r, order_status current,
                             std::string& out);

// Counters of a role_view_cache.
struct role_view_metrics {
  std::uint64_t projections = 0;  // messages decoded and re-encoded (one per (message, role))
  std::uint64_t hits = 0;         // projections served from the cache
  std::uint64_t failures = 0;     // messages that did not decode (delivered as they were to admins only)
};

// Once-per-(message, role) projection for a server's deliveries. Thread-safe.
class role_view_cache {
 public:
  role_view_cache();
  role_view_cache(const role_view_cache&) = delete;
  role_view_cache& operator=(const role_view_cache&) = delete;

  // The body `r` gets for `message`; valid until this thread's next call
  // for the same role. `status_of` is asked for the order's status only
  // when a projection is computed (a miss) and the message lacks "status".
  // An admin gets `message` itself. A message that does not decode gives an
  // empty view (the caller drops it) and counts a failure.
  std::string_view project(std::string_view message, role r,
                           const std::function<order_status()>& status_of);

  role_view_metrics metrics() const noexcept;

 private:
  std::uint64_t generation_;  // tells this cache's per-thread slots from another's
  std::atomic<std::uint64_t> projections_{0};
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace xiaoxiang
