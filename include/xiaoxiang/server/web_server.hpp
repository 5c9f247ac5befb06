// web_server: the HTTP / WebSocket / SockJS server of xiaoxiang (Boost.Beast).
// One io_context run by a few threads serves every connection (no thread per
// connection; each connection and each SockJS session runs on its own
// strand). A host either lets the server own its io_context and threads, or
// mounts it in its own io_context (the second constructor) and runs that.
//
// What is served is mounted before start():
//  - SockJS services (mount_sockjs): the whole SockJS protocol under a prefix
//    ("/ws"), including the raw WebSocket at prefix + "/websocket";
//  - plain WebSocket endpoints (mount_websocket);
//  - HTTP handlers under a path prefix (mount_http), e.g. the tracking API;
//  - static files from options.static_root for every other GET.
// Each WebSocket connection or SockJS session is a message_channel; the
// channel_factory given at mount time makes its protocol session (STOMP).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xiaoxiang/security/ip_blocklist_file.hpp"
#include "xiaoxiang/security/token_bucket.hpp"
#include "xiaoxiang/transport/message_channel.hpp"

namespace boost::asio {
class io_context;
}

namespace xiaoxiang {

// Bounds that keep one client from taking the server down.
struct server_limits {
  std::size_t max_connections = 20'000;         // TCP connections at once; more are closed at accept
  std::size_t max_request_body_bytes = 1 << 20; // HTTP request bodies (413 beyond)
  std::size_t max_header_bytes = 16 * 1024;     // HTTP request head (431 beyond)
  std::size_t max_message_bytes = 1 << 20;      // one WebSocket message from a client
  std::chrono::seconds request_timeout{30};     // time to read one HTTP request
  std::chrono::seconds keep_alive_timeout{60};  // idle keep-alive connection before it is closed
  // Hard cap of bytes queued to one client (per WebSocket connection or
  // SockJS session): beyond it the channel is closed with code 1008. The
  // protocol session is told this bound (message_channel::queue_limit_bytes)
  // and gets on_writable() when the queue drains below half of it.
  std::size_t channel_queue_bytes = 1 << 20;

  // Issue 9's abuse limits (docs/server.md "Limits"). Each refusal is
  // counted in web_server_stats and logged through web_server_options::log.
  // New TCP connections per client IP address: beyond the bucket the socket
  // is closed at accept. rate_per_s <= 0: unlimited (the default).
  token_bucket_options connections_per_ip{.rate_per_s = 0, .burst = 100};
  // WebSocket messages per connection (raw WebSocket and SockJS's websocket
  // transport): the message over the bucket is dropped and the connection
  // closed with 1008 "message rate limit". rate_per_s <= 0: unlimited.
  token_bucket_options messages_per_connection{.rate_per_s = 0, .burst = 200};
  // A WebSocket connection from which no message arrived for this long is
  // closed with 1001 "idle timeout". 0: never (issue 6: a STOMP client that
  // negotiated heart-beats 0,0 may stay silent).
  std::chrono::seconds websocket_idle_timeout{0};
  // Time for a TLS client to complete its handshake.
  std::chrono::seconds tls_handshake_timeout{10};
};

// TLS for every mount (https:// and wss://). Both files empty: plain TCP.
struct tls_options {
  std::string certificate_chain_file;  // PEM: the server's certificate, then intermediates
  std::string private_key_file;        // PEM: its private key (unencrypted)
  bool enabled() const noexcept { return !certificate_chain_file.empty(); }
};

// The SockJS protocol's timings and the iframe page.
struct sockjs_options {
  std::chrono::milliseconds heartbeat{25'000};        // 'h' frame after this much silence
  std::chrono::milliseconds disconnect_delay{5'000};  // a session without a receiving request dies after this
  std::size_t response_limit_bytes = 128 * 1024;      // a streaming response is ended after this many bytes
  std::string sockjs_url = "/vendor/sockjs.min.js";   // the client script the iframe page loads
};

// Per-service switches of a SockJS mount.
struct sockjs_service_options {
  bool websocket = true;       // offer the websocket transport (/info "websocket")
  bool cookie_needed = false;  // send JSESSIONID cookies (load balancers with sticky sessions)
  std::size_t response_limit_bytes = 0;  // streaming response limit; 0: sockjs_options's
};

// A request as handlers see it (all bytes copied from the wire).
struct http_request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // percent-decoded path, without the query
  std::string query;   // raw query string (after '?'), not decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::string body;
  std::string remote_address;  // the peer's IP address

  // The first header of that name (case-insensitive), or "".
  std::string_view header(std::string_view name) const noexcept;
  // The percent-decoded value of a query parameter ('+' is a space), or nullopt.
  std::optional<std::string> query_param(std::string_view name) const;
};

// A response a handler produces. Content-Length is set by the server.
struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Completes a request; call it exactly once, from any thread (a long poll may
// call it seconds later). Calling it after the client went away is harmless.
using http_responder = std::function<void(http_response)>;
// Handles one request of a mounted prefix.
using http_handler = std::function<void(const http_request&, http_responder)>;
// Makes the protocol session of a new channel (one per WebSocket connection
// or SockJS session). The channel outlives the handler.
using channel_factory = std::function<std::unique_ptr<channel_handler>(message_channel&)>;
// Issue 9's hook: decides whether a request (HTTP, WebSocket upgrade, SockJS)
// may proceed; false answers 401 (or refuses the upgrade).
using authorize_callback = std::function<bool(const http_request&)>;
// Issue 9's per-token connection caps: called at each raw WebSocket upgrade
// (after authorize). It returns a lease the connection holds until it closes
// (its destructor is the "connection gone" signal), or nullptr to refuse the
// upgrade with 429.
using admit_callback = std::function<std::shared_ptr<void>(const http_request&)>;
// Receives one log line (limits hit, reloads); called from I/O threads.
using log_callback = std::function<void(std::string_view line)>;

struct web_server_options {
  std::string address = "127.0.0.1";  // address to listen on
  std::uint16_t port = 8080;           // 0: an ephemeral port (see web_server::port())
  unsigned threads = 0;                // I/O threads of an owned io_context; 0: hardware concurrency
  server_limits limits{};
  sockjs_options sockjs{};
  std::string static_root;             // folder served for other GETs ("" serves none)
  // Sec-WebSocket-Protocol values accepted, in the server's preference order.
  std::vector<std::string> websocket_subprotocols{"v12.stomp", "v11.stomp", "v10.stomp"};
  authorize_callback authorize;        // empty: every request is allowed
  admit_callback admit_websocket;      // empty: every upgrade is admitted
  tls_options tls{};                   // certificate and key: https/wss on this port
  // Client addresses refused at accept; the server re-reads the file when
  // its mtime changed (checked at most once a second, at accept), and the
  // host may call reload() itself (xiaoxiang serve does on SIGHUP). Null: none.
  std::shared_ptr<ip_blocklist_file> blocklist;
  // Log lines of the limits; at most ~20 a second get through (a flood is
  // not logged line by line), the rest are counted in log_lines_suppressed.
  log_callback log;
};

// Counters of a server (monotonic, except the *_open gauges).
struct web_server_stats {
  std::uint64_t connections_open = 0;     // TCP connections now
  std::uint64_t connections_total = 0;    // accepted since start
  std::uint64_t connections_refused = 0;  // closed at accept (max_connections)
  std::uint64_t requests = 0;             // HTTP requests read
  std::uint64_t websockets_open = 0;      // WebSocket connections now (raw and SockJS)
  std::uint64_t sockjs_sessions_open = 0; // SockJS sessions now (every transport)
  std::uint64_t channels_overflowed = 0;  // channels closed for exceeding channel_queue_bytes
  std::uint64_t bad_requests = 0;         // requests answered 4xx/5xx for malformed input
  // Issue 9's limits, one counter each.
  std::uint64_t connections_rate_limited = 0;  // closed at accept: connections_per_ip bucket empty
  std::uint64_t connections_blocklisted = 0;   // closed at accept: address in the blocklist
  std::uint64_t tls_handshakes_failed = 0;     // TLS handshake failed or timed out (incl. plain HTTP)
  std::uint64_t requests_too_large = 0;        // HTTP head or body above the limit (431 / 413)
  std::uint64_t messages_too_large = 0;        // WebSocket message above max_message_bytes (close 1009)
  std::uint64_t messages_rate_limited = 0;     // connections closed 1008 for the message rate
  std::uint64_t websockets_idle_closed = 0;    // WebSocket connections closed for websocket_idle_timeout
  std::uint64_t upgrades_refused = 0;          // WebSocket upgrades refused by admit_websocket (429)
  std::uint64_t blocklist_reloads = 0;         // blocklist file reloads that took effect
  std::uint64_t log_lines_suppressed = 0;      // log lines dropped by the log's own rate limit
};

class web_server {
 public:
  // Owns its io_context; start() runs it on options.threads threads.
  explicit web_server(web_server_options options);
  // Runs in the host's io_context; the host runs it (start() only binds and
  // accepts). The context must outlive the server.
  web_server(boost::asio::io_context& io, web_server_options options);
  ~web_server();  // stop()
  web_server(const web_server&) = delete;
  web_server& operator=(const web_server&) = delete;

  // Serves the SockJS protocol under `prefix` ("/ws": no trailing slash),
  // its raw WebSocket at prefix + "/websocket". Before start().
  void mount_sockjs(std::string prefix, channel_factory factory,
                    sockjs_service_options service = {});
  // A WebSocket endpoint at exactly `path`. Before start().
  void mount_websocket(std::string path, channel_factory factory);
  // HTTP requests whose path is `prefix` or starts with prefix + "/". The
  // longest matching prefix wins. Before start().
  void mount_http(std::string prefix, http_handler handler);

  // Binds and listens (throws xiaoxiang::error when it cannot), then accepts.
  void start();
  // Stops accepting, closes every connection and session, and (when the
  // server owns the io_context) joins its threads. Idempotent.
  void stop();

  std::uint16_t port() const noexcept;  // the bound port (after start())
  std::string url() const;              // "http://127.0.0.1:PORT" ("https://" with TLS)
  // The io_context the server runs in, for handlers' timers. An owned one
  // is destroyed by stop(): do not use it after.
  boost::asio::io_context& context() noexcept;
  web_server_stats stats() const;
  const web_server_options& options() const noexcept;

  struct impl;  // internal

 private:
  std::shared_ptr<impl> impl_;
};

// Mounts the SockJS protocol test services of sockjs-protocol's test suite:
// /echo, /close (closes at once with 3000 "Go away!"),
// /disabled_websocket_echo and /cookie_needed_echo.
void mount_sockjs_test_services(web_server& server);

}  // namespace xiaoxiang
