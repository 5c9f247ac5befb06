// Internals of web_server shared by its translation units: the state of a
// server, an HTTP connection and a WebSocket connection. Not installed.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "xiaoxiang/server/web_server.hpp"

namespace xiaoxiang::server_detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using beast_request = http::request<http::string_body>;

class http_connection;
class ws_connection;
class sockjs_service;

// Milliseconds of the system clock (what channel_handler::on_tick gets).
long long now_ms() noexcept;

// "Cache-Control" value of responses that must never be cached.
inline constexpr const char* kNoCache = "no-store, no-cache, no-transform, must-revalidate, max-age=0";
// An HTTP date one year from now (Expires of cacheable responses).
std::string expires_in_one_year();
// A response with a body of that type.
http_response text_response(int status, std::string body,
                            std::string content_type = "text/plain; charset=UTF-8");
// {"error":{"code":..,"field":..,"message":..}} with that status.
http_response json_error(int status, std::string_view code, std::string_view field,
                         std::string_view message);
// Percent-decodes (with '+' as space when form is true); false on bad escapes.
bool percent_decode(std::string_view in, std::string& out, bool form);
// The value of a cookie in a Cookie header, or "".
std::string cookie_value(std::string_view cookie_header, std::string_view name);
// Chooses a subprotocol from a Sec-WebSocket-Protocol offer ("" for none).
std::string choose_subprotocol(std::string_view offer, const std::vector<std::string>& ours);
// Serializes a complete response for the request's HTTP version.
std::string serialize_response(const http_response& r, unsigned version, bool keep_alive,
                               bool head_only = false);
// Serializes only the head of a streaming response (chunked on HTTP/1.1).
std::string serialize_stream_head(const http_response& r, unsigned version);
// Makes the handler-facing copy of a request.
http_request to_http_request(const beast_request& req, const std::string& remote);

}  // namespace xiaoxiang::server_detail

namespace xiaoxiang {

struct web_server::impl : std::enable_shared_from_this<web_server::impl> {
  impl(server_detail::net::io_context* own_or_host, bool owned, web_server_options o);

  web_server_options options;
  std::unique_ptr<server_detail::net::io_context> owned_io;
  server_detail::net::io_context& io;
  bool owns_io = false;
  std::optional<server_detail::tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};
  bool started = false;

  struct websocket_mount {
    std::string path;
    channel_factory factory;
  };
  std::vector<websocket_mount> websockets;
  std::vector<std::shared_ptr<server_detail::sockjs_service>> sockjs;
  std::vector<std::pair<std::string, http_handler>> http_mounts;

  // Live connections, so that stop() can close them.
  std::mutex live_mu;
  std::map<const void*, std::weak_ptr<server_detail::http_connection>> live_http;
  std::map<const void*, std::weak_ptr<server_detail::ws_connection>> live_ws;

  struct counters {
    std::atomic<std::uint64_t> connections_open{0}, connections_total{0}, connections_refused{0},
        requests{0}, websockets_open{0}, sockjs_sessions_open{0}, channels_overflowed{0},
        bad_requests{0};
  } stats;

  void do_accept();
  // Routes one request read by `conn` (on its strand).
  void dispatch(const std::shared_ptr<server_detail::http_connection>& conn,
                server_detail::beast_request&& req);
  void serve_static(const std::shared_ptr<server_detail::http_connection>& conn,
                    const http_request& req);
  void close_everything();
};

}  // namespace xiaoxiang

namespace xiaoxiang::server_detail {

// One HTTP connection. Every member runs on the connection's strand; the
// public functions marked thread-safe post there.
class http_connection : public std::enable_shared_from_this<http_connection> {
 public:
  http_connection(tcp::socket&& socket, std::shared_ptr<web_server::impl> server);
  ~http_connection();
  void start();

  // Answers the request numbered `request_no` (thread-safe; ignored when
  // that request is no longer the current one).
  void respond(std::uint64_t request_no, http_response r);
  // A responder for the current request.
  http_responder responder();
  // Starts a streaming response (head now, body with stream_write; thread-safe).
  void begin_stream(std::uint64_t request_no, http_response head);
  // Appends body bytes of a streaming response (thread-safe).
  void stream_write(std::string bytes);
  // Ends a streaming response (thread-safe): last chunk, then keep-alive or close.
  void end_stream();
  // Called (on the strand) when the client goes away while the request is
  // held (not yet answered, or streaming). Set before returning from dispatch.
  void on_gone(std::function<void()> fn) { on_gone_ = std::move(fn); }
  // Bytes queued and not yet written (thread-safe).
  std::size_t queued_bytes() const noexcept { return queued_.load(std::memory_order_relaxed); }
  std::uint64_t request_no() const noexcept { return request_no_; }
  unsigned version() const noexcept { return version_; }
  // Hands the socket over to a WebSocket connection (on the strand).
  beast::tcp_stream release_stream();
  // Closes now (thread-safe).
  void close();
  const std::string& remote() const noexcept { return remote_; }
  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  enum class state { reading, awaiting, streaming, finishing, upgraded, closed };
  void do_read();
  void on_read(beast::error_code ec, std::size_t);
  void arm_watch();
  void enqueue(std::string bytes);
  void write_next();
  void after_drained();
  void shut();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<web_server::impl> server_;
  std::string remote_;
  state state_ = state::reading;
  std::uint64_t request_no_ = 0;
  std::uint64_t requests_done_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_only_ = false;
  bool watching_ = false;
  bool read_after_watch_ = false;
  std::deque<std::string> out_;
  bool writing_ = false;
  std::atomic<std::size_t> queued_{0};
  std::function<void()> on_gone_;
};

// The callbacks a WebSocket connection makes (on its strand).
class ws_sink {
 public:
  virtual ~ws_sink() = default;
  virtual void on_ws_open() = 0;
  virtual void on_ws_message(std::string_view text) = 0;
  virtual void on_ws_tick(long long now) = 0;
  virtual void on_ws_writable() = 0;
  virtual void on_ws_closed() = 0;
};

// One WebSocket connection (raw, or a SockJS session's websocket transport).
class ws_connection : public std::enable_shared_from_this<ws_connection> {
 public:
  ws_connection(beast::tcp_stream&& stream, std::shared_ptr<web_server::impl> server);
  ~ws_connection();
  // Completes the handshake; then reads and ticks until closed.
  void accept(beast_request req, std::string subprotocol, std::shared_ptr<ws_sink> sink);
  void send(std::string_view text);            // thread-safe, never blocks
  void close(int code, std::string_view reason);  // thread-safe; after what is queued
  std::size_t queued_bytes() const noexcept { return queued_.load(std::memory_order_relaxed); }
  std::size_t queue_limit() const noexcept;
  net::any_io_executor executor() { return ws_.get_executor(); }

 private:
  void do_read();
  void write_next();
  void do_tick();
  void finish();

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<web_server::impl> server_;
  std::shared_ptr<ws_sink> sink_;
  net::steady_timer tick_;
  std::mutex mu_;  // guards out_, close_*
  std::deque<std::string> out_;
  bool writing_ = false;
  bool open_ = false;
  bool close_requested_ = false;
  bool closing_sent_ = false;
  bool finished_ = false;
  bool above_half_ = false;
  websocket::close_reason close_reason_;
  std::atomic<std::size_t> queued_{0};
};

// Starts a raw WebSocket channel on `conn` for a request that asked to upgrade.
void start_raw_websocket(const std::shared_ptr<http_connection>& conn, beast_request&& req,
                         const channel_factory& factory, web_server::impl& server);

// A mounted SockJS service.
class sockjs_service : public std::enable_shared_from_this<sockjs_service> {
 public:
  sockjs_service(std::string prefix, channel_factory factory, sockjs_service_options service,
                 web_server::impl& server);
  const std::string& prefix() const noexcept { return prefix_; }
  // Handles a request under the prefix (on the connection's strand).
  void handle(const std::shared_ptr<http_connection>& conn, beast_request&& req,
              const http_request& view);
  void close_all();
  // Forgets every session (after the io_context stopped, before it is destroyed).
  void drop_all();
  struct session;
  struct receiver;

 private:
  std::string prefix_;
  channel_factory factory_;
  sockjs_service_options service_;
  web_server::impl& server_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<session>, std::less<>> sessions_;
  friend struct session;
};

}  // namespace xiaoxiang::server_detail
