// Small HTTP helpers of the server: request views, percent-decoding,
// cookies, subprotocol choice and response serialization.
#include <cctype>
#include <chrono>
#include <ctime>
#include <sstream>

#include "server_detail.hpp"
#include "xiaoxiang/server/sockjs_frame.hpp"

namespace xiaoxiang {

namespace {
bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}
}  // namespace

std::string_view http_request::header(std::string_view name) const noexcept {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

std::optional<std::string> http_request::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    const auto eq = pair.find('=');
    std::string key;
    if (!server_detail::percent_decode(pair.substr(0, eq), key, true) || key != name) continue;
    std::string value;
    if (eq != std::string_view::npos &&
        !server_detail::percent_decode(pair.substr(eq + 1), value, true))
      return std::nullopt;
    return value;
  }
  return std::nullopt;
}

}  // namespace xiaoxiang

namespace xiaoxiang::server_detail {

long long now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string expires_in_one_year() {
  const std::time_t t = std::time(nullptr) + 365LL * 24 * 3600;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

http_response text_response(int status, std::string body, std::string content_type) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

http_response json_error(int status, std::string_view code, std::string_view field,
                         std::string_view message) {
  http_response r;
  r.status = status;
  r.body = "{\"error\":{\"code\":";
  sockjs_quote(code, r.body);
  r.body += ",\"field\":";
  sockjs_quote(field, r.body);
  r.body += ",\"message\":";
  sockjs_quote(message, r.body);
  r.body += "}}";
  return r;
}

bool percent_decode(std::string_view in, std::string& out, bool form) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return false;
      int v = 0;
      for (int k = 1; k <= 2; ++k) {
        const char h = in[i + static_cast<std::size_t>(k)];
        v <<= 4;
        if (h >= '0' && h <= '9') v |= h - '0';
        else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
        else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
        else return false;
      }
      out.push_back(static_cast<char>(v));
      i += 2;
    } else if (c == '+' && form) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    const auto eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name)
      return std::string(part.substr(eq + 1));
  }
  return {};
}

std::string choose_subprotocol(std::string_view offer, const std::vector<std::string>& ours) {
  std::vector<std::string_view> offered;
  while (!offer.empty()) {
    const auto comma = offer.find(',');
    std::string_view item = offer.substr(0, comma);
    offer = comma == std::string_view::npos ? std::string_view() : offer.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) offered.push_back(item);
  }
  // The server's preference wins: v12 before v11 before v10 whatever the
  // client's order, as Spring and ActiveMQ do.
  for (const auto& mine : ours)
    for (const auto& theirs : offered)
      if (mine == theirs) return mine;
  return {};
}

namespace {
http::response<http::string_body> to_beast(const http_response& r, unsigned version) {
  http::response<http::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(r.status));
  res.set(http::field::server, "xiaoxiang");
  if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.insert(k, v);
  return res;
}
}  // namespace

std::string serialize_response(const http_response& r, unsigned version, bool keep_alive,
                               bool head_only) {
  auto res = to_beast(r, version);
  const bool no_body = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
  if (!no_body) res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  std::ostringstream os;
  os << res.base();
  if (!head_only && !no_body) os << res.body();
  return std::move(os).str();
}

std::string serialize_stream_head(const http_response& r, unsigned version) {
  auto res = to_beast(r, version);
  if (version >= 11) {
    res.chunked(true);
    res.keep_alive(true);
  } else {
    res.keep_alive(false);
  }
  std::ostringstream os;
  os << res.base();
  return std::move(os).str();
}

http_request to_http_request(const beast_request& req, const std::string& remote) {
  http_request out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  const std::string_view target = req.target();
  const auto q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  if (!percent_decode(raw_path, out.path, false)) out.path = std::string(raw_path);
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  out.headers.reserve(static_cast<std::size_t>(std::distance(req.begin(), req.end())));
  for (const auto& f : req) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = req.body();
  out.remote_address = remote;
  return out;
}

}  // namespace xiaoxiang::server_detail
