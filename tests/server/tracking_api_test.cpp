// The HTTP API over real sockets: every route, every error path (status,
// code and field), long polling (immediate and waiting) and batch ingest
// with a bad line.
#include "xiaoxiang/server/tracking_api.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "event_builder.hpp"
#include "server_test_client.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {
namespace {

using namespace xiaoxiang::test;
using xiaoxiang::testing::event_builder;

class TrackingApi : public ::testing::Test {
 protected:
  TrackingApi()
      : clock_(events_.time()), hub_(broker_options{.time_source = &clock_}),
        engine_(tracker_options{}, &store_, &hub_, &clock_), api_(engine_, hub_, &store_) {
    web_server_options o;
    o.port = 0;
    o.threads = 2;
    server_ = std::make_unique<web_server>(o);
    api_.mount(*server_);
    server_->start();
    port_ = server_->port();
  }
  ~TrackingApi() override { server_->stop(); }

  void ingest(const event& e) {
    clock_.set(e.time);
    const auto r = engine_.ingest(e);
    ASSERT_TRUE(r.accepted()) << r.message();
  }
  // An order O1 delivering with rider R1 on a route, with two positions.
  void delivering_order() {
    ingest(events_.created("O1"));
    ingest(events_.paid("O1"));
    ingest(events_.assigned("O1", "R1", {{116.40, 39.90}, {116.41, 39.905}, {116.42, 39.91}}));
    events_.advance(15'000);
    ingest(events_.position("R1", {116.401, 39.9005}));
    events_.advance(15'000);
    ingest(events_.position("R1", {116.402, 39.901}));
    engine_.flush();
  }
  static void expect_error(const simple_response& r, int status, const std::string& code,
                           const std::string& field) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_NE(r.body.find("\"code\":\"" + code + "\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"field\":\"" + field + "\""), std::string::npos) << r.body;
  }

  event_builder events_;
  manual_clock clock_;
  memory_storage store_;
  broker hub_;
  tracker engine_;
  tracking_api api_;
  std::unique_ptr<web_server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(TrackingApi, OrderSnapshotAndErrors) {
  delivering_order();
  auto r = get(port_, "/api/orders/O1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.get("content-type"), "application/json");
  EXPECT_NE(r.body.find("\"orderId\":\"O1\""), std::string::npos);
  EXPECT_NE(r.body.find("\"status\":3"), std::string::npos);
  EXPECT_NE(r.body.find("\"longitude\":116.402"), std::string::npos) << r.body;
  auto unknown = get(port_, "/api/orders/NOPE");
  expect_error(unknown, 404, "unknown_order", "orderId");
  EXPECT_NE(unknown.body.find("NOPE"), std::string::npos);
  expect_error(get(port_, "/api/orders/" + std::string(40, 'x')), 400, "id_too_long", "orderId");
  expect_error(get(port_, "/api/orders/a%20b"), 400, "invalid_id_character", "orderId");
  expect_error(post(port_, "/api/orders/O1"), 405, "method_not_allowed", "method");
  expect_error(get(port_, "/api/nothing"), 404, "not_found", "path");
  expect_error(get(port_, "/api/orders/O1/nothing"), 404, "not_found", "path");
}

TEST_F(TrackingApi, OrderList) {
  delivering_order();
  events_.advance(1000);
  ingest(events_.created("O2"));
  auto r = get(port_, "/api/orders?limit=10");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.rfind("{\"orders\":[", 0), 0u);
  // Newest change first.
  EXPECT_LT(r.body.find("\"O2\""), r.body.find("\"O1\""));
  auto one = get(port_, "/api/orders?limit=1");
  EXPECT_EQ(one.body.find("\"O1\""), std::string::npos);
  expect_error(get(port_, "/api/orders?limit=0"), 400, "invalid_field", "limit");
  expect_error(get(port_, "/api/orders?limit=abc"), 400, "wrong_type", "limit");
  expect_error(get(port_, "/api/orders?limit=1.5"), 400, "invalid_field", "limit");
}

TEST_F(TrackingApi, TrackAndRoute) {
  delivering_order();
  auto t = get(port_, "/api/orders/O1/track");
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.get("content-type"), "application/geo+json");
  EXPECT_NE(t.body.find("\"type\":\"LineString\""), std::string::npos);
  EXPECT_NE(t.body.find("[116.401,39.9005],[116.402,39.901]"), std::string::npos) << t.body;
  EXPECT_NE(t.body.find("\"times\":["), std::string::npos);
  expect_error(get(port_, "/api/orders/NOPE/track"), 404, "unknown_order", "orderId");
  auto route = get(port_, "/api/orders/O1/route");
  ASSERT_EQ(route.status, 200) << route.body;
  EXPECT_NE(route.body.find("[[116.4,39.9],[116.41,39.905],[116.42,39.91]]"), std::string::npos) << route.body;
  expect_error(get(port_, "/api/orders/NOPE/route"), 404, "not_found", "route");
}

TEST_F(TrackingApi, NearbyRiders) {
  delivering_order();
  auto r = get(port_, "/api/riders/nearby?lon=116.402&lat=39.901&radius=500&k=5");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"riderId\":\"R1\""), std::string::npos) << r.body;
  EXPECT_EQ(get(port_, "/api/riders/nearby?lon=0&lat=0&radius=10").body, "{\"riders\":[]}");
  expect_error(get(port_, "/api/riders/nearby?lat=39.9"), 400, "missing_field", "lon");
  expect_error(get(port_, "/api/riders/nearby?lon=116.4"), 400, "missing_field", "lat");
  expect_error(get(port_, "/api/riders/nearby?lon=x&lat=39.9"), 400, "wrong_type", "lon");
  expect_error(get(port_, "/api/riders/nearby?lon=200&lat=39.9"), 400, "invalid_longitude", "lon");
  expect_error(get(port_, "/api/riders/nearby?lon=116&lat=-91"), 400, "invalid_latitude", "lat");
  expect_error(get(port_, "/api/riders/nearby?lon=116&lat=39&radius=-1"), 400, "invalid_radius", "radius");
  expect_error(get(port_, "/api/riders/nearby?lon=116&lat=39&k=0"), 400, "invalid_k", "k");
}

TEST_F(TrackingApi, City) {
  expect_error(get(port_, "/api/city"), 404, "not_found", "city");
  api_.set_city_geojson(R"({"type":"FeatureCollection","features":[]})");
  auto r = get(port_, "/api/city");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.get("content-type"), "application/geo+json");
  EXPECT_EQ(r.body, R"({"type":"FeatureCollection","features":[]})");
}

TEST_F(TrackingApi, LongPollImmediateAndWaiting) {
  delivering_order();
  auto now = get(port_, "/api/orders/O1/updates?since=3&timeout=5");
  ASSERT_EQ(now.status, 200) << now.body;
  EXPECT_EQ(now.get("x-latest-version"), "5");
  EXPECT_EQ(now.body.front(), '[');
  EXPECT_NE(now.body.find("\"version\":4"), std::string::npos) << now.body;
  EXPECT_NE(now.body.find("\"version\":5"), std::string::npos) << now.body;

  // Up to date: times out with an empty array.
  auto empty = get(port_, "/api/orders/O1/updates?since=5&timeout=0.2");
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.body, "[]");
  EXPECT_EQ(empty.get("x-latest-version"), "5");

  // Waiting: the next change answers the poll.
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    events_.advance(15'000);
    ingest(events_.position("R1", {116.403, 39.9015}));
  });
  auto waited = get(port_, "/api/orders/O1/updates?since=5&timeout=10");
  later.join();
  EXPECT_EQ(waited.status, 200);
  EXPECT_EQ(waited.get("x-latest-version"), "6");
  EXPECT_NE(waited.body.find("\"version\":6"), std::string::npos) << waited.body;
  EXPECT_EQ(waited.body.find("\"version\":5"), std::string::npos) << waited.body;

  expect_error(get(port_, "/api/orders/NOPE/updates?since=0"), 404, "unknown_order", "orderId");
  expect_error(get(port_, "/api/orders/O1/updates?since=-1"), 400, "invalid_field", "since");
  expect_error(get(port_, "/api/orders/O1/updates?since=x"), 400, "wrong_type", "since");
  expect_error(get(port_, "/api/orders/O1/updates?since=1&timeout=999"), 400, "invalid_field", "timeout");
}

TEST_F(TrackingApi, EventBatchWithABadLine) {
  clock_.set(events_.time());
  std::string body = event_to_json(events_.created("B1")) + "\n";
  body += "{not json\n";
  body += "\r\n";
  body += event_to_json(events_.paid("B1")) + "\r\n";
  const event dup = events_.created("B2");
  body += event_to_json(dup) + "\n" + event_to_json(dup) + "\n";
  body += event_to_json(events_.paid("NOPE")) + "\n";
  auto r = post(port_, "/api/events", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"accepted\":3,\"duplicates\":1,\"rejected\":2"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("{\"line\":1,\"status\":\"accepted\",\"version\":1}"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("{\"line\":2,\"status\":\"rejected\",\"code\":\"malformed_json\""), std::string::npos);
  EXPECT_NE(r.body.find("{\"line\":4,\"status\":\"accepted\",\"version\":2}"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("{\"line\":6,\"status\":\"duplicate\"}"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("{\"line\":7,\"status\":\"rejected\",\"code\":\"unknown_order\",\"field\":\"orderId\""),
            std::string::npos)
      << r.body;
  // Nothing accepted was lost to the bad lines.
  EXPECT_EQ(get(port_, "/api/orders/B1").status, 200);
  EXPECT_EQ(get(port_, "/api/orders/B2").status, 200);

  auto missing = post(port_, "/api/events", "{\"type\":\"order_paid\"}\n");
  EXPECT_EQ(missing.status, 200);
  EXPECT_NE(missing.body.find("\"code\":\"missing_field\""), std::string::npos) << missing.body;

  expect_error(post(port_, "/api/events", ""), 400, "missing_field", "body");
  expect_error(post(port_, "/api/events", "\n \n"), 400, "missing_field", "body");
  expect_error(post(port_, "/api/events", "garbage\nmore garbage\n"), 400, "malformed_json", "body");
  expect_error(get(port_, "/api/events"), 405, "method_not_allowed", "method");
  std::string many;
  for (int i = 0; i < 10'001; ++i) many += "{}\n";
  expect_error(post(port_, "/api/events", many), 413, "too_large", "body");
}

TEST(EventBatch, DecodesLinesIndependently) {
  auto b = decode_event_batch("{}\n\n{\"type\":\"x\"}\r\nnot json");
  ASSERT_TRUE(b);
  ASSERT_EQ(b->size(), 3u);
  EXPECT_EQ((*b)[0].line, 1u);
  EXPECT_EQ((*b)[1].line, 3u);
  EXPECT_EQ((*b)[2].line, 4u);
  EXPECT_EQ((*b)[2].decoded.error(), errc::malformed_json);
  EXPECT_EQ(decode_event_batch("").error(), errc::missing_field);
  EXPECT_STREQ(decode_event_batch(" \n\t\n").field(), "body");
  event_batch_limits limits;
  limits.max_lines = 2;
  EXPECT_EQ(decode_event_batch("{}\n{}\n{}\n", limits).error(), errc::too_large);
}

}  // namespace
}  // namespace xiaoxiang
