#include "xiaoxiang/order/event.hpp"

#include <array>
#include <string_view>

namespace xiaoxiang {
namespace {
constexpr std::array<std::string_view, 9> kNames = {
    "unknown",        "order_created",   "order_paid",      "picking_stage", "rider_assigned",
    "rider_position", "order_delivered", "order_cancelled", "position_batch"};
}

const char* event_kind_name(event_kind k) noexcept {
  const auto i = static_cast<std::size_t>(k);
  return i < kNames.size() ? kNames[i].data() : "unknown";
}

result<event_kind> event_kind_from_name(std::string_view name) noexcept {
  for (std::size_t i = 1; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<event_kind>(i);
  return {errc::unknown_event_type, "type"};
}

}  // namespace xiaoxiang
