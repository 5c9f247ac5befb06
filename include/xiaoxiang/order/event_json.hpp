// event_json: the JSON wire format of an event (docs/events.md) — what a
// host's queue carries, what `POST /api/events` accepts and what
// `xiaoxiang sim` writes, one object per line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/order/event.hpp"

namespace xiaoxiang {

// Limits on outside text, so that a hostile or broken producer cannot make
// the decoder allocate without bound; exceeding one is errc::too_large.
struct event_json_limits {
  std::size_t max_text_bytes = 1 << 20;  // bytes of one JSON document
  std::size_t max_array_items = 20'000;  // points of "route", fixes of "fixes"
  std::size_t max_depth = 32;            // nesting of objects/arrays (unknown keys included)
};

// Appends `e` as one JSON object (no newline) with camelCase keys. Doubles are
// printed shortest-round-trip and amounts as exact decimals, so that
// event_from_json(text) == e for every valid event. Keys whose value is the
// default (empty id, no position, zero promised time, ...) are left out,
// except the keys the kind requires.
void event_to_json(const event& e, std::string& out);

// Convenience: event_to_json into a new string.
std::string event_to_json(const event& e);

// Decodes one JSON object. Rejections name the field: errc::malformed_json
// (not JSON, or not an object), errc::too_large (the text or an array above
// `limits`), errc::missing_field ("orderId"), errc::wrong_type ("time"),
// errc::unknown_event_type ("type"), the id codes of id::make ("riderId"),
// errc::invalid_longitude / invalid_latitude ("longitude", "origin.latitude",
// "route[].longitude", "fixes[].latitude"), errc::invalid_timestamp ("time",
// "promisedTime", "fixes[].time"), errc::invalid_amount ("totalAmount"),
// errc::invalid_picking_stage ("stage"), errc::invalid_address ("address"),
// errc::invalid_field ("route": a point that is not [lon, lat]).
// Unknown keys are ignored (forward compatibility); a null value counts as
// absent.
result<event> event_from_json(std::string_view text, const event_json_limits& limits = {});

}  // namespace xiaoxiang
