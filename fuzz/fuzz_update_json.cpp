// Decodes arbitrary text as a JSON tracking message: it must never crash,
// and whatever decodes must re-encode to JSON that decodes to the same keys
// and re-encodes to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "xiaoxiang/transport/json_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto first = xiaoxiang::decode_update_json(text);
  if (!first.ok()) {
    if (!first.error() || first.field() == nullptr) std::abort();
    (void)first.message();
    return 0;
  }
  std::string encoded;
  xiaoxiang::encode_update(first->state, first->changed, first->kind, encoded);
  const auto second = xiaoxiang::decode_update_json(encoded);
  if (!second.ok() || second->changed != first->changed || second->kind != first->kind ||
      second->state.order != first->state.order || second->state.version != first->state.version)
    std::abort();
  std::string again;
  xiaoxiang::encode_update(second->state, second->changed, second->kind, again);
  if (again != encoded) std::abort();
  return 0;
}
