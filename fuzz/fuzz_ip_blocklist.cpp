// Parses arbitrary bytes as a blocklist file: it must never crash or throw;
// a rejection names the field and the line; whatever parses must agree with
// a linear scan of its own ranges for a few probe addresses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "xiaoxiang/security/ip_blocklist.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t bad_line = 0;
  const auto list = xiaoxiang::ip_blocklist::parse(text, &bad_line);
  if (!list.ok()) {
    if (list.field() == nullptr || bad_line == 0) std::abort();
    return 0;
  }
  // Re-parse each line on its own: the ranges the list holds.
  std::vector<xiaoxiang::ip_range> ranges;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (auto r = xiaoxiang::parse_ip_range(line)) ranges.push_back(*r);
  }
  for (const auto& r : ranges) {
    if (!list->contains(r.network)) std::abort();
    auto probe = r.network;
    probe[15] = static_cast<std::uint8_t>(probe[15] ^ 1);
    bool expected = false;
    for (const auto& q : ranges) expected = expected || xiaoxiang::range_contains(q, probe);
    if (list->contains(probe) != expected) std::abort();
  }
  return 0;
}
