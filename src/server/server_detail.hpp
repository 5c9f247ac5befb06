// Internals of web_server shared by its translation units: the state of a
// server, an HTTP connection and a WebSocket connection. Not installed.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "xiaoxiang/security/ip_blocklist_file.hpp"
#include "xiaoxiang/security/token_bucket.hpp"
#include "xiaoxiang/server/web_server.hpp"

namespace xiaoxiang::server_detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using beast_request = http::request<http::string_body>;
namespace ssl = net::ssl;

// The byte stream of a connection: plain TCP or TLS over TCP, chosen at run
// time, so that one http_connection / ws_connection serves both (Beast's
// HTTP and WebSocket algorithms take it as their next layer). Heap-held
// layers keep it cheap to move (at the WebSocket upgrade).
class server_stream {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  // A plain stream, or TLS (server side) when `tls` is not null.
  server_stream(tcp::socket&& socket, ssl::context* tls);
  server_stream(server_stream&&) noexcept = default;
  server_stream& operator=(server_stream&&) noexcept = default;

  executor_type get_executor() noexcept { return layer().get_executor(); }
  // The TCP layer (timeouts: expires_after applies to TLS records too).
  beast::tcp_stream& layer() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
  tcp::socket& socket() noexcept { return layer().socket(); }
  bool is_tls() const noexcept { return tls_ != nullptr; }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) tls_->async_read_some(buffers, std::forward<Handler>(handler));
    else plain_->async_read_some(buffers, std::forward<Handler>(handler));
  }
  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) tls_->async_write_some(buffers, std::forward<Handler>(handler));
    else plain_->async_write_some(buffers, std::forward<Handler>(handler));
  }
  // The TLS server handshake (TLS only).
  template <class Handler>
  void async_handshake(Handler&& handler) {
    tls_->async_handshake(ssl::stream_base::server, std::forward<Handler>(handler));
  }
  // Sends TLS close_notify and waits for the peer's (TLS only).
  template <class Handler>
  void async_shutdown(Handler&& handler) {
    tls_->async_shutdown(std::forward<Handler>(handler));
  }

  // WebSocket closing: TLS close_notify, then the TCP teardown.
  friend void teardown(beast::role_type role, server_stream& s, beast::error_code& ec) {
    if (s.tls_) teardown(role, *s.tls_, ec);  // beast's, for ssl_stream (ADL)
    else beast::websocket::teardown(role, s.plain_->socket(), ec);
  }
  template <class Handler>
  friend void async_teardown(beast::role_type role, server_stream& s, Handler&& handler) {
    if (s.tls_) async_teardown(role, *s.tls_, std::forward<Handler>(handler));  // ADL
    else beast::websocket::async_teardown(role, s.plain_->socket(), std::forward<Handler>(handler));
  }
  friend void beast_close_socket(server_stream& s) {
    beast::error_code ec;
    s.socket().close(ec);
  }

 private:
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::unique_ptr<beast::tcp_stream> plain_;
};

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
    std::atomic<std::uint64_t> connections_rate_limited{0}, connections_blocklisted{0},
        tls_handshakes_failed{0}, requests_too_large{0}, messages_too_large{0},
        messages_rate_limited{0}, websockets_idle_closed{0}, upgrades_refused{0},
        blocklist_reloads{0}, log_lines_suppressed{0};
  } stats;

  // TLS context (null: plain), built by start() from options.tls.
  std::unique_ptr<server_detail::ssl::context> tls;
  // Connection buckets per client address (idle full ones are pruned).
  std::mutex ip_mu;
  std::unordered_map<std::string, token_bucket> ip_buckets;
  std::int64_t ip_buckets_pruned_ns = 0;
  // When the blocklist file's mtime was last checked (steady ns).
  std::atomic<std::int64_t> blocklist_checked_ns{0};
  // The log's own rate limit.
  std::mutex log_mu;
  token_bucket log_bucket{{.rate_per_s = 20, .burst = 40}};

  // Whether a just-accepted peer may proceed (blocklist, then its address's
  // connection bucket); counts and logs a refusal.
  bool admit_peer(const std::string& address);
  // Logs a line through options.log (rate-limited; thread-safe).
  void log(const std::string& line);

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
  // `tls`: the server's TLS context, or null for plain HTTP.
  http_connection(tcp::socket&& socket, std::shared_ptr<web_server::impl> server,
                  ssl::context* tls);
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
  // Looks (on the strand, without reading) whether the client of a held
  // request has already closed its end: if so the connection is shut (and
  // on_gone runs) before `then` runs.
  void probe_gone(std::function<void()> then);
  // Bytes queued and not yet written (thread-safe).
  std::size_t queued_bytes() const noexcept { return queued_.load(std::memory_order_relaxed); }
  std::uint64_t request_no() const noexcept { return request_no_; }
  unsigned version() const noexcept { return version_; }
  // Hands the socket over to a WebSocket connection (on the strand).
  server_stream release_stream();
  // Closes now (thread-safe).
  void close();
  const std::string& remote() const noexcept { return remote_; }
  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  enum class state { reading, awaiting, streaming, finishing, upgraded, closed };
  void do_handshake();
  void do_read();
  void on_read(beast::error_code ec, std::size_t);
  void arm_watch();
  void enqueue(std::string bytes);
  void write_next();
  void after_drained();
  void shut();
  // Closing after the last answer (an error answer to a client that may
  // still be sending a body or head over the limit, Connection: close,
  // HTTP/1.0): read and drop what comes for a short while before closing,
  // so that the close does not reset the connection under the answer (the
  // client would see "connection reset" instead of the 413).
  void linger(std::size_t budget);

  server_stream stream_;
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
  bool lingering_ = false;  // closed, reading and dropping until the client stops (linger)
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
  ws_connection(server_stream&& stream, std::shared_ptr<web_server::impl> server);
  ~ws_connection();
  // Completes the handshake; then reads and ticks until closed.
  void accept(beast_request req, std::string subprotocol, std::shared_ptr<ws_sink> sink);
  void send(std::string_view text);            // thread-safe, never blocks
  void close(int code, std::string_view reason);  // thread-safe; after what is queued
  std::size_t queued_bytes() const noexcept { return queued_.load(std::memory_order_relaxed); }
  std::size_t queue_limit() const noexcept;
  net::any_io_executor executor() { return ws_.get_executor(); }
  // Holds admit_websocket's lease until the connection is destroyed.
  void hold(std::shared_ptr<void> lease) { lease_ = std::move(lease); }

 private:
  void do_read();
  void write_next();
  void do_tick();
  void finish();

  websocket::stream<server_stream> ws_;
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
  // Limits (strand only): the message bucket and the time of the last message.
  token_bucket messages_;
  long long last_message_ms_ = 0;
  bool rate_limited_ = false;  // closed for the message rate; later messages are dropped
  std::string remote_;
  std::shared_ptr<void> lease_;
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
