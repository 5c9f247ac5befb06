// The SockJS protocol (sockjs-protocol 0.3.3, what sockjs-client 1.6 speaks):
// /info, the iframe page, sessions and their transports (websocket, xhr,
// xhr_streaming, eventsource, htmlfile, jsonp), heartbeats, close frames,
// the disconnect delay, CORS and cookies. A session is a message_channel;
// its protocol session (STOMP) is made by the mount's channel_factory.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <random>

#include "server_detail.hpp"
#include "xiaoxiang/server/sockjs_frame.hpp"

namespace xiaoxiang::server_detail {
namespace {

constexpr const char* kJs = "application/javascript; charset=UTF-8";
constexpr const char* kText = "text/plain; charset=UTF-8";
constexpr const char* kHtml = "text/html; charset=UTF-8";
constexpr const char* kAnotherConnection = "c[2010,\"Another connection still open\"]";

enum class transport { xhr, jsonp, xhr_streaming, eventsource, htmlfile, websocket };

bool is_streaming(transport t) noexcept {
  return t == transport::xhr_streaming || t == transport::eventsource || t == transport::htmlfile;
}

// How a frame travels in the body of each transport.
std::string format_frame(transport t, std::string_view frame, const std::string& callback) {
  std::string out;
  switch (t) {
    case transport::xhr:
    case transport::xhr_streaming:
      out.reserve(frame.size() + 1);
      out.append(frame);
      out.push_back('\n');
      break;
    case transport::eventsource:
      out.reserve(frame.size() + 10);
      out += "data: ";
      out.append(frame);
      out += "\r\n\r\n";
      break;
    case transport::htmlfile:
      out += "<script>\np(";
      sockjs_quote(frame, out);
      out += ");\n</script>\r\n";
      break;
    case transport::jsonp:
      out += "/**/";
      out += callback;
      out.push_back('(');
      sockjs_quote(frame, out);
      out += ");\r\n";
      break;
    case transport::websocket: out.assign(frame); break;
  }
  return out;
}

std::string iframe_page(const std::string& sockjs_url) {
  return "<!DOCTYPE html>\n"
         "<html>\n"
         "<head>\n"
         "  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
         "  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
         "  <script src=\"" + sockjs_url + "\"></script>\n"
         "  <script>\n"
         "    document.domain = document.domain;\n"
         "    SockJS.bootstrap_iframe();\n"
         "  </script>\n"
         "</head>\n"
         "<body>\n"
         "  <h2>Don't panic!</h2>\n"
         "  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n"
         "</body>\n"
         "</html>";
}

std::string htmlfile_prelude(const std::string& callback) {
  std::string html =
      "<!doctype html>\n"
      "<html><head>\n"
      "  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
      "  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
      "</head><body><h2>Don't panic!</h2>\n"
      "  <script>\n"
      "    document.domain = document.domain;\n"
      "    var c = parent." + callback + ";\n"
      "    c.start();\n"
      "    function p(d) {c.message(d);};\n"
      "    window.onload = function() {c.stop();};\n"
      "  </script>";
  // Browsers render (and run scripts of) a streamed page only after ~1 KiB.
  if (html.size() < 1024) html.append(1024 - html.size(), ' ');
  html += "\r\n\r\n";
  return html;
}

std::uint64_t fnv1a(std::string_view s) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::uint32_t entropy() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return static_cast<std::uint32_t>(gen());
}

}  // namespace

// Where a session's frames go: one HTTP request (polling or streaming) or a
// WebSocket. Methods are called on the session's strand.
struct sockjs_service::receiver {
  virtual ~receiver() = default;
  // Sends one frame; false when the receiver is done after it (a polling
  // response, or a streaming response past its limit).
  virtual bool send_frame(std::string_view frame) = 0;
  // Ends the request / connection without a frame.
  virtual void finish() = 0;
  virtual std::size_t queued_bytes() const noexcept = 0;
  // Runs `then` once the receiver's transport has been checked for a client
  // that already went away (whose receiver_gone then comes first).
  virtual void probe(std::function<void()> then) = 0;
};

namespace {

class http_receiver final : public sockjs_service::receiver {
 public:
  http_receiver(std::shared_ptr<http_connection> conn, std::uint64_t request_no, transport t,
                std::string callback, http_response head, std::size_t limit)
      : conn_(std::move(conn)), request_no_(request_no), t_(t), callback_(std::move(callback)),
        head_(std::move(head)), limit_(limit) {}

  bool send_frame(std::string_view frame) override {
    if (done_) return false;
    std::string bytes = format_frame(t_, frame, callback_);
    if (!is_streaming(t_)) {
      http_response r = head_;
      r.body = std::move(bytes);
      conn_->respond(request_no_, std::move(r));
      done_ = true;
      return false;
    }
    sent_ += bytes.size();
    conn_->stream_write(std::move(bytes));
    if (sent_ >= limit_) {
      conn_->end_stream();
      done_ = true;
      return false;
    }
    return true;
  }
  void finish() override {
    if (done_) return;
    done_ = true;
    if (is_streaming(t_)) conn_->end_stream();
    else conn_->close();
  }
  std::size_t queued_bytes() const noexcept override { return conn_->queued_bytes(); }
  void probe(std::function<void()> then) override { conn_->probe_gone(std::move(then)); }

 private:
  std::shared_ptr<http_connection> conn_;
  std::uint64_t request_no_;
  transport t_;
  std::string callback_;
  http_response head_;
  std::size_t limit_;
  std::size_t sent_ = 0;
  bool done_ = false;
};

class ws_receiver final : public sockjs_service::receiver {
 public:
  explicit ws_receiver(std::shared_ptr<ws_connection> ws) : ws_(std::move(ws)) {}
  bool send_frame(std::string_view frame) override {
    ws_->send(frame);
    return true;
  }
  void finish() override { ws_->close(1000, "Normal closure"); }
  std::size_t queued_bytes() const noexcept override { return ws_->queued_bytes(); }
  void probe(std::function<void()> then) override { then(); }

 private:
  std::shared_ptr<ws_connection> ws_;
};

}  // namespace

// One SockJS session. Its state lives on its strand; send() may come from
// any thread and only touches the pending queue under `mu`.
struct sockjs_service::session final : message_channel,
                                       std::enable_shared_from_this<sockjs_service::session> {
  enum class state { connecting, open, closing, closed };

  session(std::weak_ptr<sockjs_service> owner, std::string session_id, web_server::impl& srv,
          channel_factory make)
      : service(std::move(owner)), id(std::move(session_id)), server(srv),
        strand(net::make_strand(srv.io)), timer(strand), factory(std::move(make)) {
    server.stats.sockjs_sessions_open.fetch_add(1, std::memory_order_relaxed);
  }
  ~session() override {
    handler.reset();
    server.stats.sockjs_sessions_open.fetch_sub(1, std::memory_order_relaxed);
  }

  // message_channel ---------------------------------------------------------
  void send(std::string_view message) override {
    bool post_flush = false;
    bool overflow = false;
    {
      std::lock_guard lock(mu);
      if (refusing) return;
      const std::size_t limit = server.options.limits.channel_queue_bytes;
      if (pending_bytes + message.size() + receiver_queued.load(std::memory_order_relaxed) > limit) {
        overflow = true;
        refusing = true;
        pending.clear();
        pending_bytes = 0;
      } else {
        pending.emplace_back(message);
        pending_bytes += message.size();
        if (pending_bytes > limit / 2) above_half = true;
        post_flush = !flush_posted;
        flush_posted = true;
      }
    }
    if (overflow) {
      server.stats.channels_overflowed.fetch_add(1, std::memory_order_relaxed);
      net::post(strand, [self = shared_from_this()] { self->do_close(1008, "send queue overflow"); });
    } else if (post_flush) {
      net::post(strand, [self = shared_from_this()] { self->flush(); });
    }
  }
  std::size_t queued_bytes() const noexcept override {
    std::lock_guard lock(mu);
    return pending_bytes + receiver_queued.load(std::memory_order_relaxed);
  }
  std::size_t queue_limit_bytes() const noexcept override {
    return server.options.limits.channel_queue_bytes;
  }
  void close(int code, std::string_view reason) override {
    net::post(strand, [self = shared_from_this(), code, r = std::string(reason)] {
      self->do_close(code, r);
    });
  }

  // Strand-only ---------------------------------------------------------------
  void start_timer() {
    const auto& o = server.options.sockjs;
    const auto shortest = std::min(o.heartbeat, o.disconnect_delay);
    tick_period = std::clamp(shortest / 4, std::chrono::milliseconds(10),
                             std::chrono::milliseconds(1000));
    arm_timer();
  }
  void arm_timer() {
    timer.expires_after(tick_period);
    timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->st == state::closed) return;
      self->tick();
      if (self->st != state::closed) self->arm_timer();
    });
  }

  void tick() {
    const long long now = now_ms();
    if (recv) receiver_queued.store(recv->queued_bytes(), std::memory_order_relaxed);
    if (handler && now - last_handler_tick >= 1000) {
      last_handler_tick = now;
      handler->on_tick(now);
    }
    const auto& o = server.options.sockjs;
    if (recv && st == state::open && now - last_sent >= o.heartbeat.count()) send_to_receiver("h");
    if (!recv && now - detached_since >= o.disconnect_delay.count()) expire();
  }

  // A transport request arrived for this session.
  void attach(std::shared_ptr<receiver> r, bool probed = false) {
    if (st == state::closed) {
      r->send_frame(sockjs_close_frame(3000, "Go away!"));
      r->finish();
      return;
    }
    if (st == state::closing) {
      // What the session queued before it closed (say, the RECEIPT of a
      // DISCONNECT) goes out first: a polling client, which had no request
      // waiting when the session closed, gets it now and the close frame
      // with its next poll.
      std::vector<std::string> batch;
      {
        std::lock_guard lock(mu);
        batch.swap(pending);
        pending_bytes = 0;
      }
      if (!batch.empty()) {
        std::string frame;
        sockjs_append_message_frame(batch, frame);
        if (!r->send_frame(frame)) return;
      }
      if (r->send_frame(close_frame)) r->finish();
      return;
    }
    if (recv) {
      if (!probed) {
        // The holder may have closed a moment ago, its FIN not yet seen
        // (sockjs-protocol HandlingClose.test_abort_*): ask its connection
        // first; a client that is gone ends the session before the retry.
        recv->probe([self = shared_from_this(), r] {
          net::post(self->strand, [self, r] { self->attach(r, true); });
        });
        return;
      }
      if (r->send_frame(kAnotherConnection)) r->finish();
      return;
    }
    recv = std::move(r);
    if (st == state::connecting) {
      st = state::open;
      send_to_receiver("o");
      last_handler_tick = now_ms();
      handler = factory(*this);
    }
    flush();
  }

  void send_to_receiver(std::string_view frame) {
    if (!recv) return;
    last_sent = now_ms();
    if (!recv->send_frame(frame)) detach();
  }
  void detach() {
    recv.reset();
    receiver_queued.store(0, std::memory_order_relaxed);
    detached_since = now_ms();
  }

  void flush() {
    std::vector<std::string> batch;
    bool writable = false;
    {
      std::lock_guard lock(mu);
      flush_posted = false;
      if (!recv || st != state::open || pending.empty()) return;
      batch.swap(pending);
      pending_bytes = 0;
      writable = above_half;
      above_half = false;
    }
    std::string frame;
    sockjs_append_message_frame(batch, frame);
    send_to_receiver(frame);
    if (writable && handler) handler->on_writable();
  }

  void on_messages(std::vector<std::string> messages) {
    if (st != state::open || !handler) return;
    for (const auto& m : messages) {
      if (!handler) break;
      handler->on_message(m);
    }
  }

  void do_close(int code, std::string_view reason) {
    if (st != state::open && st != state::connecting) return;
    flush();  // what the session queued before closing still goes out
    st = state::closing;
    close_frame = sockjs_close_frame(code, reason);
    {
      std::lock_guard lock(mu);
      refusing = true;
    }
    if (recv) {
      last_sent = now_ms();
      if (recv->send_frame(close_frame)) recv->finish();
      detach();
    }
    notify_closed();
  }

  // The receiving request or WebSocket went away without finishing.
  void receiver_gone(const receiver* r) {
    if (recv.get() != r) return;
    detach();
    if (st == state::open) {
      st = state::closing;
      close_frame = sockjs_close_frame(1002, "Connection interrupted");
      std::lock_guard lock(mu);
      refusing = true;
    }
    notify_closed();
    if (anonymous) expire();
  }

  void notify_closed() {
    if (!handler) return;
    auto h = std::move(handler);
    h->on_closed();
  }

  void expire() {
    if (st == state::closed) return;
    st = state::closed;
    timer.cancel();
    if (recv) {
      recv->finish();
      recv.reset();
    }
    notify_closed();
    if (auto svc = service.lock()) {
      std::lock_guard lock(svc->mu_);
      const auto it = svc->sessions_.find(id);
      if (it != svc->sessions_.end() && it->second.get() == this) svc->sessions_.erase(it);
    }
  }

  std::weak_ptr<sockjs_service> service;
  std::string id;
  web_server::impl& server;
  net::strand<net::io_context::executor_type> strand;
  net::steady_timer timer;
  channel_factory factory;
  std::chrono::milliseconds tick_period{1000};
  bool anonymous = false;  // a websocket session: not in the map, ends with its socket

  state st = state::connecting;
  std::shared_ptr<receiver> recv;
  std::string close_frame;
  long long last_sent = now_ms();
  long long detached_since = now_ms();
  long long last_handler_tick = 0;
  std::unique_ptr<channel_handler> handler;

  mutable std::mutex mu;
  std::vector<std::string> pending;
  std::size_t pending_bytes = 0;
  bool flush_posted = false;
  bool refusing = false;
  bool above_half = false;
  std::atomic<std::size_t> receiver_queued{0};
};

namespace {

// The channel a protocol session sees when the opening request carried an
// access_token query parameter (issue 9): the transport's channel, plus the
// token. It lives inside the handler it wraps, so it outlives that handler.
class token_channel final : public message_channel {
 public:
  token_channel(message_channel& inner, std::string token) : inner_(inner), token_(std::move(token)) {}
  void send(std::string_view message) override { inner_.send(message); }
  std::size_t queued_bytes() const noexcept override { return inner_.queued_bytes(); }
  std::size_t queue_limit_bytes() const noexcept override { return inner_.queue_limit_bytes(); }
  void close(int code, std::string_view reason) override { inner_.close(code, reason); }
  std::string_view access_token() const noexcept override { return token_; }

 private:
  message_channel& inner_;
  std::string token_;
};

class token_handler final : public channel_handler {
 public:
  token_handler(message_channel& channel, std::string token, const channel_factory& make)
      : channel_(channel, std::move(token)), inner_(make(channel_)) {}
  void on_message(std::string_view message) override { inner_->on_message(message); }
  void on_tick(long long now_ms) override { inner_->on_tick(now_ms); }
  void on_writable() override { inner_->on_writable(); }
  void on_closed() override { inner_->on_closed(); }

 private:
  token_channel channel_;
  std::unique_ptr<channel_handler> inner_;  // destroyed before channel_
};

// The factory for a channel opened by `request`: `make` itself, or wrapped
// so that the session can read the request's access_token.
channel_factory with_access_token(const channel_factory& make, const http_request& request) {
  auto token = request.query_param("access_token");
  if (!token || token->empty()) return make;
  return [make, t = std::move(*token)](message_channel& channel) -> std::unique_ptr<channel_handler> {
    return std::make_unique<token_handler>(channel, t, make);
  };
}

// The websocket transport of a SockJS session: frames out, JSON arrays of
// messages in.
class sockjs_ws_sink final : public ws_sink {
 public:
  sockjs_ws_sink(std::shared_ptr<sockjs_service::session> s, std::shared_ptr<ws_connection> ws)
      : session_(std::move(s)), ws_(std::move(ws)) {}

  void on_ws_open() override {
    recv_ = std::make_shared<ws_receiver>(ws_);
    net::post(session_->strand, [s = session_, r = recv_] { s->attach(r); });
  }
  void on_ws_message(std::string_view text) override {
    if (text.empty()) return;  // sockjs-node ignores empty frames
    auto decoded = sockjs_decode_messages(text, true);
    if (!decoded) {
      // Broken framing: the protocol closes the connection.
      ws_->close(1002, "Broken framing.");
      return;
    }
    if (decoded->empty()) return;
    net::post(session_->strand, [s = session_, m = std::move(*decoded)]() mutable {
      s->on_messages(std::move(m));
    });
  }
  void on_ws_tick(long long) override {}
  void on_ws_writable() override {}
  void on_ws_closed() override {
    net::post(session_->strand, [s = session_, r = recv_] { s->receiver_gone(r.get()); });
    ws_.reset();
  }

 private:
  std::shared_ptr<sockjs_service::session> session_;
  std::shared_ptr<ws_connection> ws_;
  std::shared_ptr<ws_receiver> recv_;
};

bool valid_id_segment(std::string_view s) noexcept {
  return !s.empty() && s.find('.') == std::string_view::npos;
}

bool is_iframe_path(std::string_view p) noexcept {
  // "/iframe.html" or "/iframe-<version>.html" with no '/' in the version.
  if (p == "/iframe.html") return true;
  if (p.size() < 13 || p.substr(0, 8) != "/iframe-" || p.substr(p.size() - 5) != ".html") return false;
  return p.substr(8, p.size() - 13).find('/') == std::string_view::npos;
}

}  // namespace

sockjs_service::sockjs_service(std::string prefix, channel_factory factory,
                               sockjs_service_options service, web_server::impl& server)
    : prefix_(std::move(prefix)), factory_(std::move(factory)), service_(service), server_(server) {}

void sockjs_service::close_all() {
  std::vector<std::shared_ptr<session>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sessions_) all.push_back(s);
  }
  for (auto& s : all) net::post(s->strand, [s] { s->expire(); });
}

void sockjs_service::drop_all() {
  std::map<std::string, std::shared_ptr<session>, std::less<>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(sessions_);
  }
}

void sockjs_service::handle(const std::shared_ptr<http_connection>& conn, beast_request&& req,
                            const http_request& view) {
  const std::uint64_t no = conn->request_no();
  std::string_view target = req.target();
  target = target.substr(0, target.find('?'));
  std::string_view path = target.substr(prefix_.size());
  const http::verb method = req.method();
  const std::string_view origin = view.header("Origin");

  auto add_cors = [&](http_response& r) {
    if (!origin.empty()) {
      r.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
      r.headers.emplace_back("Access-Control-Allow-Credentials", "true");
    } else {
      r.headers.emplace_back("Access-Control-Allow-Origin", "*");
    }
    const std::string_view asked = view.header("Access-Control-Request-Headers");
    if (!asked.empty()) r.headers.emplace_back("Access-Control-Allow-Headers", std::string(asked));
  };
  auto add_no_cache = [](http_response& r) { r.headers.emplace_back("Cache-Control", kNoCache); };
  auto add_cookie = [&](http_response& r) {
    if (!service_.cookie_needed) return;
    std::string value = cookie_value(view.header("Cookie"), "JSESSIONID");
    if (value.empty()) value = "dummy";
    r.headers.emplace_back("Set-Cookie", "JSESSIONID=" + value + "; path=/");
  };
  auto respond = [&](http_response r) { conn->respond(no, std::move(r)); };
  auto not_found = [&] { respond(text_response(404, "Not found.\n")); };
  auto options_response = [&](const char* methods) {
    http_response r = text_response(204, "", "");
    r.headers.emplace_back("Cache-Control", "public, max-age=31536000");
    r.headers.emplace_back("Expires", expires_in_one_year());
    r.headers.emplace_back("Access-Control-Max-Age", "31536000");
    r.headers.emplace_back("Access-Control-Allow-Methods", methods);
    add_cors(r);
    add_cookie(r);
    respond(std::move(r));
  };
  auto method_not_allowed = [&](const char* allow) {
    http_response r = text_response(405, "", "");
    r.headers.emplace_back("Allow", allow);
    respond(std::move(r));
  };
  auto error_500 = [&](const char* what) {
    http_response r = text_response(500, what);
    add_no_cache(r);
    add_cors(r);
    add_cookie(r);
    server_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
    respond(std::move(r));
  };

  if (path.empty() || path == "/") {
    if (method != http::verb::get && method != http::verb::head) return not_found();
    return respond(text_response(200, "Welcome to SockJS!\n"));
  }
  if (path == "/info") {
    if (method == http::verb::options) return options_response("OPTIONS, GET");
    if (method != http::verb::get) return not_found();
    http_response r;
    r.content_type = "application/json; charset=UTF-8";
    r.body = std::string("{\"websocket\":") + (service_.websocket ? "true" : "false") +
             ",\"cookie_needed\":" + (service_.cookie_needed ? "true" : "false") +
             ",\"origins\":[\"*:*\"],\"entropy\":" + std::to_string(entropy()) + "}";
    add_no_cache(r);
    add_cors(r);
    return respond(std::move(r));
  }
  if (is_iframe_path(path)) {
    if (method != http::verb::get) return not_found();
    const std::string body = iframe_page(server_.options.sockjs.sockjs_url);
    char etag[24];
    std::snprintf(etag, sizeof etag, "\"%016llx\"", static_cast<unsigned long long>(fnv1a(body)));
    http_response r;
    if (view.header("If-None-Match") == etag) {
      r = text_response(304, "", "");
    } else {
      r = text_response(200, body, kHtml);
    }
    r.headers.emplace_back("Cache-Control", "public, max-age=31536000");
    r.headers.emplace_back("Expires", expires_in_one_year());
    r.headers.emplace_back("ETag", etag);
    return respond(std::move(r));
  }

  const bool upgrade = websocket::is_upgrade(req);
  auto websocket_checks = [&]() -> bool {
    if (method != http::verb::get) {
      method_not_allowed("GET");
      return false;
    }
    if (!upgrade) {
      const std::string_view up = view.header("Upgrade");
      server_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
      respond(text_response(400, up.empty() || !beast::iequals(up, "websocket")
                                     ? "Can \"Upgrade\" only to \"WebSocket\".\n"
                                     : "\"Connection\" must be \"Upgrade\".\n"));
      return false;
    }
    return true;
  };

  if (path == "/websocket") {
    if (!service_.websocket) return not_found();
    if (!websocket_checks()) return;
    return start_raw_websocket(conn, std::move(req), with_access_token(factory_, view), server_);
  }

  // /{server}/{session}/{transport}
  std::string_view rest = path.substr(1);
  const auto s1 = rest.find('/');
  if (s1 == std::string_view::npos) return not_found();
  const std::string_view server_id = rest.substr(0, s1);
  rest = rest.substr(s1 + 1);
  const auto s2 = rest.find('/');
  if (s2 == std::string_view::npos) return not_found();
  const std::string_view session_id = rest.substr(0, s2);
  const std::string_view kind = rest.substr(s2 + 1);
  if (!valid_id_segment(server_id) || !valid_id_segment(session_id) ||
      kind.find('/') != std::string_view::npos)
    return not_found();

  if (kind == "websocket") {
    if (!service_.websocket) return not_found();
    if (!websocket_checks()) return;
    // Each websocket is a session of its own (sockjs-node does the same).
    auto s = std::make_shared<session>(weak_from_this(), std::string(session_id), server_,
                                       with_access_token(factory_, view));
    s->anonymous = true;
    net::dispatch(s->strand, [s] { s->start_timer(); });
    auto ws = std::make_shared<ws_connection>(conn->release_stream(), server_.shared_from_this());
    auto sink = std::make_shared<sockjs_ws_sink>(s, ws);
    const std::string protocol = choose_subprotocol(req[http::field::sec_websocket_protocol],
                                                    server_.options.websocket_subprotocols);
    ws->accept(std::move(req), protocol, std::move(sink));
    return;
  }

  const bool is_send = kind == "xhr_send" || kind == "jsonp_send";
  if (kind == "xhr" || kind == "xhr_send" || kind == "xhr_streaming") {
    if (method == http::verb::options) return options_response("OPTIONS, POST");
    if (method != http::verb::post) return not_found();
  } else if (kind == "jsonp_send") {
    if (method != http::verb::post) return not_found();
  } else if (kind == "eventsource" || kind == "htmlfile" || kind == "jsonp") {
    if (method != http::verb::get) return not_found();
  } else {
    return not_found();
  }

  if (is_send) {
    std::shared_ptr<session> s;
    {
      std::lock_guard lock(mu_);
      const auto it = sessions_.find(session_id);
      if (it != sessions_.end()) s = it->second;
    }
    if (!s) return not_found();
    std::string payload;
    if (kind == "jsonp_send" &&
        view.header("Content-Type").substr(0, 33) == "application/x-www-form-urlencoded") {
      http_request form;
      form.query = req.body();
      payload = form.query_param("d").value_or(std::string());
    } else {
      payload = req.body();
    }
    if (payload.empty()) return error_500("Payload expected.");
    sockjs_decode_limits limits;
    limits.max_payload_bytes = server_.options.limits.max_request_body_bytes;
    auto decoded = sockjs_decode_messages(payload, false, limits);
    if (!decoded) return error_500("Broken JSON encoding.");
    if (!decoded->empty())
      net::post(s->strand, [s, m = std::move(*decoded)]() mutable { s->on_messages(std::move(m)); });
    http_response r;
    if (kind == "xhr_send") {
      r = text_response(204, "", kText);
    } else {
      r = text_response(200, "ok", kText);
    }
    add_no_cache(r);
    add_cors(r);
    add_cookie(r);
    return respond(std::move(r));
  }

  // A receiving transport.
  transport t = transport::xhr;
  std::string callback;
  if (kind == "jsonp" || kind == "htmlfile") {
    const auto c = view.query_param("c");
    if (!c || c->empty()) return error_500("\"callback\" parameter required");
    if (!is_valid_sockjs_callback(*c)) return error_500("invalid \"callback\" parameter");
    callback = *c;
    t = kind == "jsonp" ? transport::jsonp : transport::htmlfile;
  } else if (kind == "xhr_streaming") {
    t = transport::xhr_streaming;
  } else if (kind == "eventsource") {
    t = transport::eventsource;
  }

  http_response head;
  head.content_type = t == transport::eventsource ? "text/event-stream"
                      : t == transport::htmlfile  ? kHtml
                                                  : kJs;
  add_no_cache(head);
  add_cors(head);
  add_cookie(head);

  const std::size_t limit = service_.response_limit_bytes ? service_.response_limit_bytes
                                                          : server_.options.sockjs.response_limit_bytes;
  auto r = std::make_shared<http_receiver>(conn, no, t, callback, head, limit);
  if (is_streaming(t)) {
    conn->begin_stream(no, head);
    if (t == transport::xhr_streaming) conn->stream_write(std::string(2048, 'h') + "\n");
    else if (t == transport::eventsource) conn->stream_write("\r\n");
    else conn->stream_write(htmlfile_prelude(callback));
  }

  std::shared_ptr<session> s;
  bool created = false;
  {
    std::lock_guard lock(mu_);
    auto& slot = sessions_[std::string(session_id)];
    if (!slot) {
      slot = std::make_shared<session>(weak_from_this(), std::string(session_id), server_,
                                       with_access_token(factory_, view));
      created = true;
    }
    s = slot;
  }
  if (created) net::dispatch(s->strand, [s] { s->start_timer(); });
  std::weak_ptr<session> weak = s;
  std::weak_ptr<receiver> weak_r = r;
  conn->on_gone([weak, weak_r] {
    auto ss = weak.lock();
    if (!ss) return;
    net::post(ss->strand, [ss, weak_r] {
      if (auto rr = weak_r.lock()) ss->receiver_gone(rr.get());
    });
  });
  net::post(s->strand, [s, r] { s->attach(r); });
}

}  // namespace xiaoxiang::server_detail
