// One HTTP/1.x connection: reads requests, hands them to the router, writes
// responses (complete, held for long polling, or streamed in chunks) and
// notices a client that goes away while its request is held.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstdio>
#include <sys/socket.h>

#include "server_detail.hpp"

namespace xiaoxiang::server_detail {

// What a lingering close (http_connection::linger) reads and drops at most
// before it closes anyway: a client still sending more than this after its
// answer is not waited for.
constexpr std::size_t kLingerBytes = 4u << 20;

server_stream::server_stream(tcp::socket&& socket, ssl::context* tls) {
  if (tls) tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(socket), *tls);
  else plain_ = std::make_unique<beast::tcp_stream>(std::move(socket));
}

http_connection::http_connection(tcp::socket&& socket, std::shared_ptr<web_server::impl> server,
                                 ssl::context* tls)
    : stream_(std::move(socket), tls), server_(std::move(server)) {
  beast::error_code ec;
  const auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = ep.address().to_string();
  server_->stats.connections_open.fetch_add(1, std::memory_order_relaxed);
  server_->stats.connections_total.fetch_add(1, std::memory_order_relaxed);
}

http_connection::~http_connection() {
  server_->stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

void http_connection::start() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (self->stream_.is_tls()) self->do_handshake();
    else self->do_read();
  });
}

void http_connection::do_handshake() {
  stream_.layer().expires_after(server_->options.limits.tls_handshake_timeout);
  stream_.async_handshake([self = shared_from_this()](beast::error_code ec) {
    if (ec) {
      // Plain HTTP on the TLS port, an untrusted certificate on the client
      // side, or a client that never finished: counted, then closed.
      self->server_->stats.tls_handshakes_failed.fetch_add(1, std::memory_order_relaxed);
      self->server_->log("tls: handshake with " + self->remote_ + " failed: " + ec.message());
      return self->shut();
    }
    self->do_read();
  });
}

void http_connection::do_read() {
  if (server_->stopping.load()) return shut();
  state_ = state::reading;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(server_->options.limits.max_header_bytes));
  parser_->body_limit(server_->options.limits.max_request_body_bytes);
  stream_.layer().expires_after(requests_done_ == 0 ? server_->options.limits.request_timeout
                                            : server_->options.limits.keep_alive_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_connection::on_read, shared_from_this()));
}

void http_connection::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset) {
    return shut();
  }
  if (ec) {
    // Malformed or oversized input: answer once, then close.
    server_->stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
    int status = 400;
    std::string what = "malformed HTTP request: " + ec.message();
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      server_->stats.requests_too_large.fetch_add(1, std::memory_order_relaxed);
      server_->log("limit: request from " + remote_ + " too large: " + ec.message());
    }
    if (ec == http::error::body_limit) {
      status = 413;
      what = "request body is larger than " +
             std::to_string(server_->options.limits.max_request_body_bytes) + " bytes";
    } else if (ec == http::error::header_limit) {
      status = 431;
      what = "request head is larger than " +
             std::to_string(server_->options.limits.max_header_bytes) + " bytes";
    }
    keep_alive_ = false;
    version_ = 11;
    state_ = state::finishing;
    stream_.layer().expires_after(server_->options.limits.request_timeout);
    enqueue(serialize_response(json_error(status, status == 400 ? "bad_request" : "too_large",
                                          "request", what),
                               11, false));
    return;
  }
  server_->stats.requests.fetch_add(1, std::memory_order_relaxed);
  beast_request req = parser_->release();
  ++request_no_;
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  head_only_ = req.method() == http::verb::head;
  state_ = state::awaiting;
  on_gone_ = nullptr;
  stream_.layer().expires_never();
  server_->dispatch(shared_from_this(), std::move(req));
  // A handler that did not answer at once holds the request: watch the
  // socket so that a client that goes away is noticed.
  if (state_ == state::awaiting || state_ == state::streaming) arm_watch();
}

void http_connection::arm_watch() {
  if (watching_) return;
  if (buffer_.size() > 64 * 1024) return;  // a client pipelining this much can wait
  watching_ = true;
  stream_.async_read_some(
      buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->watching_ = false;
        if (!ec) {
          self->buffer_.commit(n);
          if (self->read_after_watch_) {
            self->read_after_watch_ = false;
            return self->do_read();
          }
          if (self->state_ == state::awaiting || self->state_ == state::streaming)
            return self->arm_watch();
          return;
        }
        if (self->read_after_watch_ && ec == net::error::operation_aborted) {
          self->read_after_watch_ = false;
          return self->do_read();
        }
        if (self->state_ == state::closed || self->state_ == state::upgraded) return;
        // The client is gone.
        self->shut();
      });
}

void http_connection::respond(std::uint64_t request_no, http_response r) {
  net::dispatch(stream_.get_executor(),
                [self = shared_from_this(), request_no, r = std::move(r)]() mutable {
                  if (request_no != self->request_no_ || self->state_ != state::awaiting) return;
                  self->state_ = state::finishing;
                  self->enqueue(serialize_response(r, self->version_, self->keep_alive_,
                                                   self->head_only_));
                });
}

http_responder http_connection::responder() {
  std::weak_ptr<http_connection> weak = shared_from_this();
  const std::uint64_t no = request_no_;
  return [weak, no](http_response r) {
    if (auto self = weak.lock()) self->respond(no, std::move(r));
  };
}

void http_connection::begin_stream(std::uint64_t request_no, http_response head) {
  net::dispatch(stream_.get_executor(),
                [self = shared_from_this(), request_no, head = std::move(head)]() mutable {
                  if (request_no != self->request_no_ || self->state_ != state::awaiting) return;
                  self->state_ = state::streaming;
                  if (self->version_ < 11) self->keep_alive_ = false;
                  self->enqueue(serialize_stream_head(head, self->version_));
                });
}

void http_connection::stream_write(std::string bytes) {
  if (bytes.empty()) return;
  queued_.fetch_add(bytes.size(), std::memory_order_relaxed);
  net::dispatch(stream_.get_executor(), [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
    self->queued_.fetch_sub(bytes.size(), std::memory_order_relaxed);
    if (self->state_ != state::streaming) return;
    if (self->version_ >= 11) {
      char size[24];
      std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
      std::string chunk;
      chunk.reserve(bytes.size() + 32);
      chunk += size;
      chunk += bytes;
      chunk += "\r\n";
      self->enqueue(std::move(chunk));
    } else {
      self->enqueue(std::move(bytes));
    }
  });
}

void http_connection::end_stream() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (self->state_ != state::streaming) return;
    self->state_ = state::finishing;
    if (self->version_ >= 11) self->enqueue("0\r\n\r\n");
    else self->after_drained();
  });
}

void http_connection::enqueue(std::string bytes) {
  queued_.fetch_add(bytes.size(), std::memory_order_relaxed);
  out_.push_back(std::move(bytes));
  if (!writing_) write_next();
}

void http_connection::write_next() {
  if (out_.empty()) {
    writing_ = false;
    return after_drained();
  }
  writing_ = true;
  net::async_write(stream_, net::buffer(out_.front()),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     self->queued_.fetch_sub(self->out_.front().size(), std::memory_order_relaxed);
                     self->out_.pop_front();
                     if (ec) {
                       self->writing_ = false;
                       return self->shut();
                     }
                     self->write_next();
                   });
}

void http_connection::after_drained() {
  if (state_ != state::finishing || writing_ || !out_.empty()) return;
  ++requests_done_;
  on_gone_ = nullptr;
  if (!keep_alive_ || server_->stopping.load()) {
    state_ = state::closed;
    if (stream_.is_tls() && !server_->stopping.load()) {
      // TLS: close_notify first, so the client sees a clean end of stream.
      stream_.layer().expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
      });
      return;
    }
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (!watching_ && !server_->stopping.load()) {
      stream_.layer().expires_after(std::chrono::seconds(2));
      return linger(kLingerBytes);
    }
    stream_.socket().close(ec);
    return;
  }
  if (watching_) {
    // The watch read is still pending: restart reading when it completes.
    read_after_watch_ = true;
    beast::error_code ec;
    stream_.socket().cancel(ec);
    return;
  }
  do_read();
}

void http_connection::linger(std::size_t budget) {
  lingering_ = true;
  // Into the read buffer, emptied each time: nothing read here is parsed.
  buffer_.clear();
  stream_.async_read_some(
      buffer_.prepare(16 * 1024),
      [self = shared_from_this(), budget](beast::error_code ec, std::size_t n) {
        if (!ec && n < budget && !self->server_->stopping.load()) return self->linger(budget - n);
        if (!self->lingering_) return;  // shut() closed it already
        self->lingering_ = false;
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
      });
}

server_stream http_connection::release_stream() {
  state_ = state::upgraded;
  return std::move(stream_);
}

void http_connection::close() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->shut(); });
}

void http_connection::probe_gone(std::function<void()> then) {
  net::dispatch(stream_.get_executor(), [self = shared_from_this(), then = std::move(then)] {
    if (self->state_ == state::awaiting || self->state_ == state::streaming) {
      // A peek of one byte: 0 is the client's FIN (or an error), which the
      // watch read may not have reported yet.
      char c = 0;
      const auto n = ::recv(self->stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) self->shut();
    }
    then();
  });
}

void http_connection::shut() {
  if (lingering_) {
    lingering_ = false;
    beast::error_code ignored;
    stream_.socket().close(ignored);  // the pending linger read completes, aborted
    return;
  }
  if (state_ == state::closed || state_ == state::upgraded) return;
  const bool held = state_ == state::awaiting || state_ == state::streaming;
  state_ = state::closed;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
  if (held && on_gone_) {
    auto fn = std::move(on_gone_);
    on_gone_ = nullptr;
    fn();
  }
}

}  // namespace xiaoxiang::server_detail
