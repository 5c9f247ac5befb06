// Issue 9 on the STOMP session: tokens at CONNECT (header or the channel's
// access_token), SUBSCRIBE and SEND against the role, per-role views
// projected once per message, and the per-token connection cap.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "event_builder.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/security/authenticator.hpp"
#include "xiaoxiang/server/stomp_session.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {
namespace {

using namespace std::string_literals;
using testing::event_builder;

const std::string kSecret = "stomp-auth-test-secret-0123456789abcdef";

// Records what the session sends; carries an access_token like a SockJS session.
class recording_channel final : public message_channel {
 public:
  explicit recording_channel(std::string token = {}) : token_(std::move(token)) {}
  void send(std::string_view message) override {
    std::lock_guard lock(mu_);
    bytes_.append(message);
  }
  std::size_t queued_bytes() const noexcept override { return 0; }
  void close(int, std::string_view) override {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  std::string_view access_token() const noexcept override { return token_; }

  std::vector<stomp_frame_copy> frames() const {
    stomp_parser parser;
    std::vector<stomp_frame_copy> out;
    std::lock_guard lock(mu_);
    EXPECT_TRUE(parser.feed(bytes_, [&](const stomp_frame& f) { out.push_back(copy_frame(f)); }).ok());
    return out;
  }
  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  mutable std::mutex mu_;
  std::string bytes_;
  bool closed_ = false;
  std::string token_;
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

class StompAuthTest : public ::testing::Test {
 protected:
  event_builder b;
  manual_clock clock{b.time()};
  broker hub;
  tracker engine{tracker_options{}, nullptr, &hub, &clock};
  jwt_key key = *jwt_key::hs256("k1", kSecret);
  std::shared_ptr<authenticator> auth;
  stomp_session_options options;

  void SetUp() override { make_auth({.require_auth = true}); }
  void make_auth(authenticator_options o) {
    jwt_key_set keys;
    ASSERT_TRUE(keys.add(key).ok());
    jwt_verify_options vo;
    vo.time_source = &clock;
    auth = std::make_shared<authenticator>(std::make_shared<jwt_verifier>(std::move(keys), vo), o);
    options.auth = auth;
  }
  std::string token(std::string claims, std::int64_t ttl_s = 600) {
    return *jwt_sign(key, R"({"exp":)" + std::to_string(clock.now() / 1000 + ttl_s) + "," + claims + "}");
  }
  std::string customer(const std::string& user) { return token(R"("sub":")" + user + R"(","role":"customer")"); }
  std::string rider(const std::string& id) { return token(R"("sub":")" + id + R"(","role":"rider")"); }

  struct client {
    recording_channel channel;
    std::unique_ptr<stomp_session> session;
    explicit client(std::string access_token = {}) : channel(std::move(access_token)) {}
  };
  // A session that sent CONNECT with `bearer` (empty: no Authorization header).
  std::unique_ptr<client> connect(const std::string& bearer, std::string access_token = {}) {
    auto c = std::make_unique<client>(std::move(access_token));
    c->session = std::make_unique<stomp_session>(options, hub, &engine, c->channel);
    std::vector<std::pair<std::string, std::string>> hs{{"accept-version", "1.2"}, {"host", "h"}};
    if (!bearer.empty()) hs.emplace_back("Authorization", "Bearer " + bearer);
    c->session->on_message(frame("CONNECT", hs));
    return c;
  }
  void ingest(const event& e) { ASSERT_NE(engine.ingest(e).status, ingest_status::rejected); }
  void to_delivering(const std::string& order, const std::string& user, const std::string& rider_id) {
    ingest(b.created(order, user));
    ingest(b.paid(order));
    ingest(b.picking(order, picking_stage::picked));
    ingest(b.assigned(order, rider_id));
  }
  void subscribe(client& c, const std::string& destination, const std::string& id = "s1") {
    c.session->on_message(frame("SUBSCRIBE", {{"id", id}, {"destination", destination}, {"receipt", "r-" + id}}));
  }
  static void expect_error(const client& c, errc code, const char* field) {
    const auto frames = c.channel.frames();
    ASSERT_FALSE(frames.empty());
    const auto& f = frames.back();
    ASSERT_EQ(f.command, stomp_command::error) << f.body;
    EXPECT_EQ(header(f, "x-error-code"), errc_name(code));
    EXPECT_EQ(header(f, "x-error-field"), field);
    EXPECT_TRUE(c.channel.closed());
  }
  static std::vector<stomp_frame_copy> messages(const client& c) {
    std::vector<stomp_frame_copy> out;
    for (auto& f : c.channel.frames())
      if (f.command == stomp_command::message) out.push_back(f);
    return out;
  }
};

TEST_F(StompAuthTest, ConnectRefusalsNameTheReason) {
  expect_error(*connect(""), errc::auth_required, "Authorization");
  expect_error(*connect(token(R"("sub":"U1","role":"customer")", -100)), errc::jwt_expired, "exp");
  expect_error(*connect("x.y.z"), errc::jwt_bad_base64, "header");
  const std::string none = base64url_encode(R"({"alg":"none"})") + "." +
                           base64url_encode(R"({"sub":"U1","role":"admin"})") + ".";
  expect_error(*connect(none), errc::jwt_alg_none, "alg");
  // The customer's signature on an admin's claims.
  const std::string signed_token = customer("U1");
  const std::string forged = signed_token.substr(0, signed_token.find('.') + 1) +
                             base64url_encode(R"({"sub":"U1","role":"admin","exp":9999999999})") +
                             signed_token.substr(signed_token.rfind('.'));
  expect_error(*connect(forged), errc::jwt_bad_signature, "signature");
  expect_error(*connect(token(R"("sub":"U1","role":"root")")), errc::invalid_role, "role");
  const auto m = auth->metrics();
  EXPECT_EQ(m.auth_required, 1u);
  EXPECT_EQ(m.tokens.failed(errc::jwt_expired), 1u);
  EXPECT_EQ(m.tokens.failed(errc::jwt_alg_none), 1u);
  EXPECT_EQ(m.tokens.failed(errc::jwt_bad_signature), 1u);
  auto ok = connect(customer("U1"));
  EXPECT_EQ(ok->channel.frames().at(0).command, stomp_command::connected);
  auto by_param = connect("", customer("U1"));  // SockJS: access_token in the URL
  EXPECT_EQ(by_param->channel.frames().at(0).command, stomp_command::connected);
}

TEST_F(StompAuthTest, CustomerSubscribingToAnotherUsersOrderLearnsNothing) {
  to_delivering("O1", "U1", "R1");
  auto other = connect(customer("U2"));
  subscribe(*other, "/topic/orders/O1");
  expect_error(*other, errc::access_denied, "orderId");
  auto probe = connect(customer("U2"));
  subscribe(*probe, "/topic/orders/O404");  // does not exist
  expect_error(*probe, errc::access_denied, "orderId");
  // Byte for byte the same ERROR: existence does not leak.
  const auto a = other->channel.frames().back();
  const auto b2 = probe->channel.frames().back();
  EXPECT_EQ(a.body, b2.body);
  EXPECT_EQ(header(a, "message"), header(b2, "message"));
  EXPECT_EQ(a.body.find("O1"), std::string::npos);
  EXPECT_TRUE(messages(*other).empty());
  EXPECT_EQ(auth->metrics().access_denied, 2u);
  auto riders = connect(customer("U1"));
  subscribe(*riders, "/topic/riders");
  expect_error(*riders, errc::access_denied, "destination");
}

TEST_F(StompAuthTest, EachRoleGetsItsView) {
  to_delivering("O1", "U1", "R1");
  auto owner = connect(customer("U1"));
  auto courier = connect(rider("R1"));
  auto admin = connect(token(R"("sub":"ops","role":"admin")"));
  auto stranger_rider = connect(rider("R2"));
  for (auto* c : {owner.get(), courier.get(), admin.get()}) subscribe(*c, "/topic/orders/O1");
  subscribe(*stranger_rider, "/topic/orders/O1");
  expect_error(*stranger_rider, errc::access_denied, "orderId");
  b.advance(15'000);
  clock.set(b.time());
  ingest(b.position("R1", {116.41, 39.905}));
  const auto last_body = [](const client& c) { return messages(c).back().body; };
  ASSERT_GE(messages(*owner).size(), 2u);  // snapshot, then the position delta
  // Snapshot: the customer's has no operator nor rider id, the admin's has them.
  const std::string owner_snap = messages(*owner).front().body;
  const std::string admin_snap = messages(*admin).front().body;
  EXPECT_NE(admin_snap.find(R"("operatorId":"R1")"), std::string::npos) << admin_snap;
  EXPECT_NE(owner_snap.find(R"("operatorId":null)"), std::string::npos) << owner_snap;
  EXPECT_NE(owner_snap.find(R"("riderId":null)"), std::string::npos);
  EXPECT_NE(messages(*courier).front().body.find(R"("userId":null)"), std::string::npos);
  // While Delivering the customer sees the position.
  EXPECT_NE(last_body(*owner).find(R"("longitude":116.41)"), std::string::npos) << last_body(*owner);
  // Delivered: status 4, and no position for the customer any more.
  ingest([&] {
    auto e = b.base(event_kind::order_delivered);
    e.order = *id::make("O1");
    e.rider = *id::make("R1");
    e.position = {116.42, 39.91};
    e.has_position = true;
    return e;
  }());
  EXPECT_EQ(last_body(*owner).find("longitude"), std::string::npos) << last_body(*owner);
  EXPECT_NE(last_body(*admin).find("longitude"), std::string::npos) << last_body(*admin);
}

TEST_F(StompAuthTest, ViewsAreEncodedOncePerChangeNotPerSubscriber) {
  to_delivering("O1", "U1", "R1");
  constexpr int kClients = 20;
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connect(customer("U1")));
    subscribe(*clients.back(), "/topic/orders/O1", "s" + std::to_string(i));
  }
  const auto before = auth->views().metrics();
  constexpr int kChanges = 5;
  for (int i = 0; i < kChanges; ++i) {
    b.advance(15'000);
    clock.set(b.time());
    ingest(b.position("R1", {116.40 + 0.001 * i, 39.90}));
  }
  const auto after = auth->views().metrics();
  EXPECT_EQ(after.projections - before.projections, static_cast<std::uint64_t>(kChanges));
  EXPECT_EQ(after.hits - before.hits, static_cast<std::uint64_t>(kChanges * (kClients - 1)));
  for (const auto& c : clients) EXPECT_EQ(messages(*c).size(), 1u + kChanges);
  // Verification happened once per connection, never per message.
  EXPECT_EQ(auth->metrics().tokens.verified, static_cast<std::uint64_t>(kClients));
}

TEST_F(StompAuthTest, RiderSendsPositionsOnlyAsItself) {
  to_delivering("O1", "U1", "R1");
  auto courier = connect(rider("R1"));
  b.advance(15'000);
  courier->session->on_message(
      frame("SEND", {{"destination", "/app/tracking"}, {"receipt", "p1"}}, event_to_json(b.position("R1", {116.41, 39.9}))));
  EXPECT_EQ(courier->channel.frames().back().command, stomp_command::receipt);
  EXPECT_EQ(courier->session->metrics().sends_accepted, 1u);
  b.advance(15'000);
  courier->session->on_message(
      frame("SEND", {{"destination", "/app/tracking"}}, event_to_json(b.position("R2", {116.41, 39.9}))));
  expect_error(*courier, errc::access_denied, "riderId");
  auto shopper = connect(customer("U1"));
  shopper->session->on_message(frame("SEND", {{"destination", "/app/tracking"}}, event_to_json(b.paid("O1"))));
  expect_error(*shopper, errc::access_denied, "type");
}

TEST_F(StompAuthTest, WarehouseSendsPickingStagesOfItsOrders) {
  ingest(b.created("O1", "U1", "W1"));
  ingest(b.paid("O1"));
  auto w1 = connect(token(R"("sub":"clerk","role":"warehouse","warehouse_id":"W1")"));
  w1->session->on_message(frame("SEND", {{"destination", "/app/tracking"}, {"receipt", "k"}},
                                event_to_json(b.picking("O1", picking_stage::picking, "W1"))));
  EXPECT_EQ(w1->channel.frames().back().command, stomp_command::receipt);
  auto w2 = connect(token(R"("sub":"clerk2","role":"warehouse","warehouse_id":"W2")"));
  w2->session->on_message(frame("SEND", {{"destination", "/app/tracking"}},
                                event_to_json(b.picking("O1", picking_stage::picked, "W2"))));
  expect_error(*w2, errc::access_denied, "orderId");  // its own warehouse id, on an order of W1
}

TEST_F(StompAuthTest, ConnectionsPerTokenAreCapped) {
  make_auth({.require_auth = true, .max_connections_per_token = 2});
  const std::string t = customer("U1");
  auto a = connect(t);
  auto b1 = connect(t);
  auto c = connect(t);
  expect_error(*c, errc::too_many_token_connections, "token");
  EXPECT_EQ(auth->metrics().connections_open, 2u);
  a.reset();  // a connection gone frees its slot
  auto d = connect(t);
  EXPECT_EQ(d->channel.frames().at(0).command, stomp_command::connected);
  EXPECT_EQ(auth->metrics().token_connections_refused, 1u);
}

TEST_F(StompAuthTest, MigrationModeServesConnectionsWithoutToken) {
  make_auth({.require_auth = false});
  to_delivering("O1", "U1", "R1");
  auto anonymous = connect("");
  subscribe(*anonymous, "/topic/orders/O1");
  ASSERT_FALSE(messages(*anonymous).empty());
  EXPECT_NE(messages(*anonymous).front().body.find(R"("operatorId":"R1")"), std::string::npos);
  // A token sent is still checked, and its role applies.
  auto other = connect(customer("U2"));
  subscribe(*other, "/topic/orders/O1");
  expect_error(*other, errc::access_denied, "orderId");
}

}  // namespace
}  // namespace xiaoxiang
