// /metrics: the text format (families once, escaping, histograms), and a
// running server scraped over HTTP before and after traffic (ingest,
// rejections, a STOMP client over a WebSocket) whose samples move as they
// must.
#include "xiaoxiang/server/metrics_endpoint.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "event_builder.hpp"
#include "server_test_client.hpp"
#include "xiaoxiang/server/stomp_session.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace xiaoxiang {
namespace {

using namespace xiaoxiang::test;
using xiaoxiang::testing::event_builder;

// The value of the sample whose name and labels are exactly `series`
// (e.g. `xiaoxiang_connections_open{transport="websocket"}`), or NaN.
double sample(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::strtod(text.c_str() + at + series.size() + 1, nullptr);
    at += series.size();
  }
  return std::nan("");
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(MetricsText, FamiliesOnceLabelsEscapedCountersAsIntegers) {
  metrics_text m;
  m.counter("a_total", "Help with \\ and\nnewline.", 3, {{"k", "v\"q\\n\nx"}});
  m.gauge("b", "A gauge.", 0.25);
  m.counter("a_total", "ignored", 4, {{"k", "w"}});
  m.declare("c_total", "counter", "No sample yet.");
  const std::string text = m.str();
  EXPECT_EQ(text,
            "# HELP a_total Help with \\\\ and\\nnewline.\n"
            "# TYPE a_total counter\n"
            "a_total{k=\"v\\\"q\\\\n\\nx\"} 3\n"
            "a_total{k=\"w\"} 4\n"
            "# HELP b A gauge.\n"
            "# TYPE b gauge\n"
            "b 0.25\n"
            "# HELP c_total No sample yet.\n"
            "# TYPE c_total counter\n");
}

TEST(MetricsText, HistogramHasCumulativeBucketsInfSumAndCount) {
  latency_histogram h;
  h.record(10'000);          // 10 us
  h.record(700'000);         // 0.7 ms
  h.record(3'000'000);       // 3 ms
  h.record(60'000'000'000);  // 60 s: above every bound
  h.record(-5);              // clamps to 0
  metrics_text m;
  m.histogram("lat_seconds", "Latency.", h.snapshot(), {{"x", "1"}});
  const std::string text = m.str();
  EXPECT_NE(text.find("# TYPE lat_seconds histogram\n"), std::string::npos);
  EXPECT_EQ(sample(text, "lat_seconds_bucket{x=\"1\",le=\"5e-05\"}"), 2);
  EXPECT_EQ(sample(text, "lat_seconds_bucket{x=\"1\",le=\"0.001\"}"), 3);
  EXPECT_EQ(sample(text, "lat_seconds_bucket{x=\"1\",le=\"0.005\"}"), 4);
  EXPECT_EQ(sample(text, "lat_seconds_bucket{x=\"1\",le=\"30\"}"), 4);
  EXPECT_EQ(sample(text, "lat_seconds_bucket{x=\"1\",le=\"+Inf\"}"), 5);
  EXPECT_EQ(sample(text, "lat_seconds_count{x=\"1\"}"), 5);
  EXPECT_NEAR(sample(text, "lat_seconds_sum{x=\"1\"}"), 60.00371, 1e-6);
  EXPECT_EQ(occurrences(text, "lat_seconds_bucket"), kLatencyBoundsUs.size() + 1);
}

TEST(MetricsRegistry, ACollectorThatThrowsIsCountedAndTheRestServed) {
  metrics_registry r;
  r.add([](metrics_text& m) { m.gauge("first", "First.", 1); });
  r.add([](metrics_text&) { throw std::runtime_error("broken"); });
  r.add([](metrics_text& m) { m.gauge("third", "Third.", 3); });
  const std::string text = r.scrape();
  EXPECT_EQ(sample(text, "first"), 1);
  EXPECT_EQ(sample(text, "third"), 3);
  EXPECT_EQ(sample(text, "xiaoxiang_metrics_collector_errors_total"), 1);
  EXPECT_EQ(sample(r.scrape(), "xiaoxiang_metrics_scrapes_total"), 2);
}

class MetricsEndpoint : public ::testing::Test {
 protected:
  MetricsEndpoint()
      : clock_(events_.time()), hub_(broker_options{.time_source = &clock_}),
        engine_(tracker_options{}, &store_, &hub_, &clock_), sessions_("/ws") {
    web_server_options o;
    o.port = 0;
    o.threads = 2;
    server_ = std::make_unique<web_server>(o);
    server_->mount_sockjs("/ws", sessions_.wrap([this](message_channel& channel) {
      return std::make_unique<stomp_session>(stomp_session_options{}, hub_, &engine_, channel);
    }));
    registry_.add(tracker_collector(engine_));
    registry_.add(web_server_collector(*server_));
    registry_.add(broker_collector(hub_));
    registry_.add(sessions_.collector());
    registry_.mount(*server_);
    server_->start();
    port_ = server_->port();
  }
  ~MetricsEndpoint() override { server_->stop(); }

  std::string scrape() {
    const simple_response r = get(port_, "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    return r.body;
  }
  void ingest(const event& e) {
    clock_.set(e.time);
    const auto r = engine_.ingest(e);
    ASSERT_TRUE(r.accepted()) << r.message();
  }

  event_builder events_;
  manual_clock clock_;
  memory_storage store_;
  broker hub_;
  tracker engine_;
  metrics_registry registry_;  // outlives the server (declared before it)
  channel_metrics sessions_;
  std::unique_ptr<web_server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(MetricsEndpoint, SamplesMoveWithTraffic) {
  const std::string before = scrape();
  for (const char* name :
       {"xiaoxiang_tracker_events_total", "xiaoxiang_tracker_accepted_total",
        "xiaoxiang_storage_backlog_records", "xiaoxiang_ingest_to_publish_seconds_count",
        "xiaoxiang_ingest_to_durable_seconds_count",
        "xiaoxiang_subscriptions_open"})
    EXPECT_EQ(sample(before, name), 0) << name << "\n" << before;
  EXPECT_EQ(sample(before, "xiaoxiang_connections_open{transport=\"websocket\"}"), 0);
  EXPECT_EQ(sample(before, "xiaoxiang_stomp_sessions_open{endpoint=\"/ws\"}"), 0);
  EXPECT_NE(before.find("# TYPE xiaoxiang_tracker_rejected_total counter"), std::string::npos);

  ingest(events_.created("O1"));
  ingest(events_.paid("O1"));
  event bad = events_.paid("O1");  // paid twice: an illegal transition
  clock_.set(bad.time);
  const auto rejected = engine_.ingest(bad);
  ASSERT_FALSE(rejected.accepted());
  engine_.flush();

  ws_client client(port_, "/ws/websocket", "v12.stomp");
  client.send(std::string("CONNECT\naccept-version:1.2\nhost:localhost\n\n") + '\0');
  ASSERT_EQ(client.recv().rfind("CONNECTED", 0), 0u);
  client.send(std::string("SUBSCRIBE\nid:0\ndestination:/topic/orders/O1\n\n") + '\0');
  ASSERT_EQ(client.recv().rfind("MESSAGE", 0), 0u);  // the snapshot
  ingest(events_.assigned("O1", "R1", {{116.40, 39.90}, {116.42, 39.91}}));
  ASSERT_EQ(client.recv().rfind("MESSAGE", 0), 0u);  // the delta
  engine_.flush();

  const std::string after = scrape();
  EXPECT_EQ(sample(after, "xiaoxiang_tracker_events_total"), 4) << after;
  EXPECT_EQ(sample(after, "xiaoxiang_tracker_accepted_total"), 3);
  const std::string code = std::to_string(static_cast<int>(rejected.code.value()));
  EXPECT_EQ(sample(after, "xiaoxiang_tracker_rejected_total{code=\"" + code + "\",name=\"" +
                              errc_name(static_cast<errc>(rejected.code.value())) + "\"}"),
            1)
      << after;
  EXPECT_EQ(sample(after, "xiaoxiang_ingest_to_publish_seconds_count"), 3);
  EXPECT_EQ(sample(after, "xiaoxiang_ingest_to_durable_seconds_count"), 3);
  EXPECT_GT(sample(after, "xiaoxiang_ingest_to_durable_seconds_sum"), 0);
  EXPECT_EQ(sample(after, "xiaoxiang_connections_open{transport=\"websocket\"}"), 1);
  EXPECT_EQ(sample(after, "xiaoxiang_stomp_sessions_open{endpoint=\"/ws\"}"), 1);
  EXPECT_EQ(sample(after, "xiaoxiang_stomp_subscriptions_open{endpoint=\"/ws\"}"), 1);
  EXPECT_EQ(sample(after, "xiaoxiang_subscriptions_open"), 1);
  EXPECT_EQ(sample(after, "xiaoxiang_messages_in_total{endpoint=\"/ws\"}"), 2);
  EXPECT_EQ(sample(after, "xiaoxiang_messages_out_total{endpoint=\"/ws\"}"), 2);
  EXPECT_EQ(sample(after, "xiaoxiang_send_queue_bytes_count{endpoint=\"/ws\"}"), 1);
  EXPECT_EQ(sample(after, "xiaoxiang_storage_backlog_records"), 0);
  EXPECT_GE(sample(after, "xiaoxiang_http_requests_total"), 1);

  // The client goes: its counters stay in the totals, the gauges drop.
  client.close();
  for (int i = 0; i < 200 && sessions_.open_channels() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string gone = scrape();
  EXPECT_EQ(sample(gone, "xiaoxiang_stomp_sessions_open{endpoint=\"/ws\"}"), 0);
  EXPECT_EQ(sample(gone, "xiaoxiang_stomp_sessions_total{endpoint=\"/ws\"}"), 1);
  EXPECT_EQ(sample(gone, "xiaoxiang_messages_out_total{endpoint=\"/ws\"}"), 2);
  EXPECT_EQ(sample(gone, "xiaoxiang_send_queue_bytes_count{endpoint=\"/ws\"}"), 0);
}

TEST_F(MetricsEndpoint, OtherMethodsGet405) {
  const simple_response r = post(port_, "/metrics", "x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.get("allow"), "GET, HEAD");
}

}  // namespace
}  // namespace xiaoxiang
