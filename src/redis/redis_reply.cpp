#include "xiaoxiang/redis/redis_reply.hpp"

#include <string>

#include "xiaoxiang/core/error.hpp"

namespace xiaoxiang {

const redis_value& redis_value::at(std::size_t i) const noexcept {
  static const redis_value nil_value;
  if (type != redis_type::array || i >= elements.size()) return nil_value;
  return elements[i];
}

std::string_view redis_value::text() const noexcept {
  if (type == redis_type::string || type == redis_type::status) return str;
  return {};
}

const redis_value& expect_no_error(const redis_value& v, std::string_view context) {
  if (v.is_error())
    throw error(make_error_code(errc::redis_reply), std::string(context) + ": " + v.str);
  return v;
}

}  // namespace xiaoxiang
