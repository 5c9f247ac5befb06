// The HTTP API: order snapshots, trajectories, routes, long polling, nearby
// riders, the city map and batch ingest.
#include "xiaoxiang/server/tracking_api.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cmath>
#include <mutex>

#include "server_detail.hpp"
#include "xiaoxiang/security/access_policy.hpp"
#include "xiaoxiang/security/authenticator.hpp"
#include "xiaoxiang/server/sockjs_frame.hpp"
#include "xiaoxiang/storage/storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang {

namespace {

namespace net = boost::asio;

void append_number(double v, std::string& out) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

http_response json_ok(std::string body) {
  http_response r;
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

http_response error_response(int status, std::string_view code, std::string_view field,
                             std::string_view message) {
  http_response r = server_detail::json_error(status, code, field, message);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// An error value as a response: unknown things are 404, the rest 400.
http_response error_response(std::error_code code, const char* field, std::string_view what = {}) {
  const bool unknown = code == errc::unknown_order || code == errc::unknown_rider || code == errc::not_found;
  std::string message = describe(code, field);
  if (!what.empty()) message += " (" + std::string(what) + ")";
  return error_response(unknown ? 404 : 400, errc_name(static_cast<errc>(code.value())),
                        field ? field : "", message);
}

http_response method_not_allowed(const char* allow) {
  http_response r = error_response(405, "method_not_allowed", "method",
                                   std::string("allowed: ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

// Parses a query number; nullopt when absent; an error response when bad.
struct number_param {
  std::optional<double> value;
  std::optional<http_response> error;
};
number_param parse_number(const http_request& req, const char* name) {
  number_param out;
  const auto text = req.query_param(name);
  if (!text) return out;
  double v = 0;
  const auto r = std::from_chars(text->data(), text->data() + text->size(), v);
  if (r.ec != std::errc() || r.ptr != text->data() + text->size() || !std::isfinite(v)) {
    out.error = error_response(400, "wrong_type", name, std::string(name) + " is not a number: '" + *text + "'");
    return out;
  }
  out.value = v;
  return out;
}

// 401 for credentials that do not verify, naming the reason (RFC 6750).
http_response unauthorized(std::error_code code, const char* field) {
  http_response r = error_response(401, errc_name(static_cast<errc>(code.value())), field ? field : "",
                                   describe(code, field));
  r.headers.emplace_back("WWW-Authenticate", code == errc::auth_required
                                                 ? std::string("Bearer")
                                                 : "Bearer error=\"invalid_token\", error_description=\"" +
                                                       std::string(errc_name(static_cast<errc>(code.value()))) +
                                                       "\"");
  return r;
}

// 403 of the access policy: one body whether the order exists or not.
http_response forbidden(const status_result& why) {
  return error_response(403, errc_name(static_cast<errc>(why.code.value())), why.field ? why.field : "",
                        describe(why.code, why.field));
}

// The top-level elements of a JSON array text (json_codec messages), found
// by depth, strings skipped: "[{..},{..}]" -> "{..}", "{..}".
std::vector<std::string_view> split_array(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  bool in_string = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (depth++ == 1) start = i;
    } else if (c == '}' || c == ']') {
      if (--depth == 1) out.push_back(text.substr(start, i + 1 - start));
    }
  }
  return out;
}

}  // namespace

struct tracking_api::impl : std::enable_shared_from_this<tracking_api::impl> {
  impl(tracker& e, broker& h, storage* s, tracking_api_options o)
      : engine(e), hub(h), store(s), options(o) {}

  tracker& engine;
  broker& hub;
  storage* store;
  tracking_api_options options;
  net::io_context* io = nullptr;
  std::string prefix;
  std::mutex city_mu;
  std::string city;

  // The caller of the request being handled: null for an open API or an
  // admin, else the principal whose rights and view apply.
  using caller = const principal*;

  void handle(const http_request& req, const http_responder& respond);
  void route_request(const http_request& req, const http_responder& respond, caller who);
  void orders(const http_request& req, const http_responder& respond, caller who);
  void order(const order_id& id, const http_responder& respond, caller who);
  void track(const order_id& id, const http_responder& respond);
  void route(const order_id& id, const http_responder& respond);
  void updates(const order_id& id, const http_request& req, const http_responder& respond, caller who);
  void nearby(const http_request& req, const http_responder& respond);
  void events(const http_request& req, const http_responder& respond, caller who);

  std::optional<tracking_state> state_of(const order_id& id) const {
    auto snap = hub.snapshot(id);
    if (snap) return std::move(*snap);
    return engine.snapshot(id);
  }
  // The order's body at the caller's view (the message itself for admins).
  std::string view_of(std::string message, caller who, order_status status) const {
    if (who == nullptr) return message;
    std::string out;
    if (!project_update(message, who->who, status, out).ok()) return {};
    return out;
  }
};

tracking_api::tracking_api(tracker& engine, broker& hub, storage* store, tracking_api_options options)
    : impl_(std::make_shared<impl>(engine, hub, store, options)) {}

tracking_api::~tracking_api() = default;

void tracking_api::set_city_geojson(std::string geojson) {
  std::lock_guard lock(impl_->city_mu);
  impl_->city = std::move(geojson);
}

void tracking_api::mount(web_server& server, std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  impl_->io = &server.context();
  impl_->prefix = prefix;
  std::weak_ptr<impl> weak = impl_;
  server.mount_http(prefix, [weak](const http_request& req, http_responder respond) {
    if (auto self = weak.lock()) self->handle(req, respond);
    else respond(error_response(503, "unavailable", "server", "the API is shutting down"));
  });
}

void tracking_api::impl::handle(const http_request& req, const http_responder& respond) {
  std::optional<principal> who;
  if (options.auth) {
    auto caller_of = options.auth->authenticate(req.header("Authorization"),
                                                req.query_param("access_token").value_or(std::string()));
    if (!caller_of) return respond(unauthorized(caller_of.error(), caller_of.field()));
    who = std::move(*caller_of);
  }
  route_request(req, respond, who && who->who != role::admin ? &*who : nullptr);
}

void tracking_api::impl::route_request(const http_request& req, const http_responder& respond, caller who) {
  std::string_view path = std::string_view(req.path).substr(prefix.size());
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const bool get = req.method == "GET" || req.method == "HEAD";

  if (path == "/events") {
    if (req.method != "POST") return respond(method_not_allowed("POST"));
    return events(req, respond, who);
  }
  if (path == "/city") {
    if (!get) return respond(method_not_allowed("GET"));
    std::lock_guard lock(city_mu);
    if (city.empty())
      return respond(error_response(404, "not_found", "city", "no city map: the server runs no simulation"));
    http_response r = json_ok(city);
    r.content_type = "application/geo+json";
    return respond(std::move(r));
  }
  if (path == "/riders/nearby") {
    if (!get) return respond(method_not_allowed("GET"));
    if (who != nullptr) {
      options.auth->count_denied();
      return respond(forbidden(can_search_nearby(*who)));
    }
    return nearby(req, respond);
  }
  if (path == "/orders") {
    if (!get) return respond(method_not_allowed("GET"));
    return orders(req, respond, who);
  }
  if (path.substr(0, 8) == "/orders/") {
    std::string_view rest = path.substr(8);
    const auto slash = rest.find('/');
    const std::string_view id_text = rest.substr(0, slash);
    const std::string_view sub = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (!get) return respond(method_not_allowed("GET"));
    auto id = order_id::make(id_text, "orderId");
    if (!id) return respond(error_response(id.error(), id.field(), "'" + std::string(id_text) + "'"));
    if (who != nullptr) {
      const auto state = state_of(*id);
      status_result allowed = can_read_order(*who, state ? &*state : nullptr);
      // The trajectory is every past position: riders (their own) and admins only.
      if (allowed.ok() && sub == "/track" && who->who != role::rider) allowed = {errc::access_denied, "track"};
      if (!allowed.ok()) {
        options.auth->count_denied();
        return respond(forbidden(allowed));
      }
    }
    if (sub.empty()) return order(*id, respond, who);
    if (sub == "/track") return track(*id, respond);
    if (sub == "/route") return route(*id, respond);
    if (sub == "/updates") return updates(*id, req, respond, who);
  }
  respond(error_response(404, "not_found", "path", "no API route " + req.method + " " + req.path));
}

void tracking_api::impl::orders(const http_request& req, const http_responder& respond, caller who) {
  std::size_t limit = options.default_order_limit;
  const auto p = parse_number(req, "limit");
  if (p.error) return respond(*p.error);
  if (p.value) {
    if (*p.value < 1 || *p.value > static_cast<double>(options.max_order_limit) ||
        *p.value != std::floor(*p.value))
      return respond(error_response(400, "invalid_field", "limit",
                                    "limit must be an integer in 1.." + std::to_string(options.max_order_limit)));
    limit = static_cast<std::size_t>(*p.value);
  }
  // A restricted caller sees the orders it may read among the newest
  // `limit` (the list is a console's; customers ask for their own by id).
  const auto states = hub.orders(limit);
  std::string body = "{\"orders\":[";
  bool first = true;
  std::string one;
  for (const auto& state : states) {
    if (who != nullptr && !can_read_order(*who, &state).ok()) continue;
    one.clear();
    encode_snapshot(state, one);
    if (!first) body.push_back(',');
    first = false;
    body += view_of(std::move(one), who, state.status);
    one = std::string();
  }
  body += "]}";
  respond(json_ok(std::move(body)));
}

void tracking_api::impl::order(const order_id& id, const http_responder& respond, caller who) {
  const auto state = state_of(id);
  if (!state)
    return respond(error_response(404, "unknown_order", "orderId", "order '" + id.str() + "' is not known"));
  std::string body;
  encode_snapshot(*state, body);
  respond(json_ok(view_of(std::move(body), who, state->status)));
}

void tracking_api::impl::track(const order_id& id, const http_responder& respond) {
  if (!store)
    return respond(error_response(404, "not_found", "storage", "the server keeps no trajectories (no storage)"));
  const auto records = store->trajectory(id);
  if (records.empty())
    return respond(error_response(404, "unknown_order", "orderId", "order '" + id.str() + "' has no trajectory"));
  std::string coords, times, versions, statuses;
  for (const auto& r : records) {
    if (!r.has_position) continue;
    if (!coords.empty()) {
      coords.push_back(',');
      times.push_back(',');
      versions.push_back(',');
      statuses.push_back(',');
    }
    coords.push_back('[');
    append_number(r.position.lon, coords);
    coords.push_back(',');
    append_number(r.position.lat, coords);
    coords.push_back(']');
    times += std::to_string(r.create_time);
    versions += std::to_string(r.version);
    statuses += std::to_string(static_cast<int>(r.status));
  }
  std::string body = "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[" + coords +
                     "]},\"properties\":{\"orderId\":";
  sockjs_quote(id.view(), body);
  body += ",\"times\":[" + times + "],\"versions\":[" + versions + "],\"statuses\":[" + statuses + "]}}";
  http_response r = json_ok(std::move(body));
  r.content_type = "application/geo+json";
  respond(std::move(r));
}

void tracking_api::impl::route(const order_id& id, const http_responder& respond) {
  const auto points = engine.route(id);
  if (points.empty())
    return respond(error_response(404, "not_found", "route", "order '" + id.str() + "' has no planned route"));
  std::string body = "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[";
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (i) body.push_back(',');
    body.push_back('[');
    append_number(points[i].lon, body);
    body.push_back(',');
    append_number(points[i].lat, body);
    body.push_back(']');
  }
  body += "]},\"properties\":{\"orderId\":";
  sockjs_quote(id.view(), body);
  body += "}}";
  http_response r = json_ok(std::move(body));
  r.content_type = "application/geo+json";
  respond(std::move(r));
}

namespace {
// One waiting long poll: answered by the first message or by its timer.
struct poll_state {
  std::mutex mu;
  bool done = false;
  http_responder respond;
  subscription sub;
  std::unique_ptr<net::steady_timer> timer;
};

http_response updates_response(std::string body, std::uint64_t latest) {
  http_response r = json_ok(std::move(body));
  r.headers.emplace_back("X-Latest-Version", std::to_string(latest));
  return r;
}
}  // namespace

void tracking_api::impl::updates(const order_id& id, const http_request& req, const http_responder& respond,
                                 caller who) {
  const auto since = parse_number(req, "since");
  if (since.error) return respond(*since.error);
  if (since.value && (*since.value < 0 || *since.value != std::floor(*since.value) || *since.value > 9e15))
    return respond(error_response(400, "invalid_field", "since", "since must be a version (integer >= 0)"));
  const auto timeout = parse_number(req, "timeout");
  if (timeout.error) return respond(*timeout.error);
  const double max_s = static_cast<double>(options.max_poll_timeout.count());
  if (timeout.value && (*timeout.value < 0 || *timeout.value > max_s))
    return respond(error_response(400, "invalid_field", "timeout",
                                  "timeout must be seconds in 0.." + std::to_string(options.max_poll_timeout.count())));
  const std::uint64_t since_v = since.value ? static_cast<std::uint64_t>(*since.value) : 0;
  const double wait_s = timeout.value.value_or(std::min(30.0, max_s));

  std::string body;
  const auto batch = hub.updates_since(id, since_v, body);
  if (!batch)
    return respond(error_response(404, "unknown_order", "orderId", "order '" + id.str() + "' is not known"));
  // A restricted caller's view of each message (the status: the order's now).
  std::optional<role> view_role;
  if (who != nullptr) view_role = who->who;
  const auto project_all = [this, id, view_role](std::string_view array) {
    if (!view_role) return std::string(array);
    const auto state = state_of(id);
    const order_status status = state ? state->status : order_status::paid;
    std::string out = "[";
    std::string one;
    for (const std::string_view m : split_array(array)) {
      one.clear();
      if (!project_update(m, *view_role, status, one).ok()) continue;
      if (out.size() > 1) out.push_back(',');
      out += one;
    }
    return out + "]";
  };
  if (batch->messages > 0 || wait_s <= 0 || io == nullptr)
    return respond(updates_response(project_all(body), batch->latest_version));

  // Nothing new yet: wait for the next message or the timeout.
  auto st = std::make_shared<poll_state>();
  st->respond = respond;
  st->timer = std::make_unique<net::steady_timer>(*io);
  const std::uint64_t latest = batch->latest_version;
  auto release = [](const std::shared_ptr<poll_state>& s) {
    subscription sub;
    {
      std::lock_guard lock(s->mu);
      sub = std::move(s->sub);
    }
    sub.unsubscribe();
  };
  std::weak_ptr<poll_state> weak = st;
  auto sub = hub.subscribe(order_topic(id), latest, [weak, this, release, project_all](const message_view& m) {
    auto s = weak.lock();
    if (!s) return;
    http_responder r;
    {
      std::lock_guard lock(s->mu);
      if (s->done) return;
      s->done = true;
      r = s->respond;
    }
    r(updates_response(project_all("[" + std::string(m.body) + "]"), m.version));
    // Unsubscribe and stop the timer off the publishing thread.
    net::post(*io, [s, release] {
      s->timer->cancel();
      release(s);
    });
  });
  if (!sub) return respond(error_response(sub.error(), sub.field()));
  {
    std::lock_guard lock(st->mu);
    if (!st->done) st->sub = std::move(*sub);
  }
  st->timer->expires_after(std::chrono::milliseconds(static_cast<long long>(wait_s * 1000)));
  st->timer->async_wait([st, latest, release](const boost::system::error_code& ec) {
    if (ec) return;
    http_responder r;
    {
      std::lock_guard lock(st->mu);
      if (st->done) return;
      st->done = true;
      r = st->respond;
    }
    release(st);
    r(updates_response("[]", latest));
  });
}

void tracking_api::impl::nearby(const http_request& req, const http_responder& respond) {
  const auto lon = parse_number(req, "lon");
  const auto lat = parse_number(req, "lat");
  const auto radius = parse_number(req, "radius");
  const auto k = parse_number(req, "k");
  for (const auto* p : {&lon, &lat, &radius, &k})
    if (p->error) return respond(*p->error);
  if (!lon.value) return respond(error_response(400, "missing_field", "lon", "lon is required"));
  if (!lat.value) return respond(error_response(400, "missing_field", "lat", "lat is required"));
  if (*lon.value < -180 || *lon.value > 180)
    return respond(error_response(errc::invalid_longitude, "lon"));
  if (*lat.value < -90 || *lat.value > 90) return respond(error_response(errc::invalid_latitude, "lat"));
  const double radius_m = radius.value.value_or(3000);
  if (radius_m < 0 || radius_m > options.max_radius_m)
    return respond(error_response(errc::invalid_radius, "radius",
                                  "0.." + std::to_string(static_cast<long long>(options.max_radius_m)) + " m"));
  const double kk = k.value.value_or(10);
  if (kk < 1 || kk > static_cast<double>(options.max_k) || kk != std::floor(kk))
    return respond(error_response(errc::invalid_k, "k", "1.." + std::to_string(options.max_k)));
  auto found = engine.nearby_riders({*lon.value, *lat.value}, radius_m, static_cast<std::size_t>(kk));
  if (!found) return respond(error_response(found.error(), found.field()));
  std::string body = "{\"riders\":[";
  for (std::size_t i = 0; i < found->size(); ++i) {
    if (i) body.push_back(',');
    body += "{\"riderId\":";
    sockjs_quote((*found)[i].rider.view(), body);
    body += ",\"distanceM\":";
    append_number(std::round((*found)[i].distance_m * 10) / 10, body);
    body.push_back('}');
  }
  body += "]}";
  respond(json_ok(std::move(body)));
}

void tracking_api::impl::events(const http_request& req, const http_responder& respond, caller who) {
  auto batch = decode_event_batch(req.body, options.batch);
  if (!batch) {
    const int status = batch.error() == errc::too_large ? 413 : 400;
    return respond(error_response(status, errc_name(static_cast<errc>(batch.error().value())), "body",
                                  batch.error() == errc::too_large
                                      ? "more than " + std::to_string(options.batch.max_lines) + " lines"
                                      : std::string("the body has no event (one JSON object per line)")));
  }
  std::size_t accepted = 0, duplicates = 0, rejected = 0, malformed = 0;
  std::string results;
  for (const auto& line : *batch) {
    if (!results.empty()) results.push_back(',');
    results += "{\"line\":" + std::to_string(line.line) + ",\"status\":";
    std::error_code code;
    const char* field = nullptr;
    if (!line.decoded) {
      code = line.decoded.error();
      field = line.decoded.field();
      if (code == errc::malformed_json) ++malformed;
    } else if (const status_result allowed =
                   who == nullptr ? status_result{} : [&] {
                     const auto state = line.decoded->order.empty() ? std::nullopt : state_of(line.decoded->order);
                     return can_send(*who, *line.decoded, state ? &*state : nullptr);
                   }();
               !allowed.ok()) {
      options.auth->count_denied();
      code = allowed.code;
      field = allowed.field;
    } else {
      ingest_result r = engine.ingest(*line.decoded);
      for (int tries = 0; r.code == errc::queue_full && tries < 100; ++tries) {
        // Back-pressure from the write-behind queue: wait for it, retry.
        engine.flush();
        r = engine.ingest(*line.decoded);
      }
      if (r.status == ingest_status::accepted) {
        ++accepted;
        results += "\"accepted\",\"version\":" + std::to_string(r.version) + "}";
        continue;
      }
      if (r.status == ingest_status::duplicate) {
        ++duplicates;
        results += "\"duplicate\"}";
        continue;
      }
      code = r.code;
      field = r.field;
    }
    ++rejected;
    results += "\"rejected\",\"code\":";
    sockjs_quote(errc_name(static_cast<errc>(code.value())), results);
    results += ",\"field\":";
    sockjs_quote(field ? field : "", results);
    results += ",\"message\":";
    sockjs_quote(describe(code, field), results);
    results.push_back('}');
  }
  // The whole body is unusable only when no line is even JSON.
  if (malformed == batch->size())
    return respond(error_response(400, "malformed_json", "body", "no line of the body is a JSON object"));
  respond(json_ok("{\"accepted\":" + std::to_string(accepted) + ",\"duplicates\":" + std::to_string(duplicates) +
                  ",\"rejected\":" + std::to_string(rejected) + ",\"results\":[" + results + "]}"));
}

}  // namespace xiaoxiang
