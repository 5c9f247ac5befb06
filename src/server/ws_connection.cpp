// WebSocket connections: the transport of raw WebSocket channels and of
// SockJS's websocket transport. Writes go through a bounded queue; a client
// that lets it grow beyond the cap is closed with 1008.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <utility>

#include "server_detail.hpp"

namespace xiaoxiang::server_detail {
namespace {
std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
websocket::close_reason make_reason(int code, std::string_view reason) {
  websocket::close_reason r;
  r.code = static_cast<std::uint16_t>(code);
  // A close reason is at most 123 bytes on the wire.
  reason = reason.substr(0, 123);
  r.reason.assign(reason.data(), reason.size());
  return r;
}
}  // namespace

ws_connection::ws_connection(server_stream&& stream, std::shared_ptr<web_server::impl> server)
    : ws_(std::move(stream)),
      server_(std::move(server)),
      tick_(ws_.get_executor()),
      messages_(server_->options.limits.messages_per_connection, steady_ns()),
      last_message_ms_(now_ms()) {
  server_->stats.connections_open.fetch_add(1, std::memory_order_relaxed);
  beast::error_code ec;
  const auto ep = ws_.next_layer().socket().remote_endpoint(ec);
  if (!ec) remote_ = ep.address().to_string();
}

ws_connection::~ws_connection() {
  server_->stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t ws_connection::queue_limit() const noexcept {
  return server_->options.limits.channel_queue_bytes;
}

void ws_connection::accept(beast_request req, std::string subprotocol,
                           std::shared_ptr<ws_sink> sink) {
  sink_ = std::move(sink);
  // Pings after idle time keep NATs open and notice dead peers; a live but
  // silent client (STOMP heart-beats 0,0) answers them and stays connected.
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
    res.set(http::field::server, "xiaoxiang");
    if (!subprotocol.empty()) res.set(http::field::sec_websocket_protocol, subprotocol);
  }));
  ws_.read_message_max(server_->options.limits.max_message_bytes);
  auto req_ptr = std::make_shared<beast_request>(std::move(req));
  ws_.async_accept(*req_ptr, [self = shared_from_this(), req_ptr](beast::error_code ec) {
    if (ec) return self->finish();
    self->server_->stats.websockets_open.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(self->mu_);
      self->open_ = true;
    }
    self->sink_->on_ws_open();
    self->do_read();
    self->do_tick();
    std::lock_guard lock(self->mu_);
    if (!self->writing_ && (!self->out_.empty() || self->close_requested_)) {
      self->writing_ = true;
      net::post(self->ws_.get_executor(), [self] { self->write_next(); });
    }
  });
}

void ws_connection::do_read() {
  ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        // Beast has answered with close 1009 (message too big).
        self->server_->stats.messages_too_large.fetch_add(1, std::memory_order_relaxed);
        self->server_->log("limit: websocket message from " + self->remote_ + " above " +
                           std::to_string(self->server_->options.limits.max_message_bytes) +
                           " bytes: closed 1009");
      }
      return self->finish();
    }
    self->last_message_ms_ = now_ms();
    if (self->rate_limited_ || !self->messages_.try_take(steady_ns())) {
      // Over the message rate: this message (and any after it) is dropped
      // and the connection closed (a client that floods would not recover
      // by itself); counted once per connection.
      self->buffer_.consume(self->buffer_.size());
      if (std::exchange(self->rate_limited_, true)) return self->do_read();
      self->server_->stats.messages_rate_limited.fetch_add(1, std::memory_order_relaxed);
      self->server_->log("limit: websocket from " + self->remote_ +
                         " over the message rate: closed 1008");
      self->close(1008, "message rate limit");
      return self->do_read();  // reads until the close handshake completes
    }
    const auto data = self->buffer_.cdata();
    const std::string_view text(static_cast<const char*>(data.data()), data.size());
    if (self->sink_) self->sink_->on_ws_message(text);
    self->buffer_.consume(self->buffer_.size());
    if (!self->finished_) self->do_read();
  });
}

void ws_connection::do_tick() {
  tick_.expires_after(std::chrono::seconds(1));
  tick_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->finished_) return;
    const long long now = now_ms();
    const auto idle = self->server_->options.limits.websocket_idle_timeout;
    if (idle.count() > 0 && now - self->last_message_ms_ >= idle.count() * 1000 &&
        !self->close_requested_) {
      self->server_->stats.websockets_idle_closed.fetch_add(1, std::memory_order_relaxed);
      self->server_->log("limit: websocket from " + self->remote_ + " idle for " +
                         std::to_string(idle.count()) + " s: closed 1001");
      self->close(1001, "idle timeout");
    }
    if (self->sink_) self->sink_->on_ws_tick(now);
    self->do_tick();
  });
}

void ws_connection::send(std::string_view text) {
  std::lock_guard lock(mu_);
  if (close_requested_ || finished_) return;
  const std::size_t limit = queue_limit();
  if (queued_.load(std::memory_order_relaxed) + text.size() > limit) {
    // Hard cap: never unbounded. The session was told the bound and should
    // have coalesced; close with "policy violation" and the reason.
    server_->stats.channels_overflowed.fetch_add(1, std::memory_order_relaxed);
    close_requested_ = true;
    close_reason_ = make_reason(1008, "send queue overflow");
    out_.clear();
  } else {
    queued_.fetch_add(text.size(), std::memory_order_relaxed);
    out_.emplace_back(text);
    if (queued_.load(std::memory_order_relaxed) > limit / 2) above_half_ = true;
  }
  if (open_ && !writing_) {
    writing_ = true;
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->write_next(); });
  }
}

void ws_connection::close(int code, std::string_view reason) {
  std::lock_guard lock(mu_);
  if (close_requested_ || finished_) return;
  close_requested_ = true;
  close_reason_ = make_reason(code, reason);
  if (open_ && !writing_) {
    writing_ = true;
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->write_next(); });
  }
}

// Runs on the strand with writing_ set.
void ws_connection::write_next() {
  std::unique_lock lock(mu_);
  if (finished_) {
    writing_ = false;
    return;
  }
  if (out_.empty()) {
    if (close_requested_ && !closing_sent_) {
      closing_sent_ = true;
      const auto reason = close_reason_;
      lock.unlock();
      ws_.async_close(reason, [self = shared_from_this()](beast::error_code) {
        // The read loop sees the close (or an error) and finishes.
        std::lock_guard l(self->mu_);
        self->writing_ = false;
      });
      return;
    }
    writing_ = false;
    const bool notify = above_half_ && sink_;
    above_half_ = false;
    lock.unlock();
    if (notify) sink_->on_ws_writable();
    return;
  }
  auto msg = std::make_shared<std::string>(std::move(out_.front()));
  out_.pop_front();
  lock.unlock();
  ws_.text(true);
  ws_.async_write(net::buffer(*msg), [self = shared_from_this(), msg](beast::error_code ec,
                                                                     std::size_t) {
    self->queued_.fetch_sub(msg->size(), std::memory_order_relaxed);
    if (ec) {
      {
        std::lock_guard l(self->mu_);
        self->writing_ = false;
      }
      return self->finish();
    }
    {
      std::lock_guard l(self->mu_);
      if (self->above_half_ &&
          self->queued_.load(std::memory_order_relaxed) < self->queue_limit() / 2) {
        self->above_half_ = false;
        if (self->sink_) {
          auto sink = self->sink_;
          net::post(self->ws_.get_executor(), [sink] { sink->on_ws_writable(); });
        }
      }
    }
    self->write_next();
  });
}

// Runs on the strand: the connection is over (peer closed, error, or stop).
void ws_connection::finish() {
  std::shared_ptr<ws_sink> sink;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    if (open_) server_->stats.websockets_open.fetch_sub(1, std::memory_order_relaxed);
    out_.clear();
    queued_.store(0, std::memory_order_relaxed);
    sink = std::move(sink_);
  }
  tick_.cancel();
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().close(ec);
  if (sink) sink->on_ws_closed();
}

namespace {

// A raw WebSocket channel: each WebSocket text message is one message of
// the channel, both ways.
class raw_channel final : public message_channel, public ws_sink {
 public:
  raw_channel(std::shared_ptr<ws_connection> conn, channel_factory factory)
      : conn_(std::move(conn)), factory_(std::move(factory)) {}
  ~raw_channel() override { handler_.reset(); }

  void send(std::string_view message) override { conn_->send(message); }
  std::size_t queued_bytes() const noexcept override { return conn_->queued_bytes(); }
  std::size_t queue_limit_bytes() const noexcept override { return conn_->queue_limit(); }
  void close(int code, std::string_view reason) override { conn_->close(code, reason); }

  void on_ws_open() override { handler_ = factory_(*this); }
  void on_ws_message(std::string_view text) override {
    if (handler_) handler_->on_message(text);
  }
  void on_ws_tick(long long now) override {
    if (handler_) handler_->on_tick(now);
  }
  void on_ws_writable() override {
    if (handler_) handler_->on_writable();
  }
  void on_ws_closed() override {
    if (handler_) handler_->on_closed();
    handler_.reset();
  }

 private:
  std::shared_ptr<ws_connection> conn_;
  channel_factory factory_;
  std::unique_ptr<channel_handler> handler_;
};

}  // namespace

void start_raw_websocket(const std::shared_ptr<http_connection>& conn, beast_request&& req,
                         const channel_factory& factory, web_server::impl& server) {
  std::shared_ptr<void> lease;
  if (server.options.admit_websocket) {
    lease = server.options.admit_websocket(to_http_request(req, conn->remote()));
    if (!lease) {
      server.stats.upgrades_refused.fetch_add(1, std::memory_order_relaxed);
      server.log("limit: websocket upgrade from " + conn->remote() + " refused by admit_websocket");
      conn->respond(conn->request_no(),
                    json_error(429, "too_many_connections", "connection",
                               "the connection limit of this client is reached"));
      return;
    }
  }
  const std::string protocol =
      choose_subprotocol(req[http::field::sec_websocket_protocol], server.options.websocket_subprotocols);
  auto ws = std::make_shared<ws_connection>(conn->release_stream(), server.shared_from_this());
  ws->hold(std::move(lease));
  auto channel = std::make_shared<raw_channel>(ws, factory);
  ws->accept(std::move(req), protocol, std::move(channel));
}

}  // namespace xiaoxiang::server_detail
