// sockjs_frame: the framing of the SockJS protocol (sockjs-protocol 0.3, as
// sockjs-client 1.6 speaks it). Clients send a JSON array of strings
// (xhr_send, jsonp_send, websocket) — or one JSON string on a websocket; the
// server sends frames: "o" (open), "h" (heartbeat), a["m1","m2"] (messages)
// and c[code,"reason"] (close).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "xiaoxiang/core/result.hpp"

namespace xiaoxiang {

// Limits on what one client payload may carry (errc::too_large beyond).
struct sockjs_decode_limits {
  std::size_t max_payload_bytes = 1 << 20;  // bytes of one xhr_send / websocket payload
  std::size_t max_messages = 4096;          // strings in one array
};

// Decodes a client payload: a JSON array of strings, or (allow_bare_string,
// the websocket transport) one JSON string. Whitespace around tokens is
// allowed; \uXXXX escapes (surrogate pairs too) become UTF-8, a lone
// surrogate becomes U+FFFD. Rejections (field "body"): errc::malformed_json
// (not that JSON), errc::wrong_type (an array item that is not a string),
// errc::too_large (above `limits`).
result<std::vector<std::string>> sockjs_decode_messages(std::string_view payload,
                                                        bool allow_bare_string = false,
                                                        const sockjs_decode_limits& limits = {});

// Appends `text` as a JSON string literal the way SockJS servers escape it:
// '"', '\\' and control characters, and also U+200C-U+200F, U+2028-U+202F,
// U+2060-U+206F and U+FFF0-U+FFFF as \uxxxx (lower-case hex), which some
// browsers mangle. Bytes that are not valid UTF-8 pass through unchanged.
void sockjs_quote(std::string_view text, std::string& out);

// Appends the message frame a["m1",...] of `messages`.
void sockjs_append_message_frame(const std::vector<std::string>& messages, std::string& out);

// The close frame c[code,"reason"].
std::string sockjs_close_frame(int code, std::string_view reason);

// True when `callback` is a valid JSONP / htmlfile callback name: 1..64
// characters of [A-Za-z0-9_.-] (sockjs-node's rule, with a length cap).
bool is_valid_sockjs_callback(std::string_view callback) noexcept;

}  // namespace xiaoxiang
