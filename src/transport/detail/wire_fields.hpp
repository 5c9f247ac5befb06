// The wire names of each field group (one field:: bit) and the value limits
// both codecs check, so JSON and binary reject the same things.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xiaoxiang/order/tracking_state.hpp"

namespace xiaoxiang {

// The address column is VARCHAR(255): bytes.
inline constexpr std::size_t kMaxAddressBytes = 255;
// 2500-01-01T00:00:00Z in ms, the bound errc::invalid_timestamp names.
inline constexpr std::int64_t kMaxTimestampMs = 16725225600000;

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
