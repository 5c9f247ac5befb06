// web_server: listening, accepting, routing and the server's lifetime.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "server_detail.hpp"
#include "xiaoxiang/core/error.hpp"

namespace xiaoxiang {

using namespace server_detail;

namespace {
std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void web_server::impl::log(const std::string& line) {
  if (!options.log) return;
  {
    std::lock_guard lock(log_mu);
    if (!log_bucket.try_take(steady_ns())) {
      stats.log_lines_suppressed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  options.log(line);
}

bool web_server::impl::admit_peer(const std::string& address) {
  const std::int64_t now = steady_ns();
  if (options.blocklist) {
    // Poll the file's mtime at most once a second (one stat), at accept.
    auto checked = blocklist_checked_ns.load(std::memory_order_relaxed);
    if (now - checked >= 1'000'000'000 &&
        blocklist_checked_ns.compare_exchange_strong(checked, now, std::memory_order_relaxed) &&
        options.blocklist->reload_if_changed()) {
      stats.blocklist_reloads.fetch_add(1, std::memory_order_relaxed);
      log("blocklist: reloaded " + options.blocklist->path().string() + " (" +
          std::to_string(options.blocklist->current()->size()) + " ranges)");
    }
    if (options.blocklist->current()->contains(address)) {
      stats.connections_blocklisted.fetch_add(1, std::memory_order_relaxed);
      log("limit: connection from " + address + " refused: blocklisted");
      return false;
    }
  }
  const auto& rate = options.limits.connections_per_ip;
  if (rate.rate_per_s > 0) {
    std::lock_guard lock(ip_mu);
    // Forget addresses whose bucket is full again (they have not connected
    // for burst / rate seconds): the map stays as small as the busy set.
    if (ip_buckets.size() > 4096 && now - ip_buckets_pruned_ns > 1'000'000'000) {
      ip_buckets_pruned_ns = now;
      std::erase_if(ip_buckets, [now](const auto& kv) { return kv.second.full(now); });
    }
    auto it = ip_buckets.try_emplace(address, rate, now).first;
    if (!it->second.try_take(now)) {
      stats.connections_rate_limited.fetch_add(1, std::memory_order_relaxed);
      log("limit: connection from " + address + " refused: more than " +
          std::to_string(rate.burst) + " at once or " + std::to_string(rate.rate_per_s) + "/s");
      return false;
    }
  }
  return true;
}

web_server::impl::impl(net::io_context* host, bool owned, web_server_options o)
    : options(std::move(o)),
      owned_io(owned ? std::make_unique<net::io_context>() : nullptr),
      io(owned ? *owned_io : *host),
      owns_io(owned) {}

void web_server::impl::do_accept() {
  if (stopping.load() || !acceptor) return;
  acceptor->async_accept(net::make_strand(io), [self = shared_from_this()](beast::error_code ec,
                                                                          tcp::socket socket) {
    if (ec == net::error::operation_aborted || self->stopping.load()) return;
    if (!ec) {
      beast::error_code ignored;
      const auto peer = socket.remote_endpoint(ignored);
      const std::string address = ignored ? std::string() : peer.address().to_string();
      if (self->stats.connections_open.load() >= self->options.limits.max_connections) {
        self->stats.connections_refused.fetch_add(1, std::memory_order_relaxed);
        self->log("limit: connection from " + address + " refused: max_connections (" +
                  std::to_string(self->options.limits.max_connections) + ") reached");
        socket.close(ignored);
      } else if (!self->admit_peer(address)) {
        socket.close(ignored);
      } else {
        socket.set_option(tcp::no_delay(true), ignored);
        auto conn = std::make_shared<http_connection>(std::move(socket), self, self->tls.get());
        {
          std::lock_guard lock(self->live_mu);
          // Drop entries of connections that are gone while we are here.
          for (auto it = self->live_http.begin(); it != self->live_http.end();)
            it = it->second.expired() ? self->live_http.erase(it) : std::next(it);
          self->live_http[conn.get()] = conn;
        }
        conn->start();
      }
    }
    // Errors such as "too many open files" must not stop the accept loop.
    self->do_accept();
  });
}

void web_server::impl::dispatch(const std::shared_ptr<http_connection>& conn, beast_request&& req) {
  const http_request view = to_http_request(req, conn->remote());
  const std::uint64_t no = conn->request_no();
  if (options.authorize && !options.authorize(view)) {
    conn->respond(no, json_error(401, "unauthorized", "request", "the request is not authorised"));
    return;
  }
  std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));

  for (const auto& m : websockets) {
    if (path != m.path) continue;
    if (!websocket::is_upgrade(req)) {
      conn->respond(no, text_response(400, "Can \"Upgrade\" only to \"WebSocket\".\n"));
      return;
    }
    start_raw_websocket(conn, std::move(req), m.factory, *this);
    return;
  }
  for (const auto& s : sockjs) {
    const std::string& p = s->prefix();
    if (path == p || (path.size() > p.size() && path.substr(0, p.size()) == p && path[p.size()] == '/')) {
      s->handle(conn, std::move(req), view);
      return;
    }
  }
  const http_handler* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& [prefix, handler] : http_mounts) {
    const bool match = view.path == prefix ||
                       (view.path.size() > prefix.size() && view.path.compare(0, prefix.size(), prefix) == 0 &&
                        (view.path[prefix.size()] == '/' || prefix.back() == '/'));
    if (match && prefix.size() >= best_len) {
      best = &handler;
      best_len = prefix.size();
    }
  }
  if (best) {
    try {
      (*best)(view, conn->responder());
    } catch (const std::exception& e) {
      conn->respond(no, json_error(500, "internal", "request", e.what()));
    }
    return;
  }
  serve_static(conn, view);
}

void web_server::impl::close_everything() {
  for (auto& s : sockjs) s->close_all();
  std::vector<std::shared_ptr<http_connection>> conns;
  {
    std::lock_guard lock(live_mu);
    for (auto& [k, w] : live_http)
      if (auto c = w.lock()) conns.push_back(std::move(c));
    live_http.clear();
  }
  for (auto& c : conns) c->close();
}

web_server::web_server(web_server_options options)
    : impl_(std::make_shared<impl>(nullptr, true, std::move(options))) {}

web_server::web_server(boost::asio::io_context& io, web_server_options options)
    : impl_(std::make_shared<impl>(&io, false, std::move(options))) {}

web_server::~web_server() { stop(); }

void web_server::mount_sockjs(std::string prefix, channel_factory factory,
                              sockjs_service_options service) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  impl_->sockjs.push_back(
      std::make_shared<sockjs_service>(std::move(prefix), std::move(factory), service, *impl_));
}

void web_server::mount_websocket(std::string path, channel_factory factory) {
  impl_->websockets.push_back({std::move(path), std::move(factory)});
}

void web_server::mount_http(std::string prefix, http_handler handler) {
  impl_->http_mounts.emplace_back(std::move(prefix), std::move(handler));
}

void web_server::start() {
  if (impl_->started) return;
  if (impl_->options.tls.enabled()) {
    // TLS 1.2 and 1.3 only; the files are read now, so a bad path fails
    // start() rather than the first client.
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::single_dh_use);
    try {
      ctx->use_certificate_chain_file(impl_->options.tls.certificate_chain_file);
      ctx->use_private_key_file(impl_->options.tls.private_key_file, ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      throw error(make_error_code(errc::invalid_field),
                  "web_server: TLS certificate '" + impl_->options.tls.certificate_chain_file +
                      "' / key '" + impl_->options.tls.private_key_file + "': " + e.what());
    }
    impl_->tls = std::move(ctx);
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->options.address, ec);
  if (ec) throw error(make_error_code(errc::invalid_field), "web_server: address '" + impl_->options.address + "'");
  const tcp::endpoint endpoint(address, impl_->options.port);
  auto& acc = impl_->acceptor.emplace(impl_->io);
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    impl_->acceptor.reset();
    throw error(std::error_code(ec.value(), std::system_category()),
                "web_server: cannot listen on " + impl_->options.address + ":" +
                    std::to_string(impl_->options.port));
  }
  impl_->bound_port = acc.local_endpoint().port();
  impl_->started = true;
  impl_->do_accept();
  if (impl_->owns_io) {
    unsigned n = impl_->options.threads;
    if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) impl_->threads.emplace_back([io = &impl_->io] { io->run(); });
  }
}

void web_server::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  if (!impl_->started) {
    // Nothing runs; an owned io_context holds no handler yet.
    if (impl_->owns_io) impl_->owned_io.reset();
    return;
  }
  // Close on the I/O side: the acceptor and the connections run there.
  auto self = impl_;
  net::dispatch(impl_->io, [self] {
    beast::error_code ec;
    if (self->acceptor) self->acceptor->close(ec);
    self->close_everything();
  });
  if (impl_->owns_io) {
    // Give the closes a moment to run, then stop what is left (timers).
    for (int i = 0; i < 50 && !impl_->io.stopped(); ++i) {
      if (impl_->stats.connections_open.load() == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    impl_->io.stop();
    for (auto& t : impl_->threads)
      if (t.joinable()) t.join();
    impl_->threads.clear();
    // Handlers still queued (timers, connections) hold the server state:
    // destroying the owned io_context now releases them and breaks the cycle.
    impl_->acceptor.reset();
    for (auto& service : impl_->sockjs) service->drop_all();
    impl_->owned_io.reset();
  }
}

std::uint16_t web_server::port() const noexcept { return impl_->bound_port; }

std::string web_server::url() const {
  return (impl_->options.tls.enabled() ? "https://" : "http://") + impl_->options.address + ":" + std::to_string(impl_->bound_port);
}

boost::asio::io_context& web_server::context() noexcept { return impl_->io; }

web_server_stats web_server::stats() const {
  const auto& c = impl_->stats;
  web_server_stats s;
  s.connections_open = c.connections_open.load();
  s.connections_total = c.connections_total.load();
  s.connections_refused = c.connections_refused.load();
  s.requests = c.requests.load();
  s.websockets_open = c.websockets_open.load();
  s.sockjs_sessions_open = c.sockjs_sessions_open.load();
  s.channels_overflowed = c.channels_overflowed.load();
  s.bad_requests = c.bad_requests.load();
  s.connections_rate_limited = c.connections_rate_limited.load();
  s.connections_blocklisted = c.connections_blocklisted.load();
  s.tls_handshakes_failed = c.tls_handshakes_failed.load();
  s.requests_too_large = c.requests_too_large.load();
  s.messages_too_large = c.messages_too_large.load();
  s.messages_rate_limited = c.messages_rate_limited.load();
  s.websockets_idle_closed = c.websockets_idle_closed.load();
  s.upgrades_refused = c.upgrades_refused.load();
  s.blocklist_reloads = c.blocklist_reloads.load();
  s.log_lines_suppressed = c.log_lines_suppressed.load();
  return s;
}

const web_server_options& web_server::options() const noexcept { return impl_->options; }

}  // namespace xiaoxiang
