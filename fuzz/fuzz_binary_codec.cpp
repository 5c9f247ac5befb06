// Decodes arbitrary bytes as a binary tracking message: it must never crash
// or throw, and whatever decodes must re-encode to a message that decodes to
// the same update (and whose JSON form decodes too).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "xiaoxiang/transport/binary_codec.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto first = xiaoxiang::decode_update_binary(bytes);
  if (!first.ok()) {
    if (!first.error() || first.field() == nullptr) std::abort();
    (void)first.message();
    return 0;
  }
  std::string encoded;
  xiaoxiang::encode_update_binary(first->state, first->changed, first->kind, encoded);
  const auto second = xiaoxiang::decode_update_binary(encoded);
  if (!second.ok() || second->changed != first->changed || second->kind != first->kind) std::abort();
  // NaN alert values compare unequal; compare the re-encoded bytes instead.
  std::string again;
  xiaoxiang::encode_update_binary(second->state, second->changed, second->kind, again);
  if (again != encoded) std::abort();
  std::string json;
  xiaoxiang::encode_update(first->state, first->changed, first->kind, json);
  const auto from_json = xiaoxiang::decode_update_json(json);
  if (!from_json.ok() || from_json->changed != first->changed) std::abort();
  return 0;
}
