// id: an identifier of at most 32 characters (the schema's VARCHAR(32)),
// stored inline so that copying, hashing and comparing never allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "xiaoxiang/core/result.hpp"

namespace xiaoxiang {

class id {
 public:
  static constexpr std::size_t max_size = 32;

  constexpr id() noexcept = default;

  // Checks and copies text: errc::empty_id, errc::id_too_long or
  // errc::invalid_id_character, reported against `field` ("orderId").
  // The allowed characters [A-Za-z0-9_.:-] keep ids safe inside topics,
  // STOMP headers, URLs and SQL literals.
  static result<id> make(std::string_view text, const char* field = "id") noexcept {
    if (const errc e = check(text); e != errc::ok) return {e, field};
    id out;
    std::memcpy(out.data_.data(), text.data(), text.size());
    out.size_ = static_cast<std::uint8_t>(text.size());
    return out;
  }

  // The check behind make(): errc::ok when text is a valid id.
  static constexpr errc check(std::string_view text) noexcept {
    if (text.empty()) return errc::empty_id;
    if (text.size() > max_size) return errc::id_too_long;
    for (const char c : text) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-';
      if (!ok) return errc::invalid_id_character;
    }
    return errc::ok;
  }

  constexpr std::string_view view() const noexcept { return {data_.data(), size_}; }
  std::string str() const { return std::string(view()); }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }

  friend constexpr bool operator==(const id& a, const id& b) noexcept {
    return a.view() == b.view();
  }
  friend constexpr auto operator<=>(const id& a, const id& b) noexcept {
    return a.view() <=> b.view();
  }

  // FNV-1a over the characters: stable across runs and platforms, so it can
  // also route an order to a partition or shard.
  constexpr std::uint64_t hash() const noexcept {
    std::uint64_t h = 14695981039346656037ull;
    for (std::size_t i = 0; i < size_; ++i) {
      h ^= static_cast<unsigned char>(data_[i]);
      h *= 1099511628211ull;
    }
    return h;
  }

 private:
  std::array<char, max_size> data_{};
  std::uint8_t size_ = 0;
};

// Names for the roles an id plays; all are the same type, the name documents.
using order_id = id;
using user_id = id;
using rider_id = id;
using warehouse_id = id;
using event_id = id;

}  // namespace xiaoxiang

template <>
struct std::hash<xiaoxiang::id> {
  std::size_t operator()(const xiaoxiang::id& v) const noexcept {
    return static_cast<std::size_t>(v.hash());
  }
};
