// event_batch: the body of POST /api/events — events as JSON lines (the
// format of `xiaoxiang sim`'s events.jsonl and of a rider app's offline
// upload). Each line is decoded on its own, so one bad line never loses the
// others.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/order/event.hpp"
#include "xiaoxiang/order/event_json.hpp"

namespace xiaoxiang {

// Bounds of one batch.
struct event_batch_limits {
  std::size_t max_lines = 10'000;  // non-blank lines of one body (errc::too_large "body" beyond)
  event_json_limits line{};        // limits of each line's JSON
};

// One non-blank line of a batch, decoded or with the reason it was not.
struct event_batch_line {
  std::size_t line = 0;  // 1-based line number in the body
  result<event> decoded{errc::missing_field, "body"};
};

// Splits a body into lines ('\n', an optional '\r' before it; blank lines
// skipped) and decodes each with event_from_json. Rejections of the whole
// body (field "body"): errc::missing_field (no non-blank line),
// errc::too_large (more than max_lines lines).
result<std::vector<event_batch_line>> decode_event_batch(std::string_view body,
                                                         const event_batch_limits& limits = {});

}  // namespace xiaoxiang
