// Issue 9 on the HTTP API: 401 naming the reason, 403 outside the role's
// rights (the same body for an order that does not exist), views per role,
// and the access_token parameter.
#include <gtest/gtest.h>

#include "event_builder.hpp"
#include "server_test_client.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/security/authenticator.hpp"
#include "xiaoxiang/server/tracking_api.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {
namespace {

using namespace xiaoxiang::test;
using xiaoxiang::testing::event_builder;

const std::string kSecret = "tracking-api-auth-test-secret-0123456789";

std::shared_ptr<authenticator> make_auth(const jwt_key& key) {
  jwt_key_set keys;
  EXPECT_TRUE(keys.add(key).ok());
  return std::make_shared<authenticator>(std::make_shared<jwt_verifier>(std::move(keys)),
                                         authenticator_options{.require_auth = true});
}

class TrackingApiAuth : public ::testing::Test {
 protected:
  TrackingApiAuth()
      : clock_(events_.time()), hub_(broker_options{.time_source = &clock_}),
        engine_(tracker_options{}, &store_, &hub_, &clock_), auth_(make_auth(key_)),
        api_(engine_, hub_, &store_, tracking_api_options{.auth = auth_}) {
    web_server_options o;
    o.port = 0;
    o.threads = 2;
    server_ = std::make_unique<web_server>(o);
    api_.mount(*server_);
    server_->start();
    port_ = server_->port();
    for (const auto& e : {events_.created("O1", "U1", "W1"), events_.paid("O1"),
                          events_.assigned("O1", "R1", {{116.40, 39.90}, {116.42, 39.91}})}) {
      clock_.set(e.time);
      EXPECT_TRUE(engine_.ingest(e).accepted());
    }
    events_.advance(15'000);
    EXPECT_TRUE(engine_.ingest(events_.position("R1", {116.401, 39.9005})).accepted());
    engine_.flush();
  }
  ~TrackingApiAuth() override { server_->stop(); }

  std::string token(role r, const std::string& sub, const std::string& extra_id = {}) {
    token_spec spec;
    spec.subject = sub;
    spec.who = r;
    if (r == role::warehouse) spec.warehouse_id = extra_id;
    return *mint_token(key_, spec);
  }
  simple_response get_as(const std::string& target, const std::string& bearer) {
    return get(port_, target, {{"Authorization", "Bearer " + bearer}});
  }
  static void expect_error(const simple_response& r, int status, const std::string& code, const std::string& field) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_NE(r.body.find("\"code\":\"" + code + "\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"field\":\"" + field + "\""), std::string::npos) << r.body;
  }

  event_builder events_;
  manual_clock clock_;
  memory_storage store_;
  broker hub_;
  tracker engine_;
  jwt_key key_ = *jwt_key::hs256("", kSecret);
  std::shared_ptr<authenticator> auth_;
  tracking_api api_;
  std::unique_ptr<web_server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(TrackingApiAuth, UnauthorisedRequestsGet401NamingTheReason) {
  auto none = get(port_, "/api/orders/O1");
  expect_error(none, 401, "auth_required", "Authorization");
  EXPECT_EQ(none.get("www-authenticate"), "Bearer");
  auto bad = get_as("/api/orders/O1", "a.b.c");
  expect_error(bad, 401, "jwt_bad_base64", "header");
  EXPECT_NE(bad.get("www-authenticate").find("invalid_token"), std::string::npos);
  token_spec expired;
  expired.subject = "U1";
  expired.ttl_s = -3600;
  expect_error(get_as("/api/orders/O1", *mint_token(key_, expired)), 401, "jwt_expired", "exp");
  auto other_key = *jwt_key::hs256("", kSecret + "-other");
  token_spec forged;
  forged.subject = "U1";
  expect_error(get_as("/api/orders/O1", *mint_token(other_key, forged)), 401, "jwt_bad_signature", "signature");
  expect_error(get(port_, "/api/orders/O1", {{"Authorization", "Basic dTpw"}}), 401, "jwt_malformed",
               "Authorization");
}

TEST_F(TrackingApiAuth, CustomersReadTheirOwnOrdersAtTheirView) {
  auto mine = get_as("/api/orders/O1", token(role::customer, "U1"));
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_NE(mine.body.find("\"operatorId\":null"), std::string::npos) << mine.body;
  EXPECT_NE(mine.body.find("\"longitude\":116.401"), std::string::npos) << mine.body;  // Delivering
  auto admin = get_as("/api/orders/O1", token(role::admin, "ops"));
  EXPECT_NE(admin.body.find("\"operatorId\":\"R1\""), std::string::npos) << admin.body;
  // By the access_token parameter (transports without headers).
  EXPECT_EQ(get(port_, "/api/orders/O1?access_token=" + token(role::customer, "U1")).status, 200);
  // Someone else's order and an order that does not exist: the same 403, byte for byte.
  auto theirs = get_as("/api/orders/O1", token(role::customer, "U2"));
  auto missing = get_as("/api/orders/O404", token(role::customer, "U2"));
  expect_error(theirs, 403, "access_denied", "orderId");
  EXPECT_EQ(theirs.body, missing.body);
  EXPECT_EQ(theirs.body.find("O1"), std::string::npos);
  expect_error(get_as("/api/orders/O1/updates?since=0&timeout=0", token(role::customer, "U2")), 403,
               "access_denied", "orderId");
  // Long polling gets the customer's view too.
  auto updates = get_as("/api/orders/O1/updates?since=0&timeout=0", token(role::customer, "U1"));
  ASSERT_EQ(updates.status, 200) << updates.body;
  EXPECT_EQ(updates.body.find("\"operatorId\":\"R1\""), std::string::npos) << updates.body;
  EXPECT_NE(updates.body.find("\"orderId\":\"O1\""), std::string::npos) << updates.body;
  // The order list holds only what the caller may read.
  auto list = get_as("/api/orders", token(role::customer, "U2"));
  EXPECT_EQ(list.body, "{\"orders\":[]}");
  EXPECT_NE(get_as("/api/orders", token(role::customer, "U1")).body.find("\"O1\""), std::string::npos);
}

TEST_F(TrackingApiAuth, RolesAndTheirRoutes) {
  EXPECT_EQ(get_as("/api/orders/O1", token(role::rider, "R1")).status, 200);
  expect_error(get_as("/api/orders/O1", token(role::rider, "R2")), 403, "access_denied", "orderId");
  EXPECT_EQ(get_as("/api/orders/O1", token(role::warehouse, "clerk", "W1")).status, 200);
  expect_error(get_as("/api/orders/O1", token(role::warehouse, "clerk", "W2")), 403, "access_denied", "orderId");
  EXPECT_EQ(get_as("/api/orders/O1/track", token(role::rider, "R1")).status, 200);
  expect_error(get_as("/api/orders/O1/track", token(role::customer, "U1")), 403, "access_denied", "track");
  EXPECT_EQ(get_as("/api/orders/O1/route", token(role::customer, "U1")).status, 200);
  expect_error(get_as("/api/riders/nearby?lon=116.4&lat=39.9", token(role::customer, "U1")), 403, "access_denied",
               "nearby");
  EXPECT_EQ(get_as("/api/riders/nearby?lon=116.4&lat=39.9", token(role::admin, "ops")).status, 200);
  EXPECT_GE(auth_->metrics().access_denied, 4u);
}

TEST_F(TrackingApiAuth, BatchIngestChecksEachLine) {
  events_.advance(15'000);
  const std::string body = event_to_json(events_.position("R1", {116.402, 39.901})) + "\n" +
                           event_to_json(events_.position("R2", {116.402, 39.901})) + "\n";
  auto r = post(port_, "/api/events", body, {{"Authorization", "Bearer " + token(role::rider, "R1")}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"accepted\":1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"code\":\"access_denied\",\"field\":\"riderId\""), std::string::npos) << r.body;
}

}  // namespace
}  // namespace xiaoxiang
