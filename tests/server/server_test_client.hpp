// A small blocking Beast client for the server tests: HTTP requests, raw
// streaming reads (chunked or HTTP/1.0) and WebSocket connections, all on
// 127.0.0.1.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace xiaoxiang::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

using header_list = std::vector<std::pair<std::string, std::string>>;

struct simple_response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool has(const std::string& name) const { return headers.count(name) > 0; }
  std::string get(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

inline std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One request on a new connection; the response read completely.
inline simple_response request(std::uint16_t port, http::verb method, const std::string& target,
                               const std::string& body = {}, const header_list& headers = {}) {
  net::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  stream.expires_after(std::chrono::seconds(10));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == http::verb::post) {
    req.body() = body;
    req.prepare_payload();
  }
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == http::verb::head) parser.skip(true);
  http::read(stream, buffer, parser);
  simple_response out;
  const auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers[lower(std::string(f.name_string()))] = std::string(f.value());
  out.body = res.body();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

inline simple_response get(std::uint16_t port, const std::string& target, const header_list& h = {}) {
  return request(port, http::verb::get, target, {}, h);
}
inline simple_response post(std::uint16_t port, const std::string& target, const std::string& body = {},
                            const header_list& h = {}) {
  return request(port, http::verb::post, target, body, h);
}

// A raw connection that sends a request and reads the response piece by
// piece: the head, then each chunk (HTTP/1.1) or whatever arrives (HTTP/1.0).
class stream_client {
 public:
  explicit stream_client(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  void send_raw(const std::string& bytes) { net::write(socket_, net::buffer(bytes)); }
  // Sends a request and reads the head; returns the status.
  int open(const std::string& method, const std::string& target, const header_list& headers = {},
           const std::string& version = "1.1") {
    std::string req = method + " " + target + " HTTP/" + version + "\r\nHost: 127.0.0.1\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    if (method == "POST") req += "Content-Length: 0\r\n";
    req += "\r\n";
    send_raw(req);
    fill_until("\r\n\r\n");
    const auto end = buf_.find("\r\n\r\n");
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    status_ = std::stoi(head.substr(9, 3));
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos + 2 < head.size()) {
      const auto next = head.find("\r\n", pos + 2);
      const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        headers_[lower(line.substr(0, colon))] = value;
      }
      pos = next;
    }
    chunked_ = lower(headers_["transfer-encoding"]) == "chunked";
    return status_;
  }
  const std::map<std::string, std::string>& headers() const { return headers_; }
  std::string header(const std::string& name) const {
    const auto it = headers_.find(name);
    return it == headers_.end() ? std::string() : it->second;
  }
  // The next chunk ("" for the last chunk or end of stream).
  std::string read_chunk() {
    if (!chunked_) {
      if (buf_.empty() && !read_some()) return {};
      std::string out;
      out.swap(buf_);
      return out;
    }
    if (!fill_until("\r\n")) return {};
    const auto eol = buf_.find("\r\n");
    const std::size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
    buf_.erase(0, eol + 2);
    while (buf_.size() < size + 2)
      if (!read_some()) return {};
    std::string out = buf_.substr(0, size);
    buf_.erase(0, size + 2);
    return out;
  }
  // Reads exactly n body bytes (HTTP/1.0 streams).
  std::string read_exactly(std::size_t n) {
    while (buf_.size() < n)
      if (!read_some()) break;
    std::string out = buf_.substr(0, n);
    buf_.erase(0, out.size());
    return out;
  }
  // True when the server closed the connection (after what is buffered).
  bool closed() {
    if (!buf_.empty()) return false;
    return !read_some();
  }
  void close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  bool read_some() {
    char tmp[65536];
    beast::error_code ec;
    const std::size_t n = socket_.read_some(net::buffer(tmp), ec);
    if (ec) return false;
    buf_.append(tmp, n);
    return true;
  }
  bool fill_until(const std::string& marker) {
    while (buf_.find(marker) == std::string::npos)
      if (!read_some()) return false;
    return true;
  }
  net::io_context io_;
  tcp::socket socket_;
  std::string buf_;
  int status_ = 0;
  bool chunked_ = false;
  std::map<std::string, std::string> headers_;
};

// A blocking WebSocket client.
class ws_client {
 public:
  ws_client(std::uint16_t port, const std::string& target, const std::string& protocols = {})
      : ws_(io_) {
    beast::get_lowest_layer(ws_).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws_.set_option(websocket::stream_base::decorator([protocols](websocket::request_type& req) {
      if (!protocols.empty()) req.set(http::field::sec_websocket_protocol, protocols);
    }));
    websocket::response_type res;
    ws_.handshake(res, "127.0.0.1", target);
    protocol_ = std::string(res[http::field::sec_websocket_protocol]);
  }
  const std::string& protocol() const { return protocol_; }
  void send(const std::string& text) {
    ws_.text(true);
    ws_.write(net::buffer(text));
  }
  // The next message; "" with closed() true when the server closed.
  std::string recv() {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws_.read(buffer, ec);
    if (ec) {
      closed_ = true;
      return {};
    }
    return beast::buffers_to_string(buffer.data());
  }
  bool closed() const { return closed_; }
  websocket::close_reason reason() const { return ws_.reason(); }
  void close() {
    beast::error_code ec;
    ws_.close(websocket::close_code::normal, ec);
  }
  websocket::stream<beast::tcp_stream>& stream() { return ws_; }

 private:
  net::io_context io_;
  websocket::stream<beast::tcp_stream> ws_;
  std::string protocol_;
  bool closed_ = false;
};

}  // namespace xiaoxiang::test
