// stomp_frame: the STOMP 1.2 frame codec (https://stomp.github.io/stomp-specification-1.2.html),
// transport-agnostic: a streaming parser that takes the byte stream in any
// slices (frames split across chunks or sharing one, heart-beat EOLs between
// frames) and an encoder that appends to a caller's reused buffer. It knows
// frames, not sessions: what a command means is server/stomp_session's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xiaoxiang/core/result.hpp"

namespace xiaoxiang {

// Every command of STOMP 1.2; the first group is sent by clients, the last by servers.
enum class stomp_command : std::uint8_t {
  connect, stomp, send, subscribe, unsubscribe, ack, nack, begin, commit, abort, disconnect,
  connected, message, receipt, error,
};

// "CONNECT", "SEND", ... (the wire spelling).
const char* stomp_command_name(stomp_command c) noexcept;
// The command for its wire spelling (case-sensitive); errc::stomp_unknown_command "command".
result<stomp_command> stomp_command_from_name(std::string_view name) noexcept;
// True for the commands a client sends (CONNECT .. DISCONNECT).
bool is_client_command(stomp_command c) noexcept;
// True for SEND, MESSAGE and ERROR: the only frames the spec lets carry a body.
bool stomp_command_has_body(stomp_command c) noexcept;

// The protocol version a connection negotiated; it selects the header
// escaping: 1.2 \r \n \c \\, 1.1 the same without \r, 1.0 none.
enum class stomp_version : std::uint8_t { v1_0 = 10, v1_1 = 11, v1_2 = 12 };

// "1.0", "1.1", "1.2".
const char* stomp_version_name(stomp_version v) noexcept;

// One header; views into the parser's buffer (parsed) or the caller's strings (to encode).
struct stomp_header {
  std::string_view name;
  std::string_view value;
};

// A frame as views: what the parser hands out (valid until the parser's next
// call) and what the encoder takes.
struct stomp_frame {
  stomp_command command = stomp_command::send;
  std::span<const stomp_header> headers;  // in wire order; repeated names allowed
  std::string_view body;                  // may contain NUL (then content-length is needed)

  // The value of the first header with this name (the spec: the first wins).
  std::optional<std::string_view> header(std::string_view name) const noexcept;
};

// An owning copy of a frame, for queues, tests and the fuzz target.
struct stomp_frame_copy {
  stomp_command command = stomp_command::send;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  friend bool operator==(const stomp_frame_copy&, const stomp_frame_copy&) = default;
};

// Copies the views of a parsed frame.
stomp_frame_copy copy_frame(const stomp_frame& frame);

// Bounds on what one peer may make the parser hold; each has its own errc,
// whose result names the limit as its field ("max_frame_bytes", ...).
struct stomp_limits {
  std::size_t max_frame_bytes = 128 * 1024;    // command line + headers + body + NUL, bytes
  std::size_t max_headers = 32;                // headers per frame
  std::size_t max_header_line_bytes = 8192;    // one command or header line, bytes (escaped)
  std::size_t max_body_bytes = 64 * 1024;      // body, bytes
};

// Appends one frame in wire form: command, headers (escaped as `version`
// says, except in CONNECT and CONNECTED which the spec leaves unescaped),
// a content-length header when the body is not empty and the frame has
// none, the body and the NUL. Header order is kept.
// Requires: in CONNECT/CONNECTED no CR or LF in headers and no ':' in names.
void encode_frame(const stomp_frame& frame, std::string& out,
                  stomp_version version = stomp_version::v1_2);
// The same for an owning copy.
void encode_frame(const stomp_frame_copy& frame, std::string& out,
                  stomp_version version = stomp_version::v1_2);

// Appends a header value escaped for `version` (what encode_frame does to each header).
void append_stomp_escaped(std::string_view text, std::string& out,
                          stomp_version version = stomp_version::v1_2);

// The streaming parser. Feed it the byte stream in any slices; it hands out
// each complete frame once. After a rejection it stays failed (a STOMP
// connection cannot resynchronise after a malformed frame): the session sends
// ERROR and closes. In steady state it does not allocate: its buffers keep
// their capacity from frame to frame.
class stomp_parser {
 public:
  explicit stomp_parser(stomp_limits limits = {}, stomp_version version = stomp_version::v1_2);

  // The escaping of the frames to come (after CONNECT negotiated a version).
  void set_version(stomp_version version) noexcept { version_ = version; }
  stomp_version version() const noexcept { return version_; }
  const stomp_limits& limits() const noexcept { return limits_; }

  // What one parse_some call did.
  struct step {
    std::size_t consumed = 0;  // bytes of the input used
    bool frame_ready = false;  // frame() holds a complete frame now
  };

  // Consumes bytes until one frame completes or the input ends. Rejections:
  // errc::stomp_unknown_command "command", stomp_invalid_header "header",
  // stomp_invalid_escape "header", stomp_invalid_content_length
  // "content-length", stomp_missing_null "body", stomp_body_not_allowed
  // "body", and the limits stomp_frame_too_large "max_frame_bytes",
  // stomp_too_many_headers "max_headers", stomp_header_line_too_long
  // "max_header_line_bytes", stomp_body_too_large "max_body_bytes".
  result<step> parse_some(std::string_view input);

  // The frame completed by the last parse_some; valid until the next call.
  const stomp_frame& frame() const noexcept { return frame_; }

  // Parses all of `input`, calling on_frame(const stomp_frame&) for each
  // complete frame; stops at the first rejection and returns it.
  template <class OnFrame>
  status_result feed(std::string_view input, OnFrame&& on_frame) {
    while (!input.empty()) {
      auto r = parse_some(input);
      if (!r.ok()) return {r.error(), r.field()};
      input.remove_prefix(r->consumed);
      if (r->frame_ready) on_frame(frame_);
    }
    return {};
  }

  bool failed() const noexcept { return failed_.has_value(); }
  // True between frames (nothing of a frame buffered): a clean place to end a stream.
  bool idle() const noexcept { return state_ == state::idle && line_.empty(); }
  // Heart-beat EOLs seen between frames so far.
  std::uint64_t heartbeats() const noexcept { return heartbeats_; }

 private:
  enum class state : std::uint8_t { idle, headers, body_length, body_null, frame_end };
  struct header_offsets {
    std::size_t name_begin, name_size, value_begin, value_size;
  };

  result<step> fail(errc code, const char* field);
  status_result take_line(std::string_view line);
  status_result add_header(std::string_view line);
  status_result end_headers();
  status_result count_frame_bytes(std::size_t n);
  void finish_frame();
  void reset_frame();

  stomp_limits limits_;
  stomp_version version_;
  state state_ = state::idle;
  std::optional<status_result> failed_;
  std::string line_;           // the partial command or header line
  std::string text_;           // decoded header names and values
  std::vector<header_offsets> offsets_;
  std::vector<stomp_header> headers_;
  std::string body_;
  stomp_command command_ = stomp_command::send;
  std::size_t frame_bytes_ = 0;
  std::size_t body_remaining_ = 0;  // body_length: bytes still to read
  std::uint64_t heartbeats_ = 0;
  bool frame_ready_ = false;   // frame_ is handed out: reset before parsing on
  stomp_frame frame_;
};

}  // namespace xiaoxiang
