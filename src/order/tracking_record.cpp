#include "xiaoxiang/order/tracking_record.hpp"

#include <cstdio>

namespace xiaoxiang {

id make_record_id(const order_id& order, std::uint64_t version) noexcept {
  char text[40];
  const int n = std::snprintf(text, sizeof text, "%016llx-%llx",
                              static_cast<unsigned long long>(order.hash()),
                              static_cast<unsigned long long>(version));
  // 16 + 1 + at most 14 hex digits for any realistic version; clamp anyway.
  return *id::make(std::string_view(text, static_cast<std::size_t>(n < 32 ? n : 32)));
}

}  // namespace xiaoxiang
