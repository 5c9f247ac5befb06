// Bit interleaving shared by GeoHash and the rider index (internal).
#pragma once

#include <cstdint>

namespace xiaoxiang::detail {

// Bit i of x moves to bit 2i (x < 2^32): the magic-number spreading.
inline std::uint64_t spread_bits(std::uint64_t x) noexcept {
  x &= 0xFFFFFFFFull;
  x = (x | (x << 16)) & 0x0000FFFF0000FFFFull;
  x = (x | (x << 8)) & 0x00FF00FF00FF00FFull;
  x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0Full;
  x = (x | (x << 2)) & 0x3333333333333333ull;
  x = (x | (x << 1)) & 0x5555555555555555ull;
  return x;
}

// Inverse of spread_bits: bit 2i of x moves to bit i.
inline std::uint64_t compact_bits(std::uint64_t x) noexcept {
  x &= 0x5555555555555555ull;
  x = (x | (x >> 1)) & 0x3333333333333333ull;
  x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0Full;
  x = (x | (x >> 4)) & 0x00FF00FF00FF00FFull;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
  x = (x | (x >> 16)) & 0x00000000FFFFFFFFull;
  return x;
}

}  // namespace xiaoxiang::detail
