#include "xiaoxiang/security/ip_blocklist.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace xiaoxiang {
namespace {

ip_address mask(ip_address a, unsigned bits) noexcept {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned lo = i * 8;
    if (bits >= lo + 8) continue;
    const unsigned keep = bits > lo ? bits - lo : 0;  // 0..7 leading bits kept
    a[i] = static_cast<std::uint8_t>(keep == 0 ? 0 : a[i] & (0xFFu << (8 - keep)));
  }
  return a;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Parses an address; `v4` tells whether it was written as IPv4.
bool parse_address(std::string_view text, ip_address& out, bool& v4) noexcept {
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr a4{};
  if (::inet_pton(AF_INET, buf, &a4) == 1) {
    out = {};
    out[10] = out[11] = 0xFF;
    std::memcpy(out.data() + 12, &a4, 4);
    v4 = true;
    return true;
  }
  in6_addr a6{};
  if (::inet_pton(AF_INET6, buf, &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    v4 = false;
    return true;
  }
  return false;
}

}  // namespace

result<ip_address> parse_ip_address(std::string_view text) {
  ip_address a{};
  bool v4 = false;
  if (!parse_address(trim(text), a, v4)) return {errc::invalid_field, "address"};
  return a;
}

result<ip_range> parse_ip_range(std::string_view text) {
  text = trim(text);
  const auto slash = text.find('/');
  ip_address a{};
  bool v4 = false;
  if (!parse_address(text.substr(0, slash), a, v4)) return {errc::invalid_field, "cidr"};
  unsigned bits = v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    unsigned n = 0;
    const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    if (len.empty() || len.size() > 3 || ec != std::errc() || end != len.data() + len.size() ||
        n > bits)
      return {errc::invalid_field, "cidr"};
    bits = n;
  }
  if (v4) bits += 96;
  return ip_range{mask(a, bits), bits};
}

bool range_contains(const ip_range& range, const ip_address& address) noexcept {
  return mask(address, range.prefix_bits) == range.network;
}

std::size_t ip_blocklist::address_hash::operator()(const ip_address& a) const noexcept {
  std::uint64_t hi = 0, lo = 0;
  std::memcpy(&hi, a.data(), 8);
  std::memcpy(&lo, a.data() + 8, 8);
  std::uint64_t h = hi * 0x9E3779B97F4A7C15ULL ^ (lo + 0x632BE59BD9B4E019ULL + (hi << 6) + (hi >> 2));
  h ^= h >> 29;
  return static_cast<std::size_t>(h * 0xBF58476D1CE4E5B9ULL);
}

result<ip_blocklist> ip_blocklist::parse(std::string_view text, std::size_t* bad_line) {
  ip_blocklist list;
  std::size_t line_no = 0;
  while (!text.empty() || line_no == 0) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    auto range = parse_ip_range(line);
    if (!range) {
      if (bad_line) *bad_line = line_no;
      return {errc::invalid_field, "cidr"};
    }
    list.add(*range);
  }
  return list;
}

void ip_blocklist::add(const ip_range& range) {
  auto& set = by_length_[range.prefix_bits];
  if (!set.insert(range.network).second) return;
  ++count_;
  if (std::find(lengths_.begin(), lengths_.end(), range.prefix_bits) == lengths_.end()) {
    lengths_.push_back(range.prefix_bits);
    std::sort(lengths_.begin(), lengths_.end());
  }
}

bool ip_blocklist::contains(const ip_address& address) const noexcept {
  for (const unsigned bits : lengths_)
    if (by_length_[bits].count(mask(address, bits)) != 0) return true;
  return false;
}

bool ip_blocklist::contains(std::string_view address) const {
  const auto a = parse_ip_address(address);
  return a && contains(*a);
}

}  // namespace xiaoxiang
