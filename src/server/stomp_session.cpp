#include "xiaoxiang/server/stomp_session.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/security/access_policy.hpp"
#include "xiaoxiang/security/authenticator.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang {
namespace {

constexpr std::string_view kOrdersPrefix = "/topic/orders/";

std::atomic<std::uint64_t> g_next_session{1};

// Parses an unsigned decimal (no sign, no spaces); nullopt otherwise.
std::optional<std::uint64_t> parse_u64(std::string_view text) noexcept {
  std::uint64_t v = 0;
  if (text.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// "cx,cy" of a heart-beat header.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_heartbeat(std::string_view text) {
  const std::size_t comma = text.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto x = parse_u64(text.substr(0, comma));
  auto y = parse_u64(text.substr(comma + 1));
  // Intervals beyond a day are nonsense; refusing them keeps the arithmetic in range.
  constexpr std::uint64_t kMaxMs = 24ULL * 3600 * 1000;
  if (!x || !y || *x > kMaxMs || *y > kMaxMs) return std::nullopt;
  return std::pair{*x, *y};
}

// The spec's negotiation of one direction: 0 when either side cannot, else the larger wish.
duration_ms negotiate(std::uint64_t can, std::uint64_t wants) noexcept {
  if (can == 0 || wants == 0) return 0;
  return static_cast<duration_ms>(std::max(can, wants));
}

}  // namespace

// Every field of stomp_metrics, once: the atomics, their snapshot and += follow from it.
#define XIAOXIANG_STOMP_METRICS(X) \
  X(frames_in) \
  X(bytes_in) \
  X(heartbeats_in) \
  X(frames_out) \
  X(messages_out) \
  X(bytes_out) \
  X(heartbeats_out) \
  X(sends_accepted) \
  X(sends_duplicate) \
  X(errors_malformed) \
  X(errors_limit) \
  X(errors_protocol) \
  X(errors_destination) \
  X(errors_subscription) \
  X(errors_send) \
  X(heartbeat_timeouts) \
  X(connect_timeouts) \
  X(coalesced) \
  X(coalesced_snapshots) \
  X(rider_positions_dropped)

// Every counter is one field of stomp_metrics; nothing else may be added to it.
static_assert(sizeof(stomp_metrics) == 20 * sizeof(std::uint64_t));

stomp_metrics& stomp_metrics::operator+=(const stomp_metrics& o) noexcept {
#define XIAOXIANG_ADD(name) name += o.name;
  XIAOXIANG_STOMP_METRICS(XIAOXIANG_ADD)
#undef XIAOXIANG_ADD
  return *this;
}

namespace {
// Counters written by the strand and by delivery threads: one atomic each.
struct atomic_metrics {
#define XIAOXIANG_ATOMIC(name) std::atomic<std::uint64_t> name{0};
  XIAOXIANG_STOMP_METRICS(XIAOXIANG_ATOMIC)
#undef XIAOXIANG_ATOMIC

  stomp_metrics load() const noexcept {
    stomp_metrics m;
#define XIAOXIANG_LOAD(name) m.name = name.load(std::memory_order_relaxed);
    XIAOXIANG_STOMP_METRICS(XIAOXIANG_LOAD)
#undef XIAOXIANG_LOAD
    return m;
  }
};

void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
  counter.fetch_add(n, std::memory_order_relaxed);
}
}  // namespace

// One SUBSCRIBE. The strand owns `handle` and the map entry; a delivery
// thread and the strand's catch-up meet under `mutex`.
struct subscription_state {
  std::string id;           // the client's subscription id
  std::string destination;  // the topic
  order_id order;           // for order topics
  bool riders = false;      // /topic/riders
  bool client_ack = false;  // ack mode client / client-individual: MESSAGE gets an ack header
  subscription handle;

  std::mutex mutex;
  bool behind = false;       // deltas were skipped: a snapshot is owed
  bool sent_any = false;     // last_version is meaningful
  std::uint64_t last_version = 0;  // the version of the last MESSAGE sent
};

struct stomp_session::impl {
  stomp_session_options options;
  broker& hub;
  tracker* engine;
  message_channel& channel;
  stomp_parser parser;
  std::string session_id;

  // Strand state.
  bool connected = false;
  std::atomic<bool> closed{false};
  std::atomic<stomp_version> version{stomp_version::v1_2};
  duration_ms send_interval = 0;     // server -> client heart-beats
  duration_ms receive_interval = 0;  // client -> server heart-beats
  long long first_tick = -1;
  long long last_received = -1;      // tick time of the last tick that saw input
  long long last_sent = -1;          // tick time of the last tick that saw output
  bool received_since_tick = false;
  std::uint64_t parser_heartbeats = 0;
  std::map<std::string, std::shared_ptr<subscription_state>, std::less<>> subscriptions;
  std::map<std::string, std::vector<stomp_frame_copy>, std::less<>> transactions;
  std::size_t transaction_frames = 0;
  std::string out;  // the strand's encode buffer
  // Issue 9: the caller, set at CONNECT and read by deliveries after that
  // (CONNECT happens-before any SUBSCRIBE, so no lock). nullopt: full rights.
  std::optional<principal> who;
  token_lease lease;  // this connection's slot of its token

  // Shared with delivery threads.
  std::atomic<bool> sent_since_tick{false};
  std::atomic<bool> any_behind{false};
  std::atomic<std::uint64_t> next_message_id{1};
  atomic_metrics counters;

  impl(stomp_session_options o, broker& b, tracker* t, message_channel& c)
      : options(std::move(o)), hub(b), engine(t), channel(c), parser(options.limits) {
    session_id = options.session_id.empty()
                     ? "xx-" + std::to_string(g_next_session.fetch_add(1, std::memory_order_relaxed))
                     : options.session_id;
  }

  // A principal whose rights are limited (not anonymous-open, not admin).
  bool restricted() const noexcept { return who && who->who != role::admin; }

  // The state the access policy decides on: the tracker's when there is one
  // (the source of truth), else the broker's copy.
  std::optional<tracking_state> order_state(const order_id& order) const {
    if (engine != nullptr) return engine->snapshot(order);
    auto snap = hub.snapshot(order);
    if (!snap.ok()) return std::nullopt;
    return std::move(*snap);
  }

  // Refuses a frame for the access policy (counted once, in the authenticator).
  void deny(const status_result& why, const stomp_frame& f) {
    options.auth->count_denied();
    fail(why.code, why.field, &f);
  }

  // --- output -------------------------------------------------------------

  void send_raw(std::string_view bytes) {
    channel.send(bytes);
    sent_since_tick.store(true, std::memory_order_relaxed);
    bump(counters.bytes_out, bytes.size());
  }

  void send_frame(stomp_command command, std::span<const stomp_header> headers,
                  std::string_view body, std::string& buffer) {
    buffer.clear();
    encode_frame(stomp_frame{command, headers, body}, buffer, version.load(std::memory_order_relaxed));
    send_raw(buffer);
    bump(counters.frames_out);
  }

  void send_receipt(const stomp_frame& cause) {
    const auto receipt = cause.header("receipt");
    if (!receipt) return;
    const stomp_header hs[] = {{"receipt-id", *receipt}};
    send_frame(stomp_command::receipt, hs, {}, out);
  }

  // The counter of an ERROR's kind.
  std::atomic<std::uint64_t>& error_kind(std::error_code code) noexcept {
    if (code.category() != error_category()) return counters.errors_send;
    const int v = code.value();
    if (v >= 700 && v <= 705) return counters.errors_malformed;
    if ((v >= 706 && v <= 709) || code == errc::too_large) return counters.errors_limit;
    if (code == errc::stomp_unknown_destination) return counters.errors_destination;
    if (v >= 727 && v <= 729) return counters.errors_subscription;
    if (code == errc::stomp_heartbeat_timeout) return counters.heartbeat_timeouts;
    if (code == errc::stomp_connect_timeout) return counters.connect_timeouts;
    if (v >= 720 && v <= 749 && code != errc::stomp_send_not_accepted) return counters.errors_protocol;
    return counters.errors_send;
  }

  // Sends ERROR (the spec: the server closes the connection right after it)
  // and closes. `cause` is the frame that caused it, when there is one.
  void fail(std::error_code code, const char* field, const stomp_frame* cause,
            std::string_view detail = {}, int close_code = kStompCloseProtocolError) {
    if (closed.load()) return;
    const std::string message = describe(code, field);
    const char* name = code.category() == error_category() ? errc_name(static_cast<errc>(code.value()))
                                                           : code.category().name();
    std::string body = message;
    if (cause != nullptr) {
      body += "\nframe: ";
      body += stomp_command_name(cause->command);
    }
    if (!detail.empty()) {
      body += "\n";
      body += detail;
    }
    std::vector<stomp_header> hs;
    hs.push_back({"message", message});
    hs.push_back({"x-error-code", name});
    if (field != nullptr) hs.push_back({"x-error-field", field});
    if (cause != nullptr)
      if (auto receipt = cause->header("receipt")) hs.push_back({"receipt-id", *receipt});
    if (code == errc::stomp_unsupported_version)
      hs.push_back({"version", options.accept_older_versions ? "1.2,1.1,1.0" : "1.2"});
    hs.push_back({"content-type", "text/plain"});
    send_frame(stomp_command::error, hs, body, out);
    bump(error_kind(code));
    close(close_code, message);
  }
  void fail(errc code, const char* field, const stomp_frame* cause, std::string_view detail = {},
            int close_code = kStompCloseProtocolError) {
    fail(make_error_code(code), field, cause, detail, close_code);
  }

  void close(int code, std::string_view reason) {
    if (closed.exchange(true)) return;
    channel.close(code, reason);
    drop_subscriptions();
  }

  // Unsubscribes everything; waits for deliveries in flight (never called
  // from inside a delivery: deliveries do not close).
  void drop_subscriptions() {
    auto subs = std::move(subscriptions);
    subscriptions.clear();
    for (auto& [id, sub] : subs) sub->handle.unsubscribe();
    transactions.clear();
    transaction_frames = 0;
  }

  // --- deliveries (ingest threads) -------------------------------------------

  void send_message(subscription_state& sub, const message_view& m, bool coalesced,
                    std::string& buffer) {
    char id_text[24];
    const auto id = next_message_id.fetch_add(1, std::memory_order_relaxed);
    const auto id_end = std::to_chars(id_text, id_text + sizeof id_text, id).ptr;
    char version_text[24];
    const auto version_end = std::to_chars(version_text, version_text + sizeof version_text, m.version).ptr;
    char length_text[24];
    const auto length_end = std::to_chars(length_text, length_text + sizeof length_text, m.body.size()).ptr;
    stomp_header hs[8];
    std::size_t n = 0;
    hs[n++] = {"subscription", sub.id};
    hs[n++] = {"message-id", std::string_view(id_text, static_cast<std::size_t>(id_end - id_text))};
    hs[n++] = {"destination", sub.destination};
    hs[n++] = {"content-type", "application/json"};
    hs[n++] = {"content-length", std::string_view(length_text, static_cast<std::size_t>(length_end - length_text))};
    if (!sub.riders)
      hs[n++] = {"x-version", std::string_view(version_text, static_cast<std::size_t>(version_end - version_text))};
    if (coalesced) hs[n++] = {"x-coalesced", "true"};
    if (sub.client_ack) hs[n++] = {"ack", hs[1].value};
    send_frame(stomp_command::message, std::span<const stomp_header>(hs, n), m.body, buffer);
    bump(counters.messages_out);
  }

  bool over_bound() const noexcept {
    return channel.queued_bytes() > options.send_queue_bound_bytes;
  }

  void deliver(subscription_state& sub, const message_view& source) {
    // One buffer per delivering thread: no allocation per message once warm.
    thread_local std::string buffer;
    std::lock_guard lock(sub.mutex);
    if (closed.load(std::memory_order_relaxed)) return;
    message_view m = source;
    if (restricted() && !sub.riders) {
      // The role's view, projected once per message for every session of
      // the role (role_view_cache); the status is asked only on a miss.
      m.body = options.auth->views().project(source.body, who->who, [&] {
        auto snap = hub.snapshot(sub.order);
        return snap.ok() ? snap->status : order_status::paid;
      });
      m.binary = {};
      if (m.body.empty()) return;  // did not decode: never leak the full view
    }
    if (sub.riders) {
      // Positions of all riders: the next fix (15 s) supersedes a dropped one.
      if (over_bound()) {
        bump(counters.rider_positions_dropped);
        return;
      }
      send_message(sub, m, false, buffer);
      return;
    }
    // A snapshot sent while catching up may already cover this version.
    if (sub.sent_any && m.version <= sub.last_version) return;
    if (sub.behind || over_bound()) {
      sub.behind = true;
      any_behind.store(true, std::memory_order_release);
      bump(counters.coalesced);
      return;
    }
    send_message(sub, m, false, buffer);
    sub.sent_any = true;
    sub.last_version = m.version;
  }

  // Sends one snapshot to each subscription that skipped deltas, while the
  // queue stays below half the bound (strand).
  void catch_up() {
    if (closed.load() || !any_behind.exchange(false, std::memory_order_acq_rel)) return;
    std::string body;
    for (auto& [id, sub] : subscriptions) {
      std::lock_guard lock(sub->mutex);
      if (!sub->behind) continue;
      if (channel.queued_bytes() > options.send_queue_bound_bytes / 2) {
        any_behind.store(true, std::memory_order_release);  // later: on_writable or a tick
        continue;
      }
      sub->behind = false;
      auto snap = hub.snapshot(sub->order);
      if (!snap.ok()) continue;  // forgotten by the broker: nothing more will come
      if (sub->sent_any && snap->version <= sub->last_version) continue;
      body.clear();
      encode_snapshot(*snap, body);
      if (restricted()) {
        std::string full = std::move(body);
        body.clear();
        if (!project_update(full, who->who, snap->status, body).ok()) continue;
      }
      message_view m;
      m.topic = sub->destination;
      m.body = body;
      m.version = snap->version;
      m.kind = message_kind::snapshot;
      send_message(*sub, m, true, out);
      sub->sent_any = true;
      sub->last_version = snap->version;
      bump(counters.coalesced_snapshots);
    }
  }

  // --- frames (strand) --------------------------------------------------------

  void on_frame(const stomp_frame& f) {
    bump(counters.frames_in);
    if (!is_client_command(f.command)) return fail(errc::stomp_unexpected_command, "command", &f);
    if (!connected) {
      if (f.command == stomp_command::connect || f.command == stomp_command::stomp) return on_connect(f);
      return fail(errc::stomp_not_connected, "command", &f);
    }
    switch (f.command) {
      case stomp_command::connect:
      case stomp_command::stomp: return fail(errc::stomp_already_connected, "command", &f);
      case stomp_command::send: return on_send(f);
      case stomp_command::subscribe: return on_subscribe(f);
      case stomp_command::unsubscribe: return on_unsubscribe(f);
      case stomp_command::ack:
      case stomp_command::nack: return on_ack(f);
      case stomp_command::begin:
      case stomp_command::commit:
      case stomp_command::abort: return on_transaction(f);
      case stomp_command::disconnect:
        send_receipt(f);
        return close(kStompCloseNormal, "DISCONNECT");
      default: return fail(errc::stomp_unexpected_command, "command", &f);
    }
  }

  void on_connect(const stomp_frame& f) {
    // No accept-version: a 1.0 client (the spec).
    const std::string_view offered = f.header("accept-version").value_or("1.0");
    bool v10 = false, v11 = false, v12 = false;
    for (std::size_t start = 0; start <= offered.size();) {
      std::size_t comma = offered.find(',', start);
      if (comma == std::string_view::npos) comma = offered.size();
      const std::string_view v = offered.substr(start, comma - start);
      v10 = v10 || v == "1.0";
      v11 = v11 || v == "1.1";
      v12 = v12 || v == "1.2";
      start = comma + 1;
    }
    stomp_version chosen;
    if (v12) {
      chosen = stomp_version::v1_2;
    } else if (v11 && options.accept_older_versions) {
      chosen = stomp_version::v1_1;
    } else if (v10 && options.accept_older_versions) {
      chosen = stomp_version::v1_0;
    } else {
      return fail(errc::stomp_unsupported_version, "accept-version", &f);
    }
    std::pair<std::uint64_t, std::uint64_t> client_hb{0, 0};
    if (auto hb = f.header("heart-beat")) {
      auto parsed = parse_heartbeat(*hb);
      if (!parsed) return fail(errc::stomp_invalid_header_value, "heart-beat", &f);
      client_hb = *parsed;
    }
    if (options.authorize_connect) {
      const status_result allowed = options.authorize_connect(f);
      if (!allowed.ok()) return fail(allowed.code, allowed.field, &f);
    }
    if (options.auth) {
      // STOMP header names are case-sensitive; clients spell this one both ways.
      const std::string_view header =
          f.header("Authorization").value_or(f.header("authorization").value_or(std::string_view()));
      auto caller = options.auth->authenticate(header, channel.access_token());
      if (!caller.ok()) return fail(caller.error(), caller.field(), &f);
      if (caller->has_value()) {
        auto slot = options.auth->admit(**caller);
        if (!slot.ok()) return fail(slot.error(), slot.field(), &f);
        lease = std::move(*slot);
        who = std::move(**caller);
      }
    }
    // cx,cy from the client; sx,sy our own: each direction takes the larger wish.
    send_interval = negotiate(static_cast<std::uint64_t>(std::max<duration_ms>(0, options.heartbeat_send_ms)),
                              client_hb.second);
    receive_interval = negotiate(client_hb.first,
                                 static_cast<std::uint64_t>(std::max<duration_ms>(0, options.heartbeat_receive_ms)));
    version.store(chosen);
    parser.set_version(chosen);
    connected = true;
    // Sending the negotiated values makes the client's own max() arrive at the same intervals.
    const std::string heart_beat = std::to_string(send_interval) + "," + std::to_string(receive_interval);
    const stomp_header hs[] = {{"version", stomp_version_name(chosen)},
                               {"heart-beat", heart_beat},
                               {"server", options.server_name},
                               {"session", session_id}};
    send_frame(stomp_command::connected, hs, {}, out);
  }

  void on_subscribe(const stomp_frame& f) {
    const auto id = f.header("id");
    if (!id) return fail(errc::stomp_missing_header, "id", &f);
    const auto destination = f.header("destination");
    if (!destination) return fail(errc::stomp_missing_header, "destination", &f);
    if (subscriptions.find(*id) != subscriptions.end())
      return fail(errc::stomp_duplicate_subscription, "id", &f);
    if (subscriptions.size() >= options.max_subscriptions)
      return fail(errc::stomp_too_many_subscriptions, "max_subscriptions", &f);
    const std::string_view ack = f.header("ack").value_or("auto");
    if (ack != "auto" && ack != "client" && ack != "client-individual")
      return fail(errc::stomp_invalid_header_value, "ack", &f);
    std::optional<std::uint64_t> since;
    if (auto text = f.header(kStompSinceVersionHeader)) {
      since = parse_u64(*text);
      if (!since) return fail(errc::stomp_invalid_header_value, "x-since-version", &f);
    }
    auto sub = std::make_shared<subscription_state>();
    sub->id = *id;
    sub->destination = *destination;
    sub->client_ack = ack != "auto";
    if (*destination == riders_topic) {
      sub->riders = true;
    } else if (destination->starts_with(kOrdersPrefix)) {
      auto order = order_id::make(destination->substr(kOrdersPrefix.size()), "destination");
      if (!order.ok()) return fail(order.error(), order.field(), &f);
      sub->order = *order;
    } else {
      return fail(errc::stomp_unknown_destination, "destination", &f,
                  "served: /topic/orders/{orderId}, /topic/riders");
    }
    if (restricted()) {
      const status_result allowed = sub->riders ? can_read_all_riders(*who) : [&] {
        const auto state = order_state(sub->order);
        return can_read_order(*who, state ? &*state : nullptr);
      }();
      if (!allowed.ok()) return deny(allowed, f);
    }
    // The callback holds the state, not the session: the strand unsubscribes
    // (and so waits for it) before the session goes away.
    subscription_state* raw = sub.get();
    auto handle = hub.subscribe(*destination, since, [this, raw](const message_view& m) { deliver(*raw, m); });
    if (!handle.ok()) return fail(handle.error(), handle.field(), &f);
    sub->handle = std::move(*handle);
    subscriptions.emplace(sub->id, std::move(sub));
    send_receipt(f);
  }

  void on_unsubscribe(const stomp_frame& f) {
    const auto id = f.header("id");
    if (!id) return fail(errc::stomp_missing_header, "id", &f);
    auto it = subscriptions.find(*id);
    if (it == subscriptions.end()) return fail(errc::stomp_unknown_subscription, "id", &f);
    auto sub = std::move(it->second);
    subscriptions.erase(it);
    sub->handle.unsubscribe();  // waits for a delivery in flight on another thread
    send_receipt(f);
  }

  void on_ack(const stomp_frame& f) {
    // 1.2 acknowledges by the MESSAGE's ack header (id); 1.1/1.0 by message-id.
    const char* key = version.load() == stomp_version::v1_2 ? "id" : "message-id";
    if (!f.header(key)) return fail(errc::stomp_missing_header, key, &f);
    // Messages are versioned states: the next delta or snapshot supersedes a
    // NACKed one, so there is nothing to redeliver.
    send_receipt(f);
  }

  void on_transaction(const stomp_frame& f) {
    const auto name = f.header("transaction");
    if (!name) return fail(errc::stomp_missing_header, "transaction", &f);
    auto it = transactions.find(*name);
    if (f.command == stomp_command::begin) {
      if (it != transactions.end()) return fail(errc::stomp_unknown_transaction, "transaction", &f);
      if (transactions.size() >= options.max_transactions)
        return fail(errc::too_large, "max_transactions", &f);
      transactions.emplace(std::string(*name), std::vector<stomp_frame_copy>{});
      return send_receipt(f);
    }
    if (it == transactions.end()) return fail(errc::stomp_unknown_transaction, "transaction", &f);
    auto frames = std::move(it->second);
    transactions.erase(it);
    transaction_frames -= frames.size();
    if (f.command == stomp_command::commit) {
      for (const auto& copy : frames) {
        std::vector<stomp_header> hs;
        for (const auto& [k, v] : copy.headers) hs.push_back({k, v});
        ingest(stomp_frame{copy.command, hs, copy.body});
        if (closed.load()) return;
      }
    }
    send_receipt(f);
  }

  void on_send(const stomp_frame& f) {
    const auto destination = f.header("destination");
    if (!destination) return fail(errc::stomp_missing_header, "destination", &f);
    if (*destination != kStompTrackingDestination)
      return fail(errc::stomp_unknown_destination, "destination", &f, "SEND goes to /app/tracking");
    if (engine == nullptr) return fail(errc::stomp_send_not_accepted, "destination", &f);
    if (auto name = f.header("transaction")) {
      auto it = transactions.find(*name);
      if (it == transactions.end()) return fail(errc::stomp_unknown_transaction, "transaction", &f);
      if (transaction_frames >= options.max_transaction_frames)
        return fail(errc::too_large, "max_transaction_frames", &f);
      it->second.push_back(copy_frame(f));
      ++transaction_frames;
      return send_receipt(f);
    }
    ingest(f);
  }

  // A SEND to /app/tracking: one event in the JSON of order/event_json.
  void ingest(const stomp_frame& f) {
    auto e = event_from_json(f.body);
    if (!e.ok()) return fail(e.error(), e.field(), &f);
    if (restricted()) {
      const auto state = e->order.empty() ? std::nullopt : order_state(e->order);
      const status_result allowed = can_send(*who, *e, state ? &*state : nullptr);
      if (!allowed.ok()) return deny(allowed, f);
    }
    const ingest_result r = engine->ingest(*e);
    if (r.status == ingest_status::rejected) return fail(r.code, r.field, &f);
    bump(r.status == ingest_status::accepted ? counters.sends_accepted : counters.sends_duplicate);
    send_receipt(f);
  }

  void on_input(std::string_view bytes) {
    if (closed.load()) return;
    bump(counters.bytes_in, bytes.size());
    received_since_tick = true;
    while (!bytes.empty() && !closed.load()) {
      auto step = parser.parse_some(bytes);
      if (!step.ok()) return fail(step.error(), step.field(), nullptr);
      bytes.remove_prefix(step->consumed);
      if (step->frame_ready) on_frame(parser.frame());
    }
    bump(counters.heartbeats_in, parser.heartbeats() - parser_heartbeats);
    parser_heartbeats = parser.heartbeats();
  }

  void on_tick(long long now) {
    if (closed.load()) return;
    if (first_tick < 0) first_tick = now;
    if (!connected) {
      if (options.connect_timeout_ms > 0 && now - first_tick >= options.connect_timeout_ms)
        fail(errc::stomp_connect_timeout, "connect_timeout_ms", nullptr, {}, kStompCloseTimeout);
      return;
    }
    // Ticks are the one time base (the server's); activity between two ticks
    // is dated at the later one, which errs on the side of keeping the peer.
    if (received_since_tick || last_received < 0) last_received = now;
    received_since_tick = false;
    if (sent_since_tick.exchange(false, std::memory_order_relaxed) || last_sent < 0) last_sent = now;
    if (receive_interval > 0 &&
        static_cast<double>(now - last_received) >
            static_cast<double>(receive_interval) * options.heartbeat_tolerance) {
      return fail(errc::stomp_heartbeat_timeout, "heart-beat", nullptr, {}, kStompCloseTimeout);
    }
    if (send_interval > 0 && now - last_sent >= send_interval) {
      send_raw("\n");
      bump(counters.heartbeats_out);
      sent_since_tick.store(false, std::memory_order_relaxed);
      last_sent = now;
    }
    if (channel.queued_bytes() <= options.send_queue_bound_bytes / 2) catch_up();
  }
};

stomp_session::stomp_session(stomp_session_options options, broker& hub, tracker* engine,
                             message_channel& channel)
    : impl_(std::make_unique<impl>(std::move(options), hub, engine, channel)) {}

stomp_session::~stomp_session() {
  impl_->closed.store(true);
  impl_->drop_subscriptions();
}

void stomp_session::on_message(std::string_view message) { impl_->on_input(message); }
void stomp_session::on_tick(long long now_ms) { impl_->on_tick(now_ms); }
void stomp_session::on_writable() { impl_->catch_up(); }
void stomp_session::on_closed() {
  impl_->closed.store(true);
  impl_->drop_subscriptions();
}

bool stomp_session::connected() const noexcept { return impl_->connected && !impl_->closed.load(); }
bool stomp_session::closed() const noexcept { return impl_->closed.load(); }
stomp_version stomp_session::version() const noexcept { return impl_->version.load(); }
duration_ms stomp_session::heartbeat_send_interval_ms() const noexcept { return impl_->send_interval; }
duration_ms stomp_session::heartbeat_receive_interval_ms() const noexcept {
  return impl_->receive_interval;
}
const std::string& stomp_session::session_id() const noexcept { return impl_->session_id; }
std::size_t stomp_session::subscription_count() const noexcept { return impl_->subscriptions.size(); }
stomp_metrics stomp_session::metrics() const noexcept { return impl_->counters.load(); }

}  // namespace xiaoxiang
