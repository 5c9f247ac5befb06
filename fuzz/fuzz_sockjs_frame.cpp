// Decodes arbitrary bytes as a SockJS client payload (xhr_send, jsonp_send,
// websocket: a JSON array of strings, or one string on a websocket). What
// decodes must survive a round trip through the server's frame encoder:
// a["...", ...] decodes back to the same messages.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "xiaoxiang/server/sockjs_frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xiaoxiang;
  if (size == 0) return 0;
  const bool bare = data[0] & 1;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  sockjs_decode_limits limits;
  limits.max_payload_bytes = 64 * 1024;
  auto decoded = sockjs_decode_messages(text, bare, limits);
  if (!decoded) {
    if (decoded.error() != errc::malformed_json && decoded.error() != errc::wrong_type &&
        decoded.error() != errc::too_large)
      std::abort();
    return 0;
  }
  std::string frame;
  sockjs_append_message_frame(*decoded, frame);
  if (frame.size() < 2 || frame[0] != 'a') std::abort();
  sockjs_decode_limits roomy;
  roomy.max_payload_bytes = frame.size();
  roomy.max_messages = decoded->size() + 1;
  auto again = sockjs_decode_messages(std::string_view(frame).substr(1), false, roomy);
  if (!again || *again != *decoded) std::abort();
  // A callback check never reads out of bounds whatever the bytes.
  (void)is_valid_sockjs_callback(text);
  return 0;
}
