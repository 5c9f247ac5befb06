#include "xiaoxiang/transport/stomp_frame.hpp"

#include <cassert>
#include <cstring>

namespace xiaoxiang {
namespace {

constexpr const char* kCommandNames[] = {
    "CONNECT", "STOMP",      "SEND",      "SUBSCRIBE", "UNSUBSCRIBE", "ACK",     "NACK", "BEGIN",
    "COMMIT",  "ABORT",      "DISCONNECT", "CONNECTED", "MESSAGE",    "RECEIPT", "ERROR",
};

// The spec leaves CONNECT and CONNECTED unescaped so that 1.0 peers can read them.
bool escapes_headers(stomp_command c, stomp_version v) noexcept {
  return v != stomp_version::v1_0 && c != stomp_command::connect &&
         c != stomp_command::connected;
}

// Decodes the escapes of one header name or value into out; false on an
// undefined escape (a fatal protocol error by the spec).
bool append_unescaped(std::string_view text, stomp_version v, std::string& out) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = text.find('\\', start);
    if (slash == std::string_view::npos) {
      out.append(text.substr(start));
      return true;
    }
    out.append(text.substr(start, slash - start));
    if (slash + 1 >= text.size()) return false;
    switch (text[slash + 1]) {
      case 'n': out.push_back('\n'); break;
      case 'c': out.push_back(':'); break;
      case '\\': out.push_back('\\'); break;
      case 'r':
        if (v != stomp_version::v1_2) return false;
        out.push_back('\r');
        break;
      default: return false;
    }
    start = slash + 2;
  }
}

// Parses a content-length value; nullopt unless it is 1..19 decimal digits.
std::optional<std::size_t> parse_length(std::string_view text) noexcept {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::size_t n = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(ch - '0');
  }
  return n;
}

}  // namespace

const char* stomp_command_name(stomp_command c) noexcept {
  const auto i = static_cast<std::size_t>(c);
  return i < std::size(kCommandNames) ? kCommandNames[i] : "UNKNOWN";
}

result<stomp_command> stomp_command_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < std::size(kCommandNames); ++i)
    if (name == kCommandNames[i]) return static_cast<stomp_command>(i);
  return {errc::stomp_unknown_command, "command"};
}

bool is_client_command(stomp_command c) noexcept {
  return static_cast<int>(c) <= static_cast<int>(stomp_command::disconnect);
}

bool stomp_command_has_body(stomp_command c) noexcept {
  return c == stomp_command::send || c == stomp_command::message || c == stomp_command::error;
}

const char* stomp_version_name(stomp_version v) noexcept {
  switch (v) {
    case stomp_version::v1_0: return "1.0";
    case stomp_version::v1_1: return "1.1";
    case stomp_version::v1_2: return "1.2";
  }
  return "1.2";
}

std::optional<std::string_view> stomp_frame::header(std::string_view name) const noexcept {
  for (const auto& h : headers)
    if (h.name == name) return h.value;
  return std::nullopt;
}

stomp_frame_copy copy_frame(const stomp_frame& frame) {
  stomp_frame_copy copy;
  copy.command = frame.command;
  copy.headers.reserve(frame.headers.size());
  for (const auto& h : frame.headers) copy.headers.emplace_back(h.name, h.value);
  copy.body = frame.body;
  return copy;
}

void append_stomp_escaped(std::string_view text, std::string& out, stomp_version version) {
  if (version == stomp_version::v1_0) {
    out.append(text);
    return;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char* escape = nullptr;
    switch (text[i]) {
      case '\n': escape = "\\n"; break;
      case ':': escape = "\\c"; break;
      case '\\': escape = "\\\\"; break;
      case '\r':
        if (version == stomp_version::v1_2) escape = "\\r";
        break;
      default: break;
    }
    if (escape == nullptr) continue;
    out.append(text.substr(start, i - start));
    out.append(escape);
    start = i + 1;
  }
  out.append(text.substr(start));
}

namespace {

void encode_header(std::string_view name, std::string_view value, bool escape,
                   stomp_version version, std::string& out) {
  if (escape) {
    append_stomp_escaped(name, out, version);
    out.push_back(':');
    append_stomp_escaped(value, out, version);
  } else {
    assert(name.find_first_of(":\r\n") == std::string_view::npos);
    assert(value.find_first_of("\r\n") == std::string_view::npos);
    out.append(name);
    out.push_back(':');
    out.append(value);
  }
  out.push_back('\n');
}

}  // namespace

void encode_frame(const stomp_frame& frame, std::string& out, stomp_version version) {
  const bool escape = escapes_headers(frame.command, version);
  out.append(stomp_command_name(frame.command));
  out.push_back('\n');
  bool has_length = false;
  for (const auto& h : frame.headers) {
    has_length = has_length || h.name == "content-length";
    encode_header(h.name, h.value, escape, version, out);
  }
  if (!frame.body.empty() && !has_length) {
    out.append("content-length:");
    out.append(std::to_string(frame.body.size()));
    out.push_back('\n');
  }
  out.push_back('\n');
  out.append(frame.body);
  out.push_back('\0');
}

void encode_frame(const stomp_frame_copy& frame, std::string& out, stomp_version version) {
  std::vector<stomp_header> views;
  views.reserve(frame.headers.size());
  for (const auto& [name, value] : frame.headers) views.push_back({name, value});
  encode_frame(stomp_frame{frame.command, views, frame.body}, out, version);
}

stomp_parser::stomp_parser(stomp_limits limits, stomp_version version)
    : limits_(limits), version_(version) {}

result<stomp_parser::step> stomp_parser::fail(errc code, const char* field) {
  failed_ = status_result(code, field);
  return {code, field};
}

void stomp_parser::reset_frame() {
  text_.clear();
  offsets_.clear();
  headers_.clear();
  body_.clear();
  frame_ = {};
  frame_bytes_ = 0;
  body_remaining_ = 0;
}

status_result stomp_parser::count_frame_bytes(std::size_t n) {
  frame_bytes_ += n;
  if (frame_bytes_ > limits_.max_frame_bytes) return {errc::stomp_frame_too_large, "max_frame_bytes"};
  return {};
}

status_result stomp_parser::add_header(std::string_view line) {
  if (offsets_.size() >= limits_.max_headers) return {errc::stomp_too_many_headers, "max_headers"};
  const std::size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return {errc::stomp_invalid_header, "header"};
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = line.substr(colon + 1);
  header_offsets o{};
  o.name_begin = text_.size();
  if (escapes_headers(command_, version_)) {
    if (!append_unescaped(name, version_, text_)) return {errc::stomp_invalid_escape, "header"};
    o.name_size = text_.size() - o.name_begin;
    o.value_begin = text_.size();
    if (!append_unescaped(value, version_, text_)) return {errc::stomp_invalid_escape, "header"};
  } else {
    text_.append(name);
    o.name_size = name.size();
    o.value_begin = text_.size();
    text_.append(value);
  }
  o.value_size = text_.size() - o.value_begin;
  offsets_.push_back(o);
  return {};
}

status_result stomp_parser::end_headers() {
  // text_ does not change from here to the end of the frame: the views stay valid.
  std::optional<std::size_t> length;
  bool seen_length = false;
  for (const auto& o : offsets_) {
    const stomp_header h{std::string_view(text_).substr(o.name_begin, o.name_size),
                         std::string_view(text_).substr(o.value_begin, o.value_size)};
    headers_.push_back(h);
    if (!seen_length && h.name == "content-length") {
      seen_length = true;  // repeated headers: the first wins
      length = parse_length(h.value);
      if (!length) return {errc::stomp_invalid_content_length, "content-length"};
    }
  }
  if (length) {
    if (*length > limits_.max_body_bytes) return {errc::stomp_body_too_large, "max_body_bytes"};
    if (*length > 0 && !stomp_command_has_body(command_)) return {errc::stomp_body_not_allowed, "body"};
    body_remaining_ = *length;
    state_ = body_remaining_ > 0 ? state::body_length : state::frame_end;
  } else {
    state_ = state::body_null;
  }
  return {};
}

status_result stomp_parser::take_line(std::string_view line) {
  // EOL is LF or CR LF; a CR anywhere else is not allowed in a header line.
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > limits_.max_header_line_bytes)
    return {errc::stomp_header_line_too_long, "max_header_line_bytes"};
  const bool has_cr = line.find('\r') != std::string_view::npos;
  if (state_ == state::idle) {
    if (line.empty()) {
      ++heartbeats_;
      return {};
    }
    auto command = stomp_command_from_name(line);
    if (!command.ok()) return {command.error(), command.field()};
    command_ = *command;
    state_ = state::headers;
    return count_frame_bytes(line.size() + 1);
  }
  if (auto counted = count_frame_bytes(line.size() + 1); !counted.ok()) return counted;
  if (line.empty()) return end_headers();
  if (has_cr) return {errc::stomp_invalid_header, "header"};
  return add_header(line);
}

void stomp_parser::finish_frame() {
  frame_.command = command_;
  frame_.headers = headers_;
  frame_.body = body_;
  state_ = state::idle;
}

result<stomp_parser::step> stomp_parser::parse_some(std::string_view input) {
  if (failed_) return {failed_->code, failed_->field};
  if (frame_ready_) {
    frame_ready_ = false;
    reset_frame();
  }
  std::size_t i = 0;
  while (i < input.size()) {
    const std::string_view rest = input.substr(i);
    switch (state_) {
      case state::idle:
      case state::headers: {
        const std::size_t eol = rest.find('\n');
        const std::string_view piece = rest.substr(0, eol);
        // A NUL inside the command or headers means a frame without its blank line.
        if (piece.find('\0') != std::string_view::npos) {
          return fail(state_ == state::idle ? errc::stomp_unknown_command : errc::stomp_invalid_header,
                      state_ == state::idle ? "command" : "header");
        }
        if (eol == std::string_view::npos) {
          // +1: the line may still end with the CR of a CR LF.
          if (line_.size() + piece.size() > limits_.max_header_line_bytes + 1)
            return fail(errc::stomp_header_line_too_long, "max_header_line_bytes");
          line_.append(piece);
          i = input.size();
          break;
        }
        status_result taken;
        if (line_.empty()) {
          taken = take_line(piece);
        } else {
          line_.append(piece);
          taken = take_line(line_);
          line_.clear();
        }
        if (!taken.ok()) return fail(errc(taken.code.value()), taken.field);
        i += eol + 1;
        break;
      }
      case state::body_length: {
        const std::size_t n = std::min(body_remaining_, rest.size());
        if (auto counted = count_frame_bytes(n); !counted.ok())
          return fail(errc(counted.code.value()), counted.field);
        body_.append(rest.substr(0, n));
        body_remaining_ -= n;
        i += n;
        if (body_remaining_ == 0) state_ = state::frame_end;
        break;
      }
      case state::frame_end: {
        if (rest.front() != '\0') return fail(errc::stomp_missing_null, "body");
        if (auto counted = count_frame_bytes(1); !counted.ok())
          return fail(errc(counted.code.value()), counted.field);
        finish_frame();
        frame_ready_ = true;
        return step{i + 1, true};
      }
      case state::body_null: {
        const std::size_t nul = rest.find('\0');
        const std::string_view piece = rest.substr(0, nul);
        if (!piece.empty() && !stomp_command_has_body(command_))
          return fail(errc::stomp_body_not_allowed, "body");
        if (body_.size() + piece.size() > limits_.max_body_bytes)
          return fail(errc::stomp_body_too_large, "max_body_bytes");
        if (auto counted = count_frame_bytes(piece.size()); !counted.ok())
          return fail(errc(counted.code.value()), counted.field);
        body_.append(piece);
        if (nul == std::string_view::npos) {
          i = input.size();
          break;
        }
        i += nul;
        state_ = state::frame_end;
        break;
      }
    }
  }
  return step{i, false};
}

}  // namespace xiaoxiang
