// Decodes arbitrary bytes as an event; whatever decodes must re-encode to
// text that decodes to the same event and re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "xiaoxiang/order/event_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto first = xiaoxiang::event_from_json(text);
  if (!first.ok()) {
    // A rejection always carries a code; describe() must not crash.
    if (!first.error()) std::abort();
    (void)first.message();
    return 0;
  }
  const std::string encoded = xiaoxiang::event_to_json(*first);
  const auto second = xiaoxiang::event_from_json(encoded);
  if (!second.ok() || !(*second == *first)) std::abort();
  if (xiaoxiang::event_to_json(*second) != encoded) std::abort();
  return 0;
}
