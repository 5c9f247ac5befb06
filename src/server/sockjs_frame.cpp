#include "xiaoxiang/server/sockjs_frame.hpp"

#include <cstdint>

namespace xiaoxiang {
namespace {

constexpr const char* kField = "body";

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void append_utf8(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class parser {
 public:
  explicit parser(std::string_view text) : s_(text) {}

  void skip_space() noexcept {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }
  bool at_end() const noexcept { return i_ >= s_.size(); }
  char peek() const noexcept { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) noexcept {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  // Reads four hex digits; false when they are not there.
  bool hex4(std::uint32_t& v) noexcept {
    if (s_.size() - i_ < 4) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }

  // Parses a JSON string at the cursor (which is at '"') into out.
  bool string(std::string& out) {
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;  // JSON forbids raw controls
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {
            // A high surrogate: combine with a following low one if present.
            const std::size_t save = i_;
            std::uint32_t low = 0;
            if (s_.size() - i_ >= 6 && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
              i_ += 2;
              if (hex4(low) && low >= 0xDC00 && low < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
              } else {
                i_ = save;
                cp = 0xFFFD;
              }
            } else {
              cp = 0xFFFD;
            }
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            cp = 0xFFFD;
          }
          append_utf8(cp, out);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// Length of the valid UTF-8 sequence at s[i], with its code point; 0 when invalid.
std::size_t utf8_at(std::string_view s, std::size_t i, std::uint32_t& cp) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

bool server_escapes(std::uint32_t cp) noexcept {
  return (cp >= 0x200C && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
         (cp >= 0x2060 && cp <= 0x206F) || (cp >= 0xFFF0 && cp <= 0xFFFF);
}

void append_u_escape(std::uint32_t cp, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u";
  out.push_back(kHex[(cp >> 12) & 0xF]);
  out.push_back(kHex[(cp >> 8) & 0xF]);
  out.push_back(kHex[(cp >> 4) & 0xF]);
  out.push_back(kHex[cp & 0xF]);
}

}  // namespace

result<std::vector<std::string>> sockjs_decode_messages(std::string_view payload,
                                                        bool allow_bare_string,
                                                        const sockjs_decode_limits& limits) {
  if (payload.size() > limits.max_payload_bytes) return {errc::too_large, kField};
  parser p(payload);
  std::vector<std::string> messages;
  p.skip_space();
  if (allow_bare_string && p.peek() == '"') {
    messages.emplace_back();
    if (!p.string(messages.back())) return {errc::malformed_json, kField};
  } else {
    if (!p.eat('[')) return {errc::malformed_json, kField};
    p.skip_space();
    if (!p.eat(']')) {
      for (;;) {
        p.skip_space();
        if (p.peek() != '"') {
          // A JSON value that is not a string is a type error only when the
          // rest is still JSON-like; anything else is broken encoding.
          const char c = p.peek();
          const bool value_start = c == '{' || c == '[' || c == '-' || c == 't' || c == 'f' ||
                                   c == 'n' || (c >= '0' && c <= '9');
          return {value_start ? errc::wrong_type : errc::malformed_json, kField};
        }
        if (messages.size() >= limits.max_messages) return {errc::too_large, kField};
        messages.emplace_back();
        if (!p.string(messages.back())) return {errc::malformed_json, kField};
        p.skip_space();
        if (p.eat(']')) break;
        if (!p.eat(',')) return {errc::malformed_json, kField};
      }
    }
  }
  p.skip_space();
  if (!p.at_end()) return {errc::malformed_json, kField};
  return messages;
}

void sockjs_quote(std::string_view text, std::string& out) {
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (u < 0x20) append_u_escape(u, out);
          else out.push_back(c);
      }
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t len = utf8_at(text, i, cp);
    if (len == 0) {
      out.push_back(c);  // not UTF-8: leave the byte as it is
      ++i;
      continue;
    }
    if (server_escapes(cp)) append_u_escape(cp, out);
    else out.append(text.substr(i, len));
    i += len;
  }
  out.push_back('"');
}

void sockjs_append_message_frame(const std::vector<std::string>& messages, std::string& out) {
  out += "a[";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i) out.push_back(',');
    sockjs_quote(messages[i], out);
  }
  out.push_back(']');
}

std::string sockjs_close_frame(int code, std::string_view reason) {
  std::string out = "c[" + std::to_string(code) + ",";
  sockjs_quote(reason, out);
  out.push_back(']');
  return out;
}

bool is_valid_sockjs_callback(std::string_view callback) noexcept {
  if (callback.empty() || callback.size() > 64) return false;
  for (const char c : callback) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace xiaoxiang
