// Decodes arbitrary bytes as the body of POST /api/events (JSON lines):
// never crashes, every line number is within the body, and the lines come
// in increasing order.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "xiaoxiang/server/event_batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xiaoxiang;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  event_batch_limits limits;
  limits.max_lines = 64;
  limits.line.max_text_bytes = 16 * 1024;
  auto batch = decode_event_batch(body, limits);
  if (!batch) {
    if (batch.error() != errc::missing_field && batch.error() != errc::too_large) std::abort();
    return 0;
  }
  const auto lines = static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n')) + 1;
  std::size_t previous = 0;
  for (const auto& line : *batch) {
    if (line.line <= previous || line.line > lines) std::abort();
    previous = line.line;
  }
  return 0;
}
