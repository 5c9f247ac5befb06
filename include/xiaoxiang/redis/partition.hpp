// partition: the stable hash that routes an id (order id, rider id) to one of
// N partitions — streams of the ingest queue, channels of the fan-out. Every
// process (and a host's producer in another language) must agree on it, so it
// is spelled out: FNV-1a 64 of the id's bytes, modulo N.
#pragma once

#include <cstdint>
#include <string_view>

namespace xiaoxiang {

// FNV-1a 64-bit of `key` (offset 14695981039346656037, prime 1099511628211).
constexpr std::uint64_t fnv1a64(std::string_view key) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// The partition of `key` among `partitions` (>= 1): fnv1a64(key) % partitions.
constexpr std::uint32_t partition_of(std::string_view key, std::uint32_t partitions) noexcept {
  return partitions == 0 ? 0 : static_cast<std::uint32_t>(fnv1a64(key) % partitions);
}

}  // namespace xiaoxiang
