// Abuse limits (issue 9): each rule has a test that fails without it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "echo_handler.hpp"
#include "server_test_client.hpp"
#include "xiaoxiang/server/web_server.hpp"

namespace xiaoxiang {
namespace {

using namespace xiaoxiang::test;

// A server with an echo WebSocket at /raw, a GET /api/ping, and the log
// lines collected.
struct limited_server {
  explicit limited_server(web_server_options o) {
    o.port = 0;
    o.threads = 1;
    o.log = [this](std::string_view line) {
      std::lock_guard lock(mu);
      lines.emplace_back(line);
    };
    server = std::make_unique<web_server>(std::move(o));
    server->mount_websocket("/raw", [](message_channel& c) { return std::make_unique<echo_handler>(c); });
    server->mount_http("/api/ping", [](const http_request&, http_responder respond) {
      respond({.status = 200, .content_type = "text/plain", .body = "pong", .headers = {}});
    });
    server->start();
  }
  // Waits (up to 5 s) until `done()` holds: a peer can see the effect of a
  // limit (Beast's close frame) before the server's handler has counted and
  // logged it.
  template <class Done>
  void settle(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  bool logged(std::string_view what) {
    std::lock_guard lock(mu);
    for (const auto& l : lines)
      if (l.find(what) != std::string::npos) return true;
    return false;
  }
  // True when a GET on a new connection is answered.
  bool ping() {
    try {
      return get(server->port(), "/api/ping").body == "pong";
    } catch (const std::exception&) {
      return false;  // closed at accept: the read fails
    }
  }
  std::unique_ptr<web_server> server;
  std::mutex mu;
  std::vector<std::string> lines;
};

TEST(Limits, ConnectionFloodFromOneAddressIsRefusedBeyondTheBurst) {
  web_server_options o;
  o.limits.connections_per_ip = {.rate_per_s = 0.01, .burst = 5};
  limited_server s(o);
  int served = 0;
  for (int i = 0; i < 12; ++i) served += s.ping() ? 1 : 0;
  EXPECT_EQ(served, 5);
  EXPECT_EQ(s.server->stats().connections_rate_limited, 7u);
  EXPECT_TRUE(s.logged("refused: more than 5"));
}

TEST(Limits, NoConnectionLimitByDefault) {
  limited_server s(web_server_options{});
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(s.ping()) << i;
  EXPECT_EQ(s.server->stats().connections_rate_limited, 0u);
}

struct temp_blocklist {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("xiaoxiang-block-" + std::to_string(::getpid()) + ".txt");
  temp_blocklist() { write("127.0.0.0/8\n", 0); }
  ~temp_blocklist() { std::filesystem::remove(path); }
  void write(const std::string& text, int mtime_offset_s) {
    std::ofstream(path, std::ios::trunc) << text;
    std::filesystem::last_write_time(
        path, std::filesystem::file_time_type::clock::now() + std::chrono::seconds(mtime_offset_s));
  }
};

TEST(Limits, BlocklistedAddressIsRefusedUntilReloadedWithoutIt) {
  temp_blocklist file;
  web_server_options o;
  o.blocklist = std::make_shared<ip_blocklist_file>(file.path);
  limited_server s(o);
  EXPECT_FALSE(s.ping());
  EXPECT_EQ(s.server->stats().connections_blocklisted, 1u);
  EXPECT_TRUE(s.logged("127.0.0.1 refused: blocklisted"));
  // An explicit reload (what serve does on SIGHUP).
  file.write("10.0.0.0/8\n::1/128\n", 5);
  ASSERT_TRUE(o.blocklist->reload().ok());
  EXPECT_TRUE(s.ping());
  EXPECT_EQ(s.server->stats().connections_blocklisted, 1u);
}

TEST(Limits, BlocklistFileIsPolledByMtime) {
  temp_blocklist file;
  file.write("10.0.0.0/8\n", 0);
  web_server_options o;
  o.blocklist = std::make_shared<ip_blocklist_file>(file.path);
  limited_server s(o);
  EXPECT_TRUE(s.ping());
  file.write("127.0.0.1\n", 5);
  // The server checks the mtime at most once a second, at accept.
  bool refused = false;
  for (int i = 0; i < 40 && !refused; ++i) {
    refused = !s.ping();
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(refused);
  EXPECT_GE(s.server->stats().blocklist_reloads, 1u);
  EXPECT_TRUE(s.logged("blocklist: reloaded"));
}

TEST(Limits, WebsocketMessageOverTheSizeLimitCloses1009) {
  web_server_options o;
  o.limits.max_message_bytes = 1024;
  limited_server s(o);
  ws_client c(s.server->port(), "/raw");
  c.send(std::string(1000, 'a'));
  EXPECT_EQ(c.recv().size(), 1000u);
  c.send(std::string(2000, 'b'));
  EXPECT_EQ(c.recv(), "");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(c.reason().code, websocket::close_code::too_big);
  // Beast sends close 1009 before our read handler runs: wait for the count.
  s.settle([&] { return s.server->stats().messages_too_large >= 1 && s.logged("above 1024 bytes"); });
  EXPECT_EQ(s.server->stats().messages_too_large, 1u);
  EXPECT_TRUE(s.logged("above 1024 bytes"));
}

TEST(Limits, MessageFloodFromOneConnectionCloses1008) {
  web_server_options o;
  o.limits.messages_per_connection = {.rate_per_s = 0.01, .burst = 10};
  limited_server s(o);
  ws_client c(s.server->port(), "/raw");
  for (int i = 0; i < 30; ++i) c.send("m" + std::to_string(i));
  int echoed = 0;
  while (!c.recv().empty()) ++echoed;
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(echoed, 10);  // the 11th was dropped and the connection closed
  EXPECT_EQ(c.reason().code, websocket::close_code::policy_error);
  EXPECT_EQ(std::string(c.reason().reason.data(), c.reason().reason.size()), "message rate limit");
  EXPECT_EQ(s.server->stats().messages_rate_limited, 1u);
  EXPECT_TRUE(s.logged("over the message rate"));
}

TEST(Limits, IdleWebsocketIsClosed1001) {
  web_server_options o;
  o.limits.websocket_idle_timeout = std::chrono::seconds(1);
  limited_server s(o);
  ws_client c(s.server->port(), "/raw");
  EXPECT_EQ(c.recv(), "");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(c.reason().code, websocket::close_code::going_away);
  EXPECT_EQ(std::string(c.reason().reason.data(), c.reason().reason.size()), "idle timeout");
  EXPECT_EQ(s.server->stats().websockets_idle_closed, 1u);
}

TEST(Limits, OversizedRequestHeadIsCounted) {
  web_server_options o;
  o.limits.max_header_bytes = 512;
  limited_server s(o);
  const auto r = get(s.server->port(), "/api/ping", {{"X-Big", std::string(2000, 'x')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(s.server->stats().requests_too_large, 1u);
}

TEST(Limits, AdmitHookRefusesUpgradesAndHoldsLeases) {
  auto live = std::make_shared<std::atomic<int>>(0);
  web_server_options o;
  o.admit_websocket = [live](const http_request& r) -> std::shared_ptr<void> {
    if (r.query_param("token") != "ok" || live->load() >= 1) return nullptr;
    struct lease {
      explicit lease(std::shared_ptr<std::atomic<int>> counter) : n(std::move(counter)) { n->fetch_add(1); }
      ~lease() { n->fetch_sub(1); }
      lease(const lease&) = delete;
      lease& operator=(const lease&) = delete;
      std::shared_ptr<std::atomic<int>> n;
    };
    return std::make_shared<lease>(live);
  };
  limited_server s(o);
  {
    ws_client first(s.server->port(), "/raw?token=ok");
    first.send("x");
    EXPECT_EQ(first.recv(), "x");
    EXPECT_EQ(live->load(), 1);
    EXPECT_THROW(ws_client(s.server->port(), "/raw?token=ok"), std::exception);  // 429
    EXPECT_EQ(s.server->stats().upgrades_refused, 1u);
    first.close();
  }
  for (int i = 0; i < 200 && live->load() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(live->load(), 0);  // the lease went with the connection
}

}  // namespace
}  // namespace xiaoxiang
