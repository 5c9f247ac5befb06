// json_codec: the JSON text of a pushed message (DESIGN.md §3), what browsers
// and the article's front end read (`tracking.longitude`, `tracking.status`).
// Encoding is hand-written and appends into a caller's reused buffer, so the
// hot path does not allocate once the buffer has capacity; decoding (for
// clients, tests and the HTTP layer) validates every key and names the field
// it rejects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/order/event.hpp"
#include "xiaoxiang/order/tracking_state.hpp"

namespace xiaoxiang {

// What a pushed message is: the changed keys of one version, or all keys.
enum class message_kind : std::uint8_t {
  delta = 0,     // "type":"delta": orderId, version and the changed keys
  snapshot = 1,  // "type":"snapshot": every key
};

// "delta" / "snapshot".
const char* message_kind_name(message_kind k) noexcept;

// A decoded message (JSON or binary). For a delta, `state` holds the keys the
// message carried (the bits of `changed`) and defaults elsewhere; for a
// snapshot `changed` is field::all.
struct decoded_update {
  message_kind kind = message_kind::delta;
  tracking_state state;
  std::uint32_t changed = 0;  // field::* bits of the keys present
};

// Applies the keys of `changed` (and orderId, version) from `delta` onto
// `base`: what a client does with a decoded delta, and how the broker keeps
// its stored state.
void apply_delta(tracking_state& base, const tracking_state& delta, std::uint32_t changed);

// Largest text decode_update_json accepts (bytes); beyond it errc::too_large.
inline constexpr std::size_t kMaxUpdateJsonBytes = 64 * 1024;

// Appends {"type":"delta","orderId":..,"version":..,<changed keys>} to out.
// Coordinates are written with 6 decimals (the DECIMAL(10,6) columns), ids
// that are empty as null, "alerts" as the array of active alerts (values with
// 3 decimals, null when NaN or beyond +-1e9). Strings are
// escaped; invalid UTF-8 bytes become U+FFFD so the text is always valid JSON.
void encode_delta(const tracking_state& s, std::uint32_t changed, std::string& out);

// Appends the message with every key and "type":"snapshot" to out.
void encode_snapshot(const tracking_state& s, std::string& out);

// Appends delta or snapshot as `kind` says (snapshot ignores `changed`).
void encode_update(const tracking_state& s, std::uint32_t changed, message_kind kind,
                   std::string& out);

// Appends a rider position for the all-riders topic:
// {"type":"riderPosition","riderId":..,"longitude":..,"latitude":..,"time":ms}.
void encode_rider_position(const rider_id& rider, const position_fix& fix, std::string& out);

// Parses a message produced by encode_delta / encode_snapshot. Rejections:
// errc::too_large, errc::malformed_json, errc::wrong_type (field named),
// errc::missing_field ("orderId", "version", "type", the partner of a pair
// such as "latitude", or any key a snapshot lacks), errc::invalid_field for a
// value outside its domain (bad id, status outside 1..5, version 0 or above
// 2^53 - 1 (not exact in JavaScript),
// coordinates out of range, unknown or repeated alert kind, alert value
// beyond +-1e9, "type" not delta/snapshot).
// Unknown keys are ignored (forward compatibility).
result<decoded_update> decode_update_json(std::string_view text);

}  // namespace xiaoxiang
