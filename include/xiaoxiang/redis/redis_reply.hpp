// redis_reply: one reply of a Redis server as a plain value tree, so that no
// hiredis type leaks into the public headers, plus the small accessors the
// adapters use to read XREADGROUP / XAUTOCLAIM / HGET answers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xiaoxiang {

// The RESP2 reply kinds.
enum class redis_type : std::uint8_t {
  nil = 0,      // a missing value (GET of an absent key, BLOCK timeout)
  string = 1,   // a bulk string
  status = 2,   // a simple string ("OK")
  error = 3,    // an error reply; the text is in `str`
  integer = 4,  // an integer reply
  array = 5,    // a multi-bulk reply; the items are in `elements`
};

struct redis_value {
  redis_type type = redis_type::nil;
  std::string str;                   // string, status and error text
  long long integer = 0;             // integer replies
  std::vector<redis_value> elements; // array items

  bool is_nil() const noexcept { return type == redis_type::nil; }
  bool is_error() const noexcept { return type == redis_type::error; }
  bool is_array() const noexcept { return type == redis_type::array; }
  // The item at i of an array, or a shared nil value when out of range or
  // not an array (so chains of lookups never throw).
  const redis_value& at(std::size_t i) const noexcept;
  // The text of a string or status reply; "" otherwise.
  std::string_view text() const noexcept;
};

// Throws xiaoxiang::error(errc::redis_reply) with `context` and the server's
// text when `v` is an error reply; returns `v` otherwise.
const redis_value& expect_no_error(const redis_value& v, std::string_view context);

}  // namespace xiaoxiang
