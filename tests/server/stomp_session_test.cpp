#include "xiaoxiang/server/stomp_session.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "event_builder.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang {
namespace {

using namespace std::string_literals;
using testing::event_builder;

// A message_channel that records what the session sends; queued_bytes is
// whatever the test sets (a slow consumer at will).
class fake_channel final : public message_channel {
 public:
  void send(std::string_view message) override {
    std::lock_guard lock(mu_);
    bytes_.append(message);
  }
  std::size_t queued_bytes() const noexcept override { return queued.load(); }
  void close(int code, std::string_view reason) override {
    std::lock_guard lock(mu_);
    ++closes_;
    if (closes_ == 1) {
      close_code_ = code;
      close_reason_ = reason;
    }
  }

  // A new connection on the same recorder: forget the previous close.
  void reopen() {
    std::lock_guard lock(mu_);
    closes_ = 0;
    close_code_ = 0;
  }
  std::string bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }
  int close_code() const {
    std::lock_guard lock(mu_);
    return close_code_;
  }
  bool closed() const {
    std::lock_guard lock(mu_);
    return closes_ > 0;
  }
  // Every frame sent so far (heart-beat EOLs skipped).
  std::vector<stomp_frame_copy> frames() const {
    stomp_parser parser;
    std::vector<stomp_frame_copy> out;
    const auto st = parser.feed(bytes(), [&](const stomp_frame& f) { out.push_back(copy_frame(f)); });
    EXPECT_TRUE(st.ok()) << st.message();
    EXPECT_TRUE(parser.idle());
    return out;
  }
  // The frames sent since the last call.
  std::vector<stomp_frame_copy> take() {
    auto all = frames();
    std::vector<stomp_frame_copy> fresh(all.begin() + static_cast<std::ptrdiff_t>(taken_), all.end());
    taken_ = all.size();
    return fresh;
  }

  std::atomic<std::size_t> queued{0};

 private:
  mutable std::mutex mu_;
  std::string bytes_;
  int closes_ = 0;
  int close_code_ = 0;
  std::string close_reason_;
  std::size_t taken_ = 0;
};

std::string header(const stomp_frame_copy& f, std::string_view name) {
  for (const auto& [k, v] : f.headers)
    if (k == name) return v;
  return "<absent>";
}

std::string frame(std::string_view command, std::vector<std::pair<std::string, std::string>> headers,
                  std::string body = {}) {
  stomp_frame_copy f;
  f.command = *stomp_command_from_name(command);
  f.headers = std::move(headers);
  f.body = std::move(body);
  std::string out;
  encode_frame(f, out);
  return out;
}

const std::string kConnect = "CONNECT\naccept-version:1.2\nhost:localhost\n\n\0"s;

class StompSessionTest : public ::testing::Test {
 protected:
  event_builder b;
  manual_clock clock{b.time()};
  broker_options broker_opts;
  std::unique_ptr<broker> hub = std::make_unique<broker>(broker_opts);
  std::unique_ptr<tracker> engine = std::make_unique<tracker>(tracker_options{}, nullptr, hub.get(), &clock);
  fake_channel channel;
  stomp_session_options options;
  std::unique_ptr<stomp_session> session;

  void SetUp() override { options.session_id = "S1"; }

  stomp_session& open(bool with_tracker = true) {
    session.reset();
    channel.reopen();
    session = std::make_unique<stomp_session>(options, *hub, with_tracker ? engine.get() : nullptr, channel);
    return *session;
  }
  stomp_session& connect() {
    open().on_message(kConnect);
    auto frames = channel.take();
    EXPECT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames.at(0).command, stomp_command::connected);
    return *session;
  }
  // A fresh broker and tracker (after changing broker_opts, or to forget every event).
  void rebuild_hub() {
    engine.reset();
    hub = std::make_unique<broker>(broker_opts);
    engine = std::make_unique<tracker>(tracker_options{}, nullptr, hub.get(), &clock);
  }

  void ingest(const event& e) {
    const auto r = engine->ingest(e);
    ASSERT_NE(r.status, ingest_status::rejected) << r.message();
  }
  // O1 to Delivering with rider R1: versions 1..4.
  void to_delivering(const std::string& order = "O1", const std::string& rider = "R1") {
    ingest(b.created(order));
    ingest(b.paid(order));
    ingest(b.picking(order, picking_stage::picked));
    ingest(b.assigned(order, rider));
  }
  void move(const std::string& rider, double dx) {
    b.advance(15'000);
    clock.set(b.time());
    ingest(b.position(rider, {116.40 + dx, 39.90}));
  }

  // The single ERROR the session sent (and it closed the channel).
  void expect_error(errc code, const char* field, std::string_view message) {
    const auto frames = channel.take();
    ASSERT_FALSE(frames.empty());
    const auto& f = frames.back();
    ASSERT_EQ(f.command, stomp_command::error) << f.body;
    EXPECT_EQ(header(f, "x-error-code"), errc_name(code));
    EXPECT_EQ(header(f, "x-error-field"), field == nullptr ? "<absent>" : field);
    EXPECT_EQ(header(f, "message"), message);
    EXPECT_EQ(header(f, "content-type"), "text/plain");
    EXPECT_TRUE(channel.closed());
    EXPECT_TRUE(session->closed());
  }
};

TEST_F(StompSessionTest, ConnectNegotiatesVersionAndHeartBeats) {
  options.heartbeat_send_ms = 10'000;
  options.heartbeat_receive_ms = 10'000;
  open().on_message(
      "CONNECT\naccept-version:1.0,1.1,1.2\nhost:h\nheart-beat:5000,20000\n\n\0"s);
  const auto frames = channel.take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], (stomp_frame_copy{stomp_command::connected,
                                         {{"version", "1.2"},
                                          {"heart-beat", "20000,10000"},
                                          {"server", "xiaoxiang/1.0"},
                                          {"session", "S1"}},
                                         ""}));
  EXPECT_TRUE(session->connected());
  EXPECT_EQ(session->heartbeat_send_interval_ms(), 20'000);
  EXPECT_EQ(session->heartbeat_receive_interval_ms(), 10'000);
  EXPECT_EQ(session->version(), stomp_version::v1_2);
}

TEST_F(StompSessionTest, StompCommandAndOlderVersions) {
  open().on_message("STOMP\naccept-version:1.1,1.0\nhost:h\n\n\0"s);
  EXPECT_EQ(header(channel.take().at(0), "version"), "1.1");
  EXPECT_EQ(session->version(), stomp_version::v1_1);
  // No accept-version at all: a 1.0 client (the spec). No heart-beat header: 0,0.
  channel.take();
  fake_channel other;
  stomp_session s10(options, *hub, engine.get(), other);
  s10.on_message("CONNECT\n\n\0"s);
  EXPECT_EQ(header(other.frames().at(0), "version"), "1.0");
  EXPECT_EQ(header(other.frames().at(0), "heart-beat"), "0,0");
}

TEST_F(StompSessionTest, NoCommonVersionIsAnError) {
  options.accept_older_versions = false;
  open().on_message("CONNECT\naccept-version:1.0,1.1\n\n\0"s);
  const auto f = channel.frames().back();
  EXPECT_EQ(header(f, "version"), "1.2");
  expect_error(errc::stomp_unsupported_version, "accept-version",
               "accept-version: no common STOMP version (the version header lists the server's)");
  EXPECT_EQ(channel.close_code(), kStompCloseProtocolError);
  EXPECT_EQ(session->metrics().errors_protocol, 1u);
}

TEST_F(StompSessionTest, InvalidHeartBeatHeader) {
  open().on_message("CONNECT\naccept-version:1.2\nheart-beat:10\n\n\0"s);
  expect_error(errc::stomp_invalid_header_value, "heart-beat", "heart-beat: STOMP header value is invalid");
}

TEST_F(StompSessionTest, AuthorizeHookRefuses) {
  options.authorize_connect = [](const stomp_frame& f) -> status_result {
    if (f.header("passcode") == "secret") return {};
    return {errc::invalid_field, "passcode"};
  };
  open().on_message("CONNECT\naccept-version:1.2\npasscode:guess\nreceipt:c1\n\n\0"s);
  const auto f = channel.frames().back();
  EXPECT_EQ(header(f, "receipt-id"), "c1");
  expect_error(errc::invalid_field, "passcode", "passcode: field value is outside its domain");
}

TEST_F(StompSessionTest, FramesBeforeConnect) {
  open().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/O1"}, {"receipt", "r1"}}));
  const auto f = channel.frames().back();
  EXPECT_EQ(header(f, "receipt-id"), "r1");
  EXPECT_NE(f.body.find("frame: SUBSCRIBE"), std::string::npos);
  expect_error(errc::stomp_not_connected, "command", "command: STOMP frame before CONNECT");
  // Nothing more is processed after ERROR.
  session->on_message(kConnect);
  EXPECT_TRUE(channel.take().empty());
}

TEST_F(StompSessionTest, SecondConnectAndServerCommands) {
  connect().on_message(kConnect);
  expect_error(errc::stomp_already_connected, "command", "command: STOMP session is connected already");
  channel.take();
  fake_channel other;
  stomp_session s(options, *hub, engine.get(), other);
  s.on_message(kConnect + frame("MESSAGE", {{"destination", "/x"}}));
  const auto f = other.frames().back();
  EXPECT_EQ(header(f, "x-error-code"), "stomp_unexpected_command");
  EXPECT_TRUE(other.closed());
}

TEST_F(StompSessionTest, MalformedFramesAndLimits) {
  connect().on_message("BOGUS\n\n\0"s);
  expect_error(errc::stomp_unknown_command, "command", "command: STOMP command is not known");
  EXPECT_EQ(session->metrics().errors_malformed, 1u);

  options.limits.max_frame_bytes = 64;
  connect().on_message(frame("SEND", {{"destination", "/app/tracking"}}, std::string(100, 'x')));
  expect_error(errc::stomp_frame_too_large, "max_frame_bytes",
               "max_frame_bytes: STOMP frame is larger than the limit");
  EXPECT_EQ(session->metrics().errors_limit, 1u);

  options.limits.max_headers = 2;
  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/riders"}, {"a", "b"}}));
  expect_error(errc::stomp_too_many_headers, "max_headers",
               "max_headers: STOMP frame has more headers than the limit");

  options.limits = {};
  connect().on_message("SEND\ndestination:/app/tracking\nx:a\\tb\n\n\0"s);
  expect_error(errc::stomp_invalid_escape, "header", "header: STOMP header has an undefined escape sequence");
}

TEST_F(StompSessionTest, SubscribeGetsSnapshotThenDeltas) {
  to_delivering();
  connect().on_message(frame("SUBSCRIBE", {{"id", "sub-0"}, {"destination", "/topic/orders/O1"}, {"receipt", "r1"}}));
  auto frames = channel.take();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].command, stomp_command::message);
  EXPECT_EQ(header(frames[0], "subscription"), "sub-0");
  EXPECT_EQ(header(frames[0], "destination"), "/topic/orders/O1");
  EXPECT_EQ(header(frames[0], "content-type"), "application/json");
  EXPECT_EQ(header(frames[0], "content-length"), std::to_string(frames[0].body.size()));
  EXPECT_EQ(header(frames[0], "x-version"), "4");
  EXPECT_EQ(header(frames[0], "x-coalesced"), "<absent>");
  EXPECT_EQ(header(frames[0], "ack"), "<absent>");
  const auto snap = decode_update_json(frames[0].body);
  ASSERT_TRUE(snap.ok()) << snap.message();
  EXPECT_EQ(snap->kind, message_kind::snapshot);
  EXPECT_EQ(frames[1], (stomp_frame_copy{stomp_command::receipt, {{"receipt-id", "r1"}}, ""}));

  move("R1", 0.001);
  move("R1", 0.002);
  frames = channel.take();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(header(frames[0], "x-version"), "5");
  EXPECT_EQ(header(frames[1], "x-version"), "6");
  EXPECT_NE(header(frames[0], "message-id"), header(frames[1], "message-id"));
  const auto delta = decode_update_json(frames[1].body);
  ASSERT_TRUE(delta.ok());
  EXPECT_EQ(delta->kind, message_kind::delta);
  EXPECT_NEAR(delta->state.position.lon, 116.402, 1e-9);
  EXPECT_EQ(session->metrics().messages_out, 3u);
}

TEST_F(StompSessionTest, ResumeSinceVersionHasNoGap) {
  to_delivering();  // v1..4
  move("R1", 0.001);  // v5
  move("R1", 0.002);  // v6
  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/O1"}, {"x-since-version", "3"}}));
  move("R1", 0.003);  // v7, live
  std::vector<std::string> versions;
  std::vector<std::string> kinds;
  for (const auto& f : channel.take()) {
    versions.push_back(header(f, "x-version"));
    kinds.push_back(std::string(message_kind_name(decode_update_json(f.body)->kind)));
  }
  EXPECT_EQ(versions, (std::vector<std::string>{"4", "5", "6", "7"}));
  EXPECT_EQ(kinds, (std::vector<std::string>{"delta", "delta", "delta", "delta"}));
}

TEST_F(StompSessionTest, ResumeTooOldGetsASnapshot) {
  broker_opts.history_messages = 2;
  rebuild_hub();
  to_delivering();
  move("R1", 0.001);
  move("R1", 0.002);  // v6; history holds v5, v6
  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/O1"}, {"x-since-version", "1"}}));
  const auto frames = channel.take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(header(frames[0], "x-version"), "6");
  EXPECT_EQ(decode_update_json(frames[0].body)->kind, message_kind::snapshot);
}

TEST_F(StompSessionTest, UnsubscribeStopsDelivery) {
  to_delivering();
  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/O1"}}));
  EXPECT_EQ(session->subscription_count(), 1u);
  session->on_message(frame("UNSUBSCRIBE", {{"id", "0"}, {"receipt", "u"}}));
  EXPECT_EQ(session->subscription_count(), 0u);
  move("R1", 0.001);
  const auto frames = channel.take();
  ASSERT_EQ(frames.size(), 2u);  // the snapshot, the receipt; nothing after
  EXPECT_EQ(frames[1].command, stomp_command::receipt);
  EXPECT_EQ(hub->metrics().subscriptions, 0u);
}

TEST_F(StompSessionTest, SubscriptionErrors) {
  connect().on_message(frame("UNSUBSCRIBE", {{"id", "9"}}));
  expect_error(errc::stomp_unknown_subscription, "id", "id: STOMP subscription id is not subscribed");
  EXPECT_EQ(session->metrics().errors_subscription, 1u);

  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/riders"}}) +
                       frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/O2"}}));
  expect_error(errc::stomp_duplicate_subscription, "id", "id: STOMP subscription id is in use on this connection");

  options.max_subscriptions = 1;
  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/riders"}}) +
                       frame("SUBSCRIBE", {{"id", "1"}, {"destination", "/topic/orders/O2"}}));
  expect_error(errc::stomp_too_many_subscriptions, "max_subscriptions",
               "max_subscriptions: too many STOMP subscriptions on this connection");
  EXPECT_EQ(hub->metrics().subscriptions, 0u);  // closing dropped the first one

  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/queue/orders"}}));
  expect_error(errc::stomp_unknown_destination, "destination", "destination: STOMP destination is not served here");
  EXPECT_EQ(session->metrics().errors_destination, 1u);

  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/"}}));
  expect_error(errc::empty_id, "destination", "destination: id is empty");

  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/O1"}, {"ack", "sometimes"}}));
  expect_error(errc::stomp_invalid_header_value, "ack", "ack: STOMP header value is invalid");

  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/O1"}, {"x-since-version", "-1"}}));
  expect_error(errc::stomp_invalid_header_value, "x-since-version", "x-since-version: STOMP header value is invalid");

  connect().on_message(frame("SUBSCRIBE", {{"destination", "/topic/orders/O1"}}));
  expect_error(errc::stomp_missing_header, "id", "id: STOMP header is required");

  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}}));
  expect_error(errc::stomp_missing_header, "destination", "destination: STOMP header is required");
}

TEST_F(StompSessionTest, ClientAckModeAndAckFrames) {
  to_delivering();
  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/O1"}, {"ack", "client-individual"}}));
  const auto m = channel.take().at(0);
  EXPECT_EQ(header(m, "ack"), header(m, "message-id"));
  session->on_message(frame("ACK", {{"id", header(m, "ack")}, {"receipt", "a"}}) +
                      frame("NACK", {{"id", header(m, "ack")}, {"receipt", "n"}}));
  const auto frames = channel.take();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(header(frames[0], "receipt-id"), "a");
  EXPECT_EQ(header(frames[1], "receipt-id"), "n");
  session->on_message(frame("ACK", {{"receipt", "x"}}));
  expect_error(errc::stomp_missing_header, "id", "id: STOMP header is required");
}

TEST_F(StompSessionTest, EscapedSubscriptionIdRoundTrips) {
  to_delivering();
  connect().on_message(frame("SUBSCRIBE", {{"id", "a:b\\c"}, {"destination", "/topic/orders/O1"}}));
  EXPECT_NE(channel.bytes().find("subscription:a\\cb\\\\c\n"), std::string::npos);
  EXPECT_EQ(header(channel.take().at(0), "subscription"), "a:b\\c");
}

TEST_F(StompSessionTest, SendFeedsTheTracker) {
  to_delivering();
  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/O1"}}));
  channel.take();
  b.advance(15'000);
  clock.set(b.time());
  const event e = b.position("R1", {116.41, 39.905});
  const std::string send = frame("SEND", {{"destination", "/app/tracking"}, {"receipt", "s1"}, {"content-type", "application/json"}},
                                 event_to_json(e));
  session->on_message(send);
  auto frames = channel.take();
  ASSERT_EQ(frames.size(), 2u);  // the MESSAGE of the change it made, then the RECEIPT
  EXPECT_EQ(header(frames[0], "x-version"), "5");
  EXPECT_EQ(frames[1], (stomp_frame_copy{stomp_command::receipt, {{"receipt-id", "s1"}}, ""}));
  // At-least-once: the same event again is a duplicate, still receipted.
  session->on_message(send);
  frames = channel.take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].command, stomp_command::receipt);
  const auto m = session->metrics();
  EXPECT_EQ(m.sends_accepted, 1u);
  EXPECT_EQ(m.sends_duplicate, 1u);
  EXPECT_EQ(engine->snapshot(*order_id::make("O1"))->version, 5u);
}

TEST_F(StompSessionTest, SendErrors) {
  to_delivering();
  connect().on_message(frame("SEND", {{"destination", "/app/tracking"}}, "{not json"));
  expect_error(errc::malformed_json, nullptr, "input is not valid JSON");
  EXPECT_EQ(session->metrics().errors_send, 1u);

  event bad = b.position("R1", {116.41, 95.0});
  connect().on_message(frame("SEND", {{"destination", "/app/tracking"}, {"receipt", "r"}}, event_to_json(bad)));
  const auto f = channel.frames().back();
  EXPECT_EQ(header(f, "receipt-id"), "r");
  expect_error(errc::invalid_latitude, "latitude", "latitude: latitude is NaN, infinite or outside [-90, 90]");

  connect().on_message(frame("SEND", {{"destination", "/app/orders"}}, "{}"));
  expect_error(errc::stomp_unknown_destination, "destination", "destination: STOMP destination is not served here");

  connect().on_message(frame("SEND", {}, "{}"));
  expect_error(errc::stomp_missing_header, "destination", "destination: STOMP header is required");

  open(false).on_message(kConnect + frame("SEND", {{"destination", "/app/tracking"}}, event_to_json(b.paid("O1"))));
  expect_error(errc::stomp_send_not_accepted, "destination",
               "destination: STOMP SEND is not accepted by this server (no tracker)");
}

TEST_F(StompSessionTest, Transactions) {
  to_delivering();
  connect();
  b.advance(15'000);
  clock.set(b.time());
  const std::string body = event_to_json(b.position("R1", {116.41, 39.905}));
  session->on_message(frame("BEGIN", {{"transaction", "t1"}}) +
                      frame("SEND", {{"destination", "/app/tracking"}, {"transaction", "t1"}}, body));
  EXPECT_EQ(engine->snapshot(*order_id::make("O1"))->version, 4u);  // not yet
  session->on_message(frame("COMMIT", {{"transaction", "t1"}, {"receipt", "c"}}));
  EXPECT_EQ(engine->snapshot(*order_id::make("O1"))->version, 5u);
  EXPECT_EQ(header(channel.take().back(), "receipt-id"), "c");

  b.advance(15'000);
  clock.set(b.time());
  session->on_message(frame("BEGIN", {{"transaction", "t2"}}) +
                      frame("SEND", {{"destination", "/app/tracking"}, {"transaction", "t2"}},
                            event_to_json(b.position("R1", {116.42, 39.905}))) +
                      frame("ABORT", {{"transaction", "t2"}}));
  EXPECT_EQ(engine->snapshot(*order_id::make("O1"))->version, 5u);  // discarded

  session->on_message(frame("COMMIT", {{"transaction", "t2"}}));
  expect_error(errc::stomp_unknown_transaction, "transaction",
               "transaction: STOMP transaction is not begun, or begun already");

  options.max_transaction_frames = 1;
  connect().on_message(frame("BEGIN", {{"transaction", "t"}}) +
                       frame("SEND", {{"destination", "/app/tracking"}, {"transaction", "t"}}, body) +
                       frame("SEND", {{"destination", "/app/tracking"}, {"transaction", "t"}}, body));
  expect_error(errc::too_large, "max_transaction_frames",
               "max_transaction_frames: input is larger than the configured limit");
}

TEST_F(StompSessionTest, DisconnectWithReceipt) {
  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/riders"}}) +
                       frame("DISCONNECT", {{"receipt", "bye"}}));
  const auto frames = channel.take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], (stomp_frame_copy{stomp_command::receipt, {{"receipt-id", "bye"}}, ""}));
  EXPECT_TRUE(channel.closed());
  EXPECT_EQ(channel.close_code(), kStompCloseNormal);
  EXPECT_EQ(hub->metrics().subscriptions, 0u);
}

TEST_F(StompSessionTest, HeartBeatsOutAndSilenceTimeout) {
  options.heartbeat_send_ms = 10'000;
  options.heartbeat_receive_ms = 10'000;
  open().on_message("CONNECT\naccept-version:1.2\nheart-beat:10000,10000\n\n\0"s);
  channel.take();
  session->on_tick(0);
  session->on_tick(5'000);
  EXPECT_EQ(session->metrics().heartbeats_out, 0u);
  session->on_tick(10'000);
  EXPECT_EQ(session->metrics().heartbeats_out, 1u);
  EXPECT_EQ(channel.bytes().back(), '\n');
  // The client's heart-beats keep it open...
  session->on_message("\n");
  session->on_tick(15'000);
  session->on_message("\r\n");
  session->on_tick(30'000);
  EXPECT_FALSE(session->closed());
  EXPECT_EQ(session->metrics().heartbeats_in, 2u);
  // ...until it is silent beyond 2 x 10 s.
  session->on_tick(50'000);
  EXPECT_FALSE(session->closed());
  session->on_tick(51'000);
  expect_error(errc::stomp_heartbeat_timeout, "heart-beat",
               "heart-beat: STOMP peer silent beyond the negotiated heart-beat");
  EXPECT_EQ(channel.close_code(), kStompCloseTimeout);
  EXPECT_EQ(session->metrics().heartbeat_timeouts, 1u);
}

TEST_F(StompSessionTest, NoHeartBeatsNeverClosedForSilence) {
  open().on_message("CONNECT\naccept-version:1.2\nheart-beat:0,0\n\n\0"s);
  EXPECT_EQ(session->heartbeat_send_interval_ms(), 0);
  EXPECT_EQ(session->heartbeat_receive_interval_ms(), 0);
  for (long long t = 0; t < 3'600'000; t += 60'000) session->on_tick(t);
  EXPECT_FALSE(session->closed());
  EXPECT_EQ(session->metrics().heartbeats_out, 0u);
}

TEST_F(StompSessionTest, ConnectTimeout) {
  options.connect_timeout_ms = 5'000;
  open().on_tick(1'000);
  session->on_tick(5'999);
  EXPECT_FALSE(session->closed());
  session->on_tick(6'000);
  expect_error(errc::stomp_connect_timeout, "connect_timeout_ms",
               "connect_timeout_ms: no STOMP CONNECT within the allowed time");
  EXPECT_EQ(session->metrics().connect_timeouts, 1u);
}

TEST_F(StompSessionTest, SlowConsumerGetsOneCoalescedSnapshot) {
  options.send_queue_bound_bytes = 1000;
  to_delivering();
  connect().on_message(frame("SUBSCRIBE", {{"id", "0"}, {"destination", "/topic/orders/O1"}}) +
                       frame("SUBSCRIBE", {{"id", "r"}, {"destination", "/topic/riders"}}));
  channel.take();
  channel.queued = 5000;  // the client stopped reading
  for (int i = 1; i <= 5; ++i) move("R1", 0.001 * i);  // v5..v9
  EXPECT_TRUE(channel.take().empty());
  EXPECT_EQ(session->metrics().coalesced, 5u);
  EXPECT_EQ(session->metrics().rider_positions_dropped, 5u);
  session->on_writable();  // still above half the bound: nothing yet
  EXPECT_TRUE(channel.take().empty());
  channel.queued = 400;
  session->on_writable();
  auto frames = channel.take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(header(frames[0], "x-coalesced"), "true");
  EXPECT_EQ(header(frames[0], "x-version"), "9");
  const auto snap = decode_update_json(frames[0].body);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->kind, message_kind::snapshot);
  EXPECT_NEAR(snap->state.position.lon, 116.405, 1e-9);  // the latest position won
  EXPECT_EQ(session->metrics().coalesced_snapshots, 1u);
  // Live again, contiguous after the snapshot.
  channel.queued = 0;
  move("R1", 0.01);
  frames = channel.take();
  ASSERT_EQ(frames.size(), 2u);  // order delta v10 and the rider position
  EXPECT_EQ(header(frames[0], "x-version"), "10");
  EXPECT_EQ(header(frames[0], "x-coalesced"), "<absent>");
  // on_writable with nothing behind sends nothing; a tick also catches up.
  session->on_writable();
  EXPECT_TRUE(channel.take().empty());
  channel.queued = 5000;
  move("R1", 0.011);
  channel.queued = 0;
  session->on_tick(0);
  frames = channel.take();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(header(frames[0], "x-version"), "11");
  EXPECT_EQ(header(frames[0], "x-coalesced"), "true");
}

// The same client script, cut into random slices, gives the same replies.
TEST_F(StompSessionTest, RandomFragmentationsGiveTheSameReplies) {
  to_delivering();
  b.advance(15'000);
  clock.set(b.time());
  const std::string script =
      "CONNECT\r\naccept-version:1.2\r\nhost:h\r\n\r\n\0\n"s +
      frame("SUBSCRIBE", {{"id", "a:1"}, {"destination", "/topic/orders/O1"}, {"receipt", "1"}}) + "\n\n" +
      frame("SEND", {{"destination", "/app/tracking"}, {"receipt", "2"}}, event_to_json(b.position("R1", {116.41, 39.905}))) +
      frame("UNSUBSCRIBE", {{"id", "a:1"}, {"receipt", "3"}}) + frame("DISCONNECT", {{"receipt", "4"}});
  std::vector<stomp_frame_copy> reference;
  std::mt19937_64 rng(7);
  // 10 rounds: each needs a fresh tracker (so that the SEND is accepted each
  // time), and building one costs ~0.3 s under ASan. The codec's own test
  // runs 300 random fragmentations.
  for (int round = 0; round < 10; ++round) {
    rebuild_hub();
    event_builder again;
    b = again;
    to_delivering();
    fake_channel ch;
    stomp_session s(options, *hub, engine.get(), ch);
    for (std::size_t at = 0; at < script.size();) {
      const std::size_t n = std::min<std::size_t>(script.size() - at, 1 + rng() % (3 + 8 * static_cast<std::size_t>(round)));
      s.on_message(std::string_view(script).substr(at, n));
      at += n;
    }
    auto frames = ch.frames();
    for (auto& f : frames)
      for (auto& [k, v] : f.headers)
        if (k == "message-id") v = "*";  // unique per connection, not per script
    if (round == 0) {
      reference = frames;
      ASSERT_EQ(reference.size(), 7u);  // CONNECTED, snapshot, R1, delta, R2, R3, R4
    } else {
      ASSERT_EQ(frames, reference) << "round " << round;
    }
    EXPECT_EQ(ch.close_code(), kStompCloseNormal);
  }
}

// Deliveries from ingest threads race with SUBSCRIBE / UNSUBSCRIBE and the
// catch-up on the strand: no crash, no deadlock, and per subscription the
// versions a client sees only go up, contiguous unless a coalesced snapshot
// says otherwise.
TEST_F(StompSessionTest, ConcurrentDeliveriesAndUnsubscribes) {
  options.send_queue_bound_bytes = 20'000;
  constexpr int kOrders = 4;
  for (int o = 0; o < kOrders; ++o) to_delivering("O" + std::to_string(o), "R" + std::to_string(o));
  connect();
  std::atomic<bool> stop{false};
  std::vector<std::thread> producers;
  for (int o = 0; o < kOrders; ++o) {
    producers.emplace_back([&, o] {
      event_builder eb(b.time() + 1'000);
      for (int i = 0; i < 300 && !stop; ++i) {
        eb.advance(1'000);
        (void)engine->ingest(eb.position("R" + std::to_string(o), {116.40 + 0.0001 * i, 39.90}));
      }
    });
  }
  std::mt19937_64 rng(11);
  std::set<int> subscribed;
  for (int step = 0; step < 400; ++step) {
    const int o = static_cast<int>(rng() % kOrders);
    const std::string id = "s" + std::to_string(o);
    if (subscribed.count(o) == 0) {
      session->on_message(frame("SUBSCRIBE", {{"id", id}, {"destination", "/topic/orders/O" + std::to_string(o)}}));
      subscribed.insert(o);
    } else {
      session->on_message(frame("UNSUBSCRIBE", {{"id", id}}));
      subscribed.erase(o);
    }
    channel.queued = (rng() % 4 == 0) ? 30'000 : 0;
    session->on_writable();
    ASSERT_FALSE(session->closed());
  }
  stop = true;
  for (auto& t : producers) t.join();
  // Per subscription episode (from the snapshot a SUBSCRIBE starts with),
  // deltas are contiguous; a coalesced snapshot resets the baseline.
  std::map<std::string, std::uint64_t> last;
  for (const auto& f : channel.frames()) {
    if (f.command != stomp_command::message) continue;
    const std::string sub = header(f, "subscription");
    const std::uint64_t v = std::stoull(header(f, "x-version"));
    const auto kind = decode_update_json(f.body)->kind;
    auto it = last.find(sub);
    if (kind == message_kind::delta) {
      ASSERT_NE(it, last.end()) << sub;
      EXPECT_EQ(v, it->second + 1) << sub;
    }
    last[sub] = v;
  }
  session.reset();  // unsubscribes with nothing in flight
  EXPECT_EQ(hub->metrics().subscriptions, 0u);
}

}  // namespace
}  // namespace xiaoxiang
