#include "xiaoxiang/server/metrics_endpoint.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <exception>
#include <unordered_map>

#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/server/stomp_session.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {
namespace {

// Label values escape backslash, double quote and newline; HELP text
// escapes backslash and newline (the 0.0.4 text format).
void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (const char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else out += c;
  }
}

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    out += std::to_string(static_cast<long long>(v));  // counts print as integers
  } else {
    // The shortest text that reads back as the same double ("5e-05", not
    // "5.0000000000000002e-05"): bucket bounds stay readable in queries.
    char buffer[32];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
    out.append(buffer, end);
  }
}

void append_labels(std::string& out, const metric_labels& labels, const char* extra_name = nullptr,
                   std::string_view extra_value = {}) {
  if (labels.empty() && extra_name == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_escaped(out, value, true);
    out += '"';
  }
  if (extra_name != nullptr) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void append_sample(std::string& out, std::string_view name, const metric_labels& labels,
                   double value) {
  out += name;
  append_labels(out, labels);
  out += ' ';
  append_value(out, value);
  out += '\n';
}

double as_double(std::uint64_t v) { return static_cast<double>(v); }

}  // namespace

// --- metrics_text -------------------------------------------------------------

metrics_text::family& metrics_text::get(std::string_view name, std::string_view type,
                                        std::string_view help) {
  for (family& f : families_)
    if (f.name == name) {
      // Requires: one type per name (a bug of the collector otherwise).
      assert(f.type == type);
      return f;
    }
  family& f = families_.emplace_back();
  f.name = name;
  f.type = type;
  f.help = help;
  return f;
}

void metrics_text::declare(std::string_view name, std::string_view type, std::string_view help) {
  (void)get(name, type, help);
}

void metrics_text::counter(std::string_view name, std::string_view help, double value,
                           const metric_labels& labels) {
  assert(name.size() > 6 && name.substr(name.size() - 6) == "_total");
  append_sample(get(name, "counter", help).samples, name, labels, value);
}

void metrics_text::gauge(std::string_view name, std::string_view help, double value,
                         const metric_labels& labels) {
  append_sample(get(name, "gauge", help).samples, name, labels, value);
}

void metrics_text::histogram(std::string_view name, std::string_view help,
                             const histogram_snapshot& h, const metric_labels& labels) {
  std::string& out = get(name, "histogram", help).samples;
  const std::string bucket = std::string(name) + "_bucket";
  for (std::size_t i = 0; i < h.upper_bounds.size() && i < h.counts.size(); ++i) {
    std::string le;
    append_value(le, h.upper_bounds[i]);
    out += bucket;
    append_labels(out, labels, "le", le);
    out += ' ';
    append_value(out, as_double(h.counts[i]));
    out += '\n';
  }
  out += bucket;
  append_labels(out, labels, "le", "+Inf");
  out += ' ';
  append_value(out, as_double(h.count));
  out += '\n';
  append_sample(out, std::string(name) + "_sum", labels, h.sum);
  append_sample(out, std::string(name) + "_count", labels, as_double(h.count));
}

std::string metrics_text::str() const {
  std::string out;
  for (const family& f : families_) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_escaped(out, f.help, false);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += f.type;
    out += '\n';
    out += f.samples;
  }
  return out;
}

// --- metrics_registry -----------------------------------------------------------

void metrics_registry::add(metrics_collector collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string metrics_registry::scrape() const {
  metrics_text text;
  std::lock_guard lock(mutex_);  // one scrape at a time: collectors need not be reentrant
  ++scrapes_;
  for (const metrics_collector& c : collectors_) {
    // A collector that throws half-way leaves its samples so far; the
    // families stay well-formed because each sample is one whole line.
    try {
      c(text);
    } catch (const std::exception&) {
      ++errors_;
    }
  }
  text.counter("xiaoxiang_metrics_scrapes_total", "Scrapes of /metrics served.",
               as_double(scrapes_));
  text.counter("xiaoxiang_metrics_collector_errors_total",
               "Collectors that threw during a scrape (their samples may be missing).",
               as_double(errors_));
  return text.str();
}

void metrics_registry::mount(web_server& server, std::string path) {
  server.mount_http(std::move(path), [this](const http_request& request, http_responder respond) {
    http_response r;
    if (request.method != "GET" && request.method != "HEAD") {
      r.status = 405;
      r.content_type = "text/plain; charset=utf-8";
      r.body = "method not allowed: use GET\n";
      r.headers.emplace_back("Allow", "GET, HEAD");
      respond(std::move(r));
      return;
    }
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = scrape();
    r.headers.emplace_back("Cache-Control", "no-store");
    respond(std::move(r));
  });
}

// --- the components' collectors ----------------------------------------------------

metrics_collector tracker_collector(const tracker& engine) {
  return [&engine](metrics_text& m) {
    const tracker_metrics t = engine.metrics();
    m.counter("xiaoxiang_tracker_events_total", "Events given to tracker::ingest().",
              as_double(t.events));
    m.counter("xiaoxiang_tracker_accepted_total", "Events applied.", as_double(t.accepted));
    m.counter("xiaoxiang_tracker_duplicates_total", "Events recognised as duplicates by their id.",
              as_double(t.duplicates));
    m.declare("xiaoxiang_tracker_rejected_total", "counter",
              "Events and batch fixes refused, by error code (code) and its name (name).");
    for (const auto& [code, n] : t.rejected_by_code)
      m.counter("xiaoxiang_tracker_rejected_total", "", as_double(n),
                {{"code", std::to_string(static_cast<int>(code))}, {"name", errc_name(code)}});
    m.counter("xiaoxiang_tracker_positions_total", "Position fixes applied to the live index.",
              as_double(t.positions));
    m.counter("xiaoxiang_tracker_order_updates_total", "Order versions produced.",
              as_double(t.order_updates));
    m.counter("xiaoxiang_tracker_records_total", "Tracking records handed to storage.",
              as_double(t.records));
    m.counter("xiaoxiang_tracker_published_total", "Order changes pushed to the publisher.",
              as_double(t.published));
    m.counter("xiaoxiang_tracker_stale_fixes_total",
              "Fixes older than the rider's live one (trajectory only).", as_double(t.stale_fixes));
    m.counter("xiaoxiang_tracker_evicted_total", "Terminal orders that left the hot cache.",
              as_double(t.evicted));
    m.counter("xiaoxiang_tracker_alerts_raised_total", "Alerts that became active (every kind).",
              as_double(t.alerts_raised));
    m.counter("xiaoxiang_tracker_alerts_cleared_total", "Alerts that ended.",
              as_double(t.alerts_cleared));
    m.gauge("xiaoxiang_tracker_hot_orders", "Orders in the tracker's hot cache now.",
            as_double(engine.hot_orders()));
    m.gauge("xiaoxiang_storage_backlog_records",
            "Tracking records queued in the write-behind, not yet committed (the storage backlog).",
            as_double(t.storage_backlog));
    m.gauge("xiaoxiang_storage_durable_sequence",
            "The write-behind's durable sequence (writes committed so far).",
            as_double(t.durable_sequence));
    m.histogram("xiaoxiang_ingest_to_publish_seconds",
                "Seconds from tracker::ingest() entry to the hand-over of the event's last change "
                "to the publisher.",
                t.ingest_to_publish_seconds);
    m.histogram("xiaoxiang_ingest_to_durable_seconds",
                "Seconds from tracker::ingest() entry to the commit of the event's write in storage.",
                t.ingest_to_durable_seconds);
  };
}

metrics_collector web_server_collector(const web_server& server) {
  return [&server](metrics_text& m) {
    const web_server_stats s = server.stats();
    m.gauge("xiaoxiang_tcp_connections_open", "TCP connections open now (every protocol).",
            as_double(s.connections_open));
    m.counter("xiaoxiang_tcp_connections_total", "TCP connections accepted.",
              as_double(s.connections_total));
    m.counter("xiaoxiang_tcp_connections_refused_total",
              "TCP connections closed at accept (max_connections).", as_double(s.connections_refused));
    m.counter("xiaoxiang_http_requests_total", "HTTP requests read.", as_double(s.requests));
    m.counter("xiaoxiang_http_bad_requests_total", "HTTP requests answered 4xx/5xx for malformed input.",
              as_double(s.bad_requests));
    const char* open_help =
        "Client connections open now by transport: websocket (raw and SockJS websocket), sockjs "
        "(SockJS sessions of every transport, websocket included).";
    m.gauge("xiaoxiang_connections_open", open_help, as_double(s.websockets_open),
            {{"transport", "websocket"}});
    m.gauge("xiaoxiang_connections_open", open_help, as_double(s.sockjs_sessions_open),
            {{"transport", "sockjs"}});
    m.counter("xiaoxiang_channels_overflowed_total",
              "Channels closed for exceeding their send-queue cap (slow consumers).",
              as_double(s.channels_overflowed));
  };
}

metrics_collector broker_collector(const broker& hub) {
  return [&hub](metrics_text& m) {
    const broker_metrics b = hub.metrics();
    m.gauge("xiaoxiang_subscriptions_open", "Broker subscriptions alive now (every transport).",
            as_double(b.subscriptions));
    m.counter("xiaoxiang_subscriptions_total", "Broker subscriptions ever made.",
              as_double(b.subscriptions_total));
    m.counter("xiaoxiang_broker_published_total", "Order changes the broker accepted.",
              as_double(b.published));
    m.counter("xiaoxiang_broker_rider_published_total", "Rider positions published (riders topic).",
              as_double(b.rider_published));
    m.counter("xiaoxiang_broker_encodes_total", "Messages encoded (once per change and format).",
              as_double(b.encodes));
    m.counter("xiaoxiang_broker_deliveries_total", "Messages handed to subscribers.",
              as_double(b.deliveries));
    m.counter("xiaoxiang_broker_callback_failures_total", "Subscriber callbacks that threw.",
              as_double(b.callback_failures));
    m.gauge("xiaoxiang_broker_orders", "Orders whose state the broker holds now.",
            as_double(b.orders));
  };
}

// --- channel_metrics ------------------------------------------------------------------

struct channel_metrics::state {
  explicit state(std::string e) : endpoint(std::move(e)) {}
  const std::string endpoint;
  mutable std::mutex mutex;
  struct live {
    message_channel* channel;
    const stomp_session* session;  // null when the handler is not STOMP
  };
  std::unordered_map<const void*, live> channels;  // by handler
  stomp_metrics retired;  // sums of the sessions that are gone
  std::uint64_t opened = 0;
};

namespace {

// Delegates to the protocol session and keeps the channel registered while
// the session lives.
class tracked_handler final : public channel_handler {
 public:
  tracked_handler(std::shared_ptr<channel_metrics::state> state,
                  std::unique_ptr<channel_handler> inner, message_channel& channel)
      : state_(std::move(state)), inner_(std::move(inner)) {
    std::lock_guard lock(state_->mutex);
    state_->channels[this] = {&channel, dynamic_cast<const stomp_session*>(inner_.get())};
    ++state_->opened;
  }
  ~tracked_handler() override {
    {
      // The session is removed before it is destroyed, so a scrape never
      // reads a session being torn down.
      std::lock_guard lock(state_->mutex);
      const auto it = state_->channels.find(this);
      if (it != state_->channels.end()) {
        if (it->second.session) state_->retired += it->second.session->metrics();
        state_->channels.erase(it);
      }
    }
    inner_.reset();
  }
  void on_message(std::string_view message) override { inner_->on_message(message); }
  void on_tick(long long now_ms) override { inner_->on_tick(now_ms); }
  void on_writable() override { inner_->on_writable(); }
  void on_closed() override { inner_->on_closed(); }

 private:
  std::shared_ptr<channel_metrics::state> state_;
  std::unique_ptr<channel_handler> inner_;
};

}  // namespace

channel_metrics::channel_metrics(std::string endpoint)
    : state_(std::make_shared<state>(std::move(endpoint))) {}

channel_metrics::~channel_metrics() = default;

channel_factory channel_metrics::wrap(channel_factory inner) {
  return [st = state_, inner = std::move(inner)](message_channel& channel)
             -> std::unique_ptr<channel_handler> {
    auto handler = inner(channel);
    if (!handler) return handler;
    return std::make_unique<tracked_handler>(st, std::move(handler), channel);
  };
}

std::size_t channel_metrics::open_channels() const {
  std::lock_guard lock(state_->mutex);
  return state_->channels.size();
}

metrics_collector channel_metrics::collector() const {
  return [st = state_](metrics_text& m) {
    stomp_metrics sum;
    std::uint64_t subscriptions = 0, opened = 0, max_queue = 0, queue_sum = 0;
    std::size_t open = 0;
    constexpr std::size_t kBounds = std::size(kSendQueueBoundsBytes);
    std::uint64_t buckets[kBounds] = {};
    {
      std::lock_guard lock(st->mutex);
      sum = st->retired;
      opened = st->opened;
      open = st->channels.size();
      for (const auto& [handler, live] : st->channels) {
        if (live.session) {
          sum += live.session->metrics();
          subscriptions += live.session->subscription_count();
        }
        const std::uint64_t q = live.channel->queued_bytes();
        max_queue = std::max(max_queue, q);
        queue_sum += q;
        for (std::size_t i = 0; i < kBounds; ++i)
          if (q <= kSendQueueBoundsBytes[i]) ++buckets[i];
      }
    }
    const metric_labels ep{{"endpoint", st->endpoint}};
    m.gauge("xiaoxiang_stomp_sessions_open", "STOMP sessions (channels) open now, by mount.",
            as_double(open), ep);
    m.counter("xiaoxiang_stomp_sessions_total", "STOMP sessions (channels) opened, by mount.",
              as_double(opened), ep);
    m.gauge("xiaoxiang_stomp_subscriptions_open", "STOMP subscriptions alive now, by mount.",
            as_double(subscriptions), ep);
    m.counter("xiaoxiang_messages_in_total", "STOMP frames received from clients (heart-beats excluded).",
              as_double(sum.frames_in), ep);
    m.counter("xiaoxiang_messages_out_total", "STOMP MESSAGE frames pushed to clients.",
              as_double(sum.messages_out), ep);
    m.counter("xiaoxiang_stomp_frames_out_total", "STOMP frames sent (every command).",
              as_double(sum.frames_out), ep);
    m.counter("xiaoxiang_stomp_bytes_in_total", "Bytes received by STOMP sessions.",
              as_double(sum.bytes_in), ep);
    m.counter("xiaoxiang_stomp_bytes_out_total", "Bytes sent by STOMP sessions.",
              as_double(sum.bytes_out), ep);
    const char* error_help = "STOMP ERROR frames and forced closes, by kind.";
    const std::pair<const char*, std::uint64_t> errors[] = {
        {"malformed", sum.errors_malformed},       {"limit", sum.errors_limit},
        {"protocol", sum.errors_protocol},         {"destination", sum.errors_destination},
        {"subscription", sum.errors_subscription}, {"send", sum.errors_send},
        {"heartbeat_timeout", sum.heartbeat_timeouts}, {"connect_timeout", sum.connect_timeouts}};
    for (const auto& [kind, n] : errors)
      m.counter("xiaoxiang_stomp_errors_total", error_help, as_double(n),
                {{"endpoint", st->endpoint}, {"kind", kind}});
    m.counter("xiaoxiang_stomp_coalesced_total",
              "Order deltas not sent because the client's queue was over its bound.",
              as_double(sum.coalesced), ep);
    m.counter("xiaoxiang_stomp_rider_positions_dropped_total",
              "Riders-topic messages dropped because the client's queue was over its bound.",
              as_double(sum.rider_positions_dropped), ep);
    histogram_snapshot h;
    for (std::size_t i = 0; i < kBounds; ++i) {
      h.upper_bounds.push_back(as_double(kSendQueueBoundsBytes[i]));
      h.counts.push_back(buckets[i]);
    }
    h.count = open;
    h.sum = as_double(queue_sum);
    m.histogram("xiaoxiang_send_queue_bytes",
                "Bytes queued to each open connection at scrape time (the per-client backlog).", h,
                ep);
    m.gauge("xiaoxiang_send_queue_max_bytes",
            "The largest send queue of an open connection at scrape time, bytes.",
            as_double(max_queue), ep);
  };
}

}  // namespace xiaoxiang
