// The wire names of each field group (one field:: bit) and the value limits
// both codecs check, so JSON and binary reject the same things.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "xiaoxiang/order/tracking_state.hpp"

namespace xiaoxiang {

// The address column is VARCHAR(255): bytes.
inline constexpr std::size_t kMaxAddressBytes = 255;
// 2500-01-01T00:00:00Z in ms, the bound errc::invalid_timestamp names.
inline constexpr std::int64_t kMaxTimestampMs = 16725225600000;

// Length of the valid UTF-8 sequence starting at s[i], or 0 when invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  const auto b1 = static_cast<unsigned char>(s[i + 1]);
  if (b1 < lo || b1 > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xBF) return 0;
  }
  return n;
}

// True when every byte of s belongs to a valid UTF-8 sequence. Both decoders
// require it of text fields, so a value one accepts the other accepts too
// (the JSON encoder would otherwise widen each bad byte to U+FFFD).
inline bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Versions beyond 2^53 - 1 would lose precision in a JavaScript client;
// both decoders reject them (an engine never gets near).
inline constexpr std::uint64_t kMaxVersion = (1ull << 53) - 1;

// Alert values (metres or minutes) beyond this are not measurements; JSON
// writes them as null and rejects them on decode.
inline constexpr double kMaxAlertValue = 1e9;

struct wire_group {
  std::uint32_t bit;
  const char* first_key;
  const char* second_key;  // nullptr when the group has one key
};

inline constexpr wire_group kWireGroups[] = {
    {field::status, "status", nullptr},
    {field::position, "longitude", "latitude"},
    {field::address, "address", nullptr},
    {field::operator_info, "operatorId", "operatorType"},
    {field::create_time, "createTime", nullptr},
    {field::eta, "etaSeconds", "etaP90Seconds"},
    {field::alerts, "alerts", nullptr},
    {field::rider, "riderId", nullptr},
    {field::picking, "pickingStage", nullptr},
    {field::user, "userId", "warehouseId"},
};

// Requires: `bit` is a single bit of field::all.
inline const wire_group& wire_group_of(std::uint32_t bit) noexcept {
  std::size_t i = 0;
  while ((1u << i) != bit) ++i;
  return kWireGroups[i];
}

}  // namespace xiaoxiang
