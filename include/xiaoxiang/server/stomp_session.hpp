// stomp_session: the STOMP 1.2 server side of one connection, on any
// message_channel (raw WebSocket, any SockJS transport, a test double).
// Clients CONNECT, SUBSCRIBE to `/topic/orders/{orderId}` or `/topic/riders`
// (resuming with `x-since-version`), and SEND events to `/app/tracking`,
// which go to tracker.ingest. Broker deliveries become MESSAGE frames; a slow
// consumer gets coalesced snapshots instead of an unbounded queue. See
// docs/stomp.md for the wire contract (headers, ERROR texts, close codes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/transport/message_channel.hpp"
#include "xiaoxiang/transport/stomp_frame.hpp"

namespace xiaoxiang {

class authenticator;
class broker;
class tracker;

// Close codes the session hands to message_channel::close (WebSocket codes).
inline constexpr int kStompCloseNormal = 1000;         // DISCONNECT
inline constexpr int kStompCloseProtocolError = 1002;  // after an ERROR frame
inline constexpr int kStompCloseTimeout = 4408;        // heart-beat or CONNECT timeout (after ERROR)

// The destination SEND frames go to (the article's @MessageMapping).
inline constexpr std::string_view kStompTrackingDestination = "/app/tracking";
// The resume header of SUBSCRIBE: the last version the client has seen.
inline constexpr std::string_view kStompSinceVersionHeader = "x-since-version";

// Settings of a session; the defaults suit browsers and rider apps.
struct stomp_session_options {
  stomp_limits limits{};                 // frame limits (bytes, headers, line, body)
  std::size_t max_subscriptions = 64;    // SUBSCRIBEs alive at once per connection
  std::size_t send_queue_bound_bytes = 1 << 20;  // queued bytes above which deltas are coalesced
  duration_ms heartbeat_send_ms = 10'000;    // sx: how often the server can send heart-beats (0: never)
  duration_ms heartbeat_receive_ms = 10'000; // sy: how often the server wants the client's (0: not)
  double heartbeat_tolerance = 2.0;      // silent beyond negotiated interval x this: closed
  duration_ms connect_timeout_ms = 30'000;   // no CONNECT within this after the first tick: closed (0: never)
  bool accept_older_versions = true;     // also negotiate 1.1 and 1.0 (else only 1.2)
  std::size_t max_transactions = 8;      // transactions open at once (BEGIN)
  std::size_t max_transaction_frames = 64;  // SEND frames buffered over all open transactions
  std::string server_name = "xiaoxiang/1.0";  // the CONNECTED frame's server header
  std::string session_id;                // the CONNECTED frame's session header; empty: generated
  // Called with the CONNECT frame (login, passcode, a JWT header ...); an
  // error refuses the connection with an ERROR naming its code. Null: everyone.
  std::function<status_result(const stomp_frame& connect)> authorize_connect;
  // Issue 9 (docs/security.md): the CONNECT frame's `Authorization: Bearer
  // <JWT>` header, or else the channel's access_token, makes the session's
  // principal; SUBSCRIBE and SEND are checked against its role once each
  // (ERROR access_denied, the same text whether the order exists or not),
  // and deliveries are projected to its role's view (once per message and
  // role, shared by all sessions). Null: an open server (everyone reads and
  // sends everything).
  std::shared_ptr<authenticator> auth;
};

// Counters of a session (monotonic). Sum them over sessions with +=.
struct stomp_metrics {
  std::uint64_t frames_in = 0;         // complete frames received
  std::uint64_t bytes_in = 0;          // bytes received (heart-beats included)
  std::uint64_t heartbeats_in = 0;     // heart-beat EOLs received
  std::uint64_t frames_out = 0;        // frames sent (CONNECTED, MESSAGE, RECEIPT, ERROR)
  std::uint64_t messages_out = 0;      // MESSAGE frames sent
  std::uint64_t bytes_out = 0;         // bytes sent (heart-beats included)
  std::uint64_t heartbeats_out = 0;    // heart-beat EOLs sent
  std::uint64_t sends_accepted = 0;    // SEND events the tracker accepted
  std::uint64_t sends_duplicate = 0;   // SEND events the tracker knew already
  // ERROR frames by kind:
  std::uint64_t errors_malformed = 0;  // the frame codec refused the bytes (700..705)
  std::uint64_t errors_limit = 0;      // a limit of stomp_limits or of transactions
  std::uint64_t errors_protocol = 0;   // not connected, version, headers, unexpected command, transaction
  std::uint64_t errors_destination = 0;   // unknown destination (or a bad order id in it)
  std::uint64_t errors_subscription = 0;  // subscription limit, duplicate id, unknown id
  std::uint64_t errors_send = 0;       // SEND refused: bad JSON, tracker rejection, no tracker
  std::uint64_t heartbeat_timeouts = 0;   // connections closed for silence
  std::uint64_t connect_timeouts = 0;     // connections closed for never sending CONNECT
  // Slow consumers:
  std::uint64_t coalesced = 0;            // order deltas not sent because the queue was over the bound
  std::uint64_t coalesced_snapshots = 0;  // snapshots sent instead (x-coalesced: true)
  std::uint64_t rider_positions_dropped = 0;  // /topic/riders messages dropped over the bound

  stomp_metrics& operator+=(const stomp_metrics& other) noexcept;
};

// The STOMP protocol on one channel. Calls of channel_handler come from one
// thread at a time (the connection's strand); broker callbacks come from
// ingest threads and are safe against them (UNSUBSCRIBE while a delivery
// runs, close while deliveries run). Destroying the session unsubscribes
// everything and waits for deliveries in flight.
class stomp_session final : public channel_handler {
 public:
  // `hub` and `channel` must outlive the session; `engine` may be null (then
  // SEND is refused with errc::stomp_send_not_accepted).
  stomp_session(stomp_session_options options, broker& hub, tracker* engine,
                message_channel& channel);
  ~stomp_session() override;
  stomp_session(const stomp_session&) = delete;
  stomp_session& operator=(const stomp_session&) = delete;

  void on_message(std::string_view message) override;  // a slice of the frame stream
  void on_tick(long long now_ms) override;  // heart-beats, timeouts, catching up slow subscriptions
  void on_writable() override;              // the queue drained: send coalesced snapshots
  void on_closed() override;                // unsubscribes everything

  bool connected() const noexcept;          // CONNECTED was sent and the session is open
  bool closed() const noexcept;             // closed (ERROR, DISCONNECT, timeout or on_closed)
  stomp_version version() const noexcept;   // the negotiated version (1.2 before CONNECT)
  duration_ms heartbeat_send_interval_ms() const noexcept;     // negotiated server->client (0: none)
  duration_ms heartbeat_receive_interval_ms() const noexcept;  // negotiated client->server (0: none)
  const std::string& session_id() const noexcept;
  std::size_t subscription_count() const noexcept;  // subscriptions alive
  stomp_metrics metrics() const noexcept;   // thread-safe

  struct impl;  // internal

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace xiaoxiang
