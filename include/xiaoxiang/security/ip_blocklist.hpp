// ip_blocklist: a set of IPv4 and IPv6 CIDR ranges a server refuses at
// accept. IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d), so an IPv4 peer
// accepted on a dual-stack socket matches its IPv4 range. A lookup costs one
// hash probe per distinct prefix length present (at most 129), whatever the
// number of ranges.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "xiaoxiang/core/result.hpp"

namespace xiaoxiang {

// An IPv6 address (IPv4 mapped into ::ffff:0:0/96), network byte order.
using ip_address = std::array<std::uint8_t, 16>;

// One CIDR range: the address with its host bits cleared, and the prefix
// length in IPv6 bits (an IPv4 /8 is 96 + 8 = 104).
struct ip_range {
  ip_address network{};
  unsigned prefix_bits = 128;  // 0..128
  friend bool operator==(const ip_range&, const ip_range&) = default;
};

// Parses "10.0.0.0/8", "2001:db8::/32", "192.0.2.7" (a single address) into a
// range; host bits set below the prefix are cleared ("10.1.2.3/8" is
// 10.0.0.0/8). errc::invalid_field, field "cidr", for anything else.
result<ip_range> parse_ip_range(std::string_view text);
// Parses a textual IPv4 or IPv6 address; errc::invalid_field, field "address".
result<ip_address> parse_ip_address(std::string_view text);
// True when `address` lies inside `range`.
bool range_contains(const ip_range& range, const ip_address& address) noexcept;

class ip_blocklist {
 public:
  ip_blocklist() = default;

  // The blocklist file format: one range or address per line; '#' starts a
  // comment; blank lines and surrounding spaces are ignored. On the first bad
  // line: errc::invalid_field, field "cidr", and *bad_line (1-based) is set.
  static result<ip_blocklist> parse(std::string_view text, std::size_t* bad_line = nullptr);

  void add(const ip_range& range);
  // True when the address is inside any range; an unparsable address is not.
  bool contains(const ip_address& address) const noexcept;
  bool contains(std::string_view address) const;
  std::size_t size() const noexcept { return count_; }  // ranges added (duplicates once)
  bool empty() const noexcept { return count_ == 0; }

 private:
  struct address_hash {
    std::size_t operator()(const ip_address& a) const noexcept;
  };
  // Networks by prefix length; lengths_ lists the lengths that have any.
  std::array<std::unordered_set<ip_address, address_hash>, 129> by_length_;
  std::vector<unsigned> lengths_;
  std::size_t count_ = 0;
};

}  // namespace xiaoxiang
