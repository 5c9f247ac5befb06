// message_channel: a bidirectional channel of text messages that a protocol
// session (STOMP) runs on. The server implements it once per connection for
// each transport: a raw WebSocket connection, or a SockJS session whatever its
// transport (websocket, xhr-streaming, eventsource, polling, ...). The
// protocol layer never sees sockets, and the server never parses STOMP.
#pragma once

#include <cstddef>
#include <string_view>

namespace xiaoxiang {

class message_channel {
 public:
  virtual ~message_channel() = default;

  // Queues one text message to the peer; never blocks. Thread-safe: broker
  // callbacks call it from ingest threads while the server's I/O thread
  // writes. The message is copied before send() returns.
  virtual void send(std::string_view message) = 0;

  // Bytes queued to the peer and not yet written to the socket: the
  // session's measure of a slow consumer. Thread-safe.
  virtual std::size_t queued_bytes() const noexcept = 0;

  // The channel's hard cap on queued_bytes(): beyond it the channel closes
  // itself (code 1008); on_writable() follows a drain below half of it.
  // 0: the channel does not say.
  virtual std::size_t queue_limit_bytes() const noexcept { return 0; }

  // Closes the channel after what is queued has been written (a WebSocket
  // close with this code and reason, or a SockJS close frame). Idempotent;
  // thread-safe.
  virtual void close(int code, std::string_view reason) = 0;
  // The access_token query parameter of the request that opened the channel
  // (a WebSocket upgrade, a SockJS session's first request): credentials of
  // transports that cannot set an Authorization header (issue 9). "" when none.
  virtual std::string_view access_token() const noexcept { return {}; }
};

// What a server calls on the protocol session bound to a channel. Calls for
// one channel come from one thread at a time (the connection's strand).
class channel_handler {
 public:
  virtual ~channel_handler() = default;
  // One text message from the peer (for STOMP: any slice of the frame
  // stream; frames may span messages or share one).
  virtual void on_message(std::string_view message) = 0;
  // Periodic tick (about once a second) with the current time in ms, for
  // heart-beats and idle timeouts.
  virtual void on_tick(long long now_ms) = 0;
  // The queue drained below half of the session's bound: coalesced updates
  // may be sent now.
  virtual void on_writable() {}
  // The channel is gone (peer closed, error, or after close()). No other
  // call follows.
  virtual void on_closed() = 0;
};

}  // namespace xiaoxiang
