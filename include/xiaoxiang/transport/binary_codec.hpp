// binary_codec: the same messages as json_codec (delta or snapshot) in a
// compact binary form for native clients and node-to-node fan-out, written
// with cereal's portable (little-endian) binary archive after one leading
// format-version byte. Decoding outside bytes never crashes: every failure
// is a value naming the field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/order/tracking_state.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang {

// The format version written as the first byte; decoders reject others.
inline constexpr std::uint8_t kBinaryFormatVersion = 1;

// Appends the binary delta (orderId, version and the keys of `changed`).
// Coordinates and alert values are kept as exact doubles (no rounding).
// Requires: s.address is at most 255 bytes (the column's limit).
void encode_delta_binary(const tracking_state& s, std::uint32_t changed, std::string& out);

// Appends the binary snapshot (every key).
void encode_snapshot_binary(const tracking_state& s, std::string& out);

// Appends delta or snapshot as `kind` says (snapshot ignores `changed`).
void encode_update_binary(const tracking_state& s, std::uint32_t changed, message_kind kind,
                          std::string& out);

// Decodes one whole message. Rejections: errc::truncated (input ends early),
// errc::unsupported_format_version ("formatVersion"), errc::trailing_bytes,
// errc::invalid_field naming the field (kind, changed bits, version 0 or
// above 2^53 - 1, an id that
// id::make rejects, status, coordinates, operator type, picking stage,
// timestamps, ETA, address longer than 255 bytes, NaN alert values are
// allowed). Never throws.
result<decoded_update> decode_update_binary(std::string_view bytes) noexcept;

}  // namespace xiaoxiang
