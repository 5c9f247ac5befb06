// The SockJS protocol (sockjs-protocol's test suite, the written definition)
// and the server's HTTP / WebSocket behaviour, over real sockets.
#include "xiaoxiang/server/web_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "server_test_client.hpp"
#include "xiaoxiang/core/error.hpp"

namespace xiaoxiang {
namespace {

using namespace xiaoxiang::test;

class SockjsProtocol : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = std::filesystem::temp_directory_path() / ("xiaoxiang-web-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_ / "sub");
    std::ofstream(root_ / "index.html") << "<html>hi</html>";
    std::ofstream(root_ / "sub" / "app.js") << "console.log(1)";
    std::ofstream(root_.parent_path() / "secret.txt") << "secret";
    web_server_options o;
    o.port = 0;
    o.threads = 2;
    o.static_root = root_.string();
    server_ = new web_server(o);
    mount_sockjs_test_services(*server_);
    // An echo on a raw WebSocket path too.
    server_->mount_websocket("/raw", [](message_channel& c) {
      struct echo : channel_handler {
        explicit echo(message_channel& ch) : c(ch) {}
        void on_message(std::string_view m) override { c.send(m); }
        void on_tick(long long) override {}
        void on_closed() override {}
        message_channel& c;
      };
      return std::make_unique<echo>(c);
    });
    // Answers "bye" with a last message and closes: what was queued must
    // reach a polling client that had no request waiting at the close.
    server_->mount_sockjs("/bye", [](message_channel& c) {
      struct bye : channel_handler {
        explicit bye(message_channel& ch) : c(ch) {}
        void on_message(std::string_view m) override {
          if (m != "bye") return;
          c.send("see you");
          c.close(3001, "bye");
        }
        void on_tick(long long) override {}
        void on_closed() override {}
        message_channel& c;
      };
      return std::make_unique<bye>(c);
    });
    server_->start();
    port_ = server_->port();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  static std::string uuid() {
    static std::atomic<int> n{0};
    return "s" + std::to_string(::getpid()) + "-" + std::to_string(n.fetch_add(1));
  }

  static inline web_server* server_ = nullptr;
  static inline std::uint16_t port_ = 0;
  static inline std::filesystem::path root_;
};

constexpr const char* kNoCache = "no-store, no-cache, no-transform, must-revalidate, max-age=0";

TEST_F(SockjsProtocol, Greeting) {
  for (const char* url : {"/echo", "/echo/"}) {
    auto r = get(port_, url);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.get("content-type"), "text/plain; charset=UTF-8");
    EXPECT_EQ(r.body, "Welcome to SockJS!\n");
    EXPECT_FALSE(r.has("set-cookie"));
  }
  for (const char* url : {"/echo/a", "/echo/a.html", "/echo//", "/echo///", "/echo/a/a", "/echo/a/a/"})
    EXPECT_EQ(get(port_, url).status, 404) << url;
}

TEST_F(SockjsProtocol, IframePage) {
  const std::regex body(
      "^<!DOCTYPE html>\n<html>\n<head>\n"
      "  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
      "  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
      "  <script src=\"/vendor/sockjs.min.js\"></script>\n"
      "  <script>\n    document.domain = document.domain;\n    SockJS.bootstrap_iframe\\(\\);\n"
      "  </script>\n</head>\n<body>\n  <h2>Don't panic!</h2>\n"
      "  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n</body>\n</html>$");
  for (const char* url : {"/echo/iframe.html", "/echo/iframe-a.html", "/echo/iframe-.html",
                          "/echo/iframe-0.1.2.html", "/echo/iframe-0.1.2abc-dirty.2144.html",
                          "/echo/iframe-a.html?t=1234"}) {
    auto r = get(port_, url);
    ASSERT_EQ(r.status, 200) << url;
    EXPECT_EQ(r.get("content-type"), "text/html; charset=UTF-8");
    EXPECT_TRUE(std::regex_search(r.get("cache-control"), std::regex("public")));
    EXPECT_TRUE(std::regex_search(r.get("cache-control"), std::regex("max-age=[1-9][0-9]{6}")));
    EXPECT_TRUE(r.has("expires"));
    EXPECT_TRUE(r.has("etag"));
    EXPECT_FALSE(r.has("last-modified"));
    EXPECT_FALSE(r.has("set-cookie"));
    EXPECT_TRUE(std::regex_match(r.body, body)) << r.body;
  }
  for (const char* url : {"/echo/iframe.htm", "/echo/iframe", "/echo/IFRAME.HTML", "/echo/IFRAME",
                          "/echo/iframe.HTML", "/echo/iframe.xml", "/echo/iframe-/.html"})
    EXPECT_EQ(get(port_, url).status, 404) << url;
  auto r1 = get(port_, "/echo/iframe.html");
  auto r2 = get(port_, "/echo/iframe.html");
  EXPECT_EQ(r1.get("etag"), r2.get("etag"));
  auto r3 = get(port_, "/echo/iframe.html", {{"If-None-Match", r1.get("etag")}});
  EXPECT_EQ(r3.status, 304);
  EXPECT_FALSE(r3.has("content-type"));
  EXPECT_TRUE(r3.body.empty());
}

TEST_F(SockjsProtocol, Info) {
  auto r = get(port_, "/echo/info", {{"Origin", "test"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.get("content-type"), "application/json; charset=UTF-8");
  EXPECT_FALSE(r.has("set-cookie"));
  EXPECT_EQ(r.get("cache-control"), kNoCache);
  EXPECT_FALSE(r.has("expires"));
  EXPECT_EQ(r.get("access-control-allow-origin"), "test");
  EXPECT_EQ(r.get("access-control-allow-credentials"), "true");
  EXPECT_TRUE(std::regex_match(
      r.body, std::regex(R"(\{"websocket":true,"cookie_needed":false,"origins":\["\*:\*"\],"entropy":[0-9]+\})")))
      << r.body;
  auto again = get(port_, "/echo/info");
  EXPECT_NE(again.body, r.body);  // entropy differs
  EXPECT_EQ(again.get("access-control-allow-origin"), "*");
  EXPECT_FALSE(again.has("access-control-allow-credentials"));
  EXPECT_NE(get(port_, "/disabled_websocket_echo/info").body.find("\"websocket\":false"), std::string::npos);
  auto cookie = get(port_, "/cookie_needed_echo/info");
  EXPECT_NE(cookie.body.find("\"cookie_needed\":true"), std::string::npos);
  EXPECT_FALSE(cookie.has("set-cookie"));
}

void expect_options(std::uint16_t port, const std::string& url, const std::string& methods) {
  for (const char* origin : {"test", "null"}) {
    auto r = request(port, http::verb::options, url, {},
                     {{"Access-Control-Request-Method", methods}, {"Origin", origin}});
    EXPECT_TRUE(r.status == 204 || r.status == 200) << url;
    EXPECT_TRUE(std::regex_search(r.get("cache-control"), std::regex("public")));
    EXPECT_TRUE(std::regex_search(r.get("cache-control"), std::regex("max-age=[1-9][0-9]{6}")));
    EXPECT_TRUE(r.has("expires"));
    EXPECT_GT(std::stol(r.get("access-control-max-age")), 1000000);
    EXPECT_EQ(r.get("access-control-allow-methods"), methods);
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.get("access-control-allow-origin"), origin);
    EXPECT_EQ(r.get("access-control-allow-credentials"), "true");
  }
}

TEST_F(SockjsProtocol, OptionsAndCors) {
  expect_options(port_, "/echo/info", "OPTIONS, GET");
  for (const char* suffix : {"/xhr", "/xhr_send", "/xhr_streaming"})
    expect_options(port_, std::string("/echo/abc/abc") + suffix, "OPTIONS, POST");
  auto r = request(port_, http::verb::options, "/echo/000/" + uuid() + "/xhr", {},
                   {{"Origin", "test"}, {"Access-Control-Request-Method", "POST"},
                    {"Access-Control-Request-Headers", "a, b, c"}});
  EXPECT_EQ(r.get("access-control-allow-headers"), "a, b, c");
  auto none = request(port_, http::verb::options, "/echo/000/" + uuid() + "/xhr", {},
                      {{"Origin", "test"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_FALSE(none.has("access-control-allow-headers"));
}

TEST_F(SockjsProtocol, SessionUrls) {
  for (const std::string& part : {"/a/a" + uuid(), "/_/_" + uuid(), "/1/" + uuid(),
                                 "/abcdefgh_i-j%20/abcdefg_i-j%20" + uuid()}) {
    auto r = post(port_, "/echo" + part + "/xhr");
    EXPECT_EQ(r.status, 200) << part;
    EXPECT_EQ(r.body, "o\n");
  }
  for (const char* bad : {"//", "/a./a", "/a/a.", "/./.", "/", "///"}) {
    EXPECT_EQ(get(port_, std::string("/echo") + bad + "/xhr").status, 404) << bad;
    EXPECT_EQ(post(port_, std::string("/echo") + bad + "/xhr").status, 404) << bad;
  }
}

TEST_F(SockjsProtocol, XhrPollingSession) {
  const std::string id = uuid();
  auto r = post(port_, "/echo/000/" + id + "/xhr", {}, {{"Origin", "test"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "o\n");
  EXPECT_EQ(r.get("content-type"), "application/javascript; charset=UTF-8");
  EXPECT_EQ(r.get("access-control-allow-origin"), "test");
  EXPECT_EQ(r.get("cache-control"), kNoCache);
  auto s = post(port_, "/echo/000/" + id + "/xhr_send", R"(["x"])", {{"Origin", "test"}});
  EXPECT_EQ(s.status, 204);
  EXPECT_TRUE(s.body.empty());
  EXPECT_EQ(s.get("content-type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(s.get("cache-control"), kNoCache);
  // The server id is ignored.
  r = post(port_, "/echo/999/" + id + "/xhr");
  EXPECT_EQ(r.body, "a[\"x\"]\n");
  EXPECT_EQ(post(port_, "/echo/000/bad_session/xhr_send", R"(["a"])").status, 404);

  // Content types do not matter to xhr_send; empty arrays are fine.
  for (const char* ct : {"text/plain", "T", "application/json", "application/xml", "",
                         "application/json; charset=utf-8", "text/xml"}) {
    auto x = post(port_, "/echo/000/" + id + "/xhr_send", R"(["a"])", {{"Content-Type", ct}});
    EXPECT_EQ(x.status, 204) << ct;
  }
  EXPECT_EQ(post(port_, "/echo/000/" + id + "/xhr_send", "[]").status, 204);
  r = post(port_, "/echo/000/" + id + "/xhr");
  EXPECT_EQ(r.body, "a[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]\n");
}

TEST_F(SockjsProtocol, XhrPollingGetsWhatWasQueuedBeforeTheClose) {
  const std::string id = uuid();
  EXPECT_EQ(post(port_, "/bye/000/" + id + "/xhr").body, "o\n");
  // No poll is waiting when the session sends its last message and closes.
  EXPECT_EQ(post(port_, "/bye/000/" + id + "/xhr_send", R"(["bye"])").status, 204);
  EXPECT_EQ(post(port_, "/bye/000/" + id + "/xhr").body, "a[\"see you\"]\n");
  EXPECT_EQ(post(port_, "/bye/000/" + id + "/xhr").body, "c[3001,\"bye\"]\n");
}

TEST_F(SockjsProtocol, AnotherConnectionStillOpen) {
  const std::string id = uuid();
  EXPECT_EQ(post(port_, "/echo/000/" + id + "/xhr").body, "o\n");
  stream_client held(port_);
  held.send_raw("POST /echo/000/" + id + "/xhr HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto r = post(port_, "/echo/000/" + id + "/xhr");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "c[2010,\"Another connection still open\"]\n");
  // The client of the held poll goes away: the session is interrupted.
  held.close();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto after = post(port_, "/echo/000/" + id + "/xhr");
  EXPECT_TRUE(after.body == "o\n" || after.body == "c[1002,\"Connection interrupted\"]\n") << after.body;
}

TEST_F(SockjsProtocol, BrokenFraming) {
  const std::string id = uuid();
  EXPECT_EQ(post(port_, "/echo/000/" + id + "/xhr").body, "o\n");
  auto broken = post(port_, "/echo/000/" + id + "/xhr_send", R"(["x)");
  EXPECT_EQ(broken.status, 500);
  EXPECT_NE(broken.body.find("Broken JSON encoding."), std::string::npos);
  auto empty = post(port_, "/echo/000/" + id + "/xhr_send", "");
  EXPECT_EQ(empty.status, 500);
  EXPECT_NE(empty.body.find("Payload expected."), std::string::npos);
  EXPECT_EQ(post(port_, "/echo/000/" + id + "/xhr_send", R"(["a"])").status, 204);
  EXPECT_EQ(post(port_, "/echo/000/" + id + "/xhr").body, "a[\"a\"]\n");
}

TEST_F(SockjsProtocol, CloseService) {
  const std::string id = uuid();
  EXPECT_EQ(post(port_, "/close/000/" + id + "/xhr").body, "o\n");
  EXPECT_EQ(post(port_, "/close/000/" + id + "/xhr").body, "c[3000,\"Go away!\"]\n");
  EXPECT_EQ(post(port_, "/close/000/" + id + "/xhr").body, "c[3000,\"Go away!\"]\n");
}

TEST_F(SockjsProtocol, XhrStreaming) {
  const std::string id = uuid();
  stream_client s(port_);
  ASSERT_EQ(s.open("POST", "/echo/000/" + id + "/xhr_streaming", {{"Origin", "test"}}), 200);
  EXPECT_EQ(s.header("content-type"), "application/javascript; charset=UTF-8");
  EXPECT_EQ(s.header("access-control-allow-origin"), "test");
  EXPECT_EQ(s.header("cache-control"), kNoCache);
  EXPECT_EQ(s.read_chunk(), std::string(2048, 'h') + "\n");
  EXPECT_EQ(s.read_chunk(), "o\n");
  EXPECT_EQ(post(port_, "/echo/000/" + id + "/xhr_send", R"(["x"])").status, 204);
  EXPECT_EQ(s.read_chunk(), "a[\"x\"]\n");
  // The response limit (4096 for the test services) ends the stream.
  const std::string msg = "\"" + std::string(128, 'x') + "\"";
  for (int i = 0; i < 31; ++i) {
    ASSERT_EQ(post(port_, "/echo/000/" + id + "/xhr_send", "[" + msg + "]").status, 204);
    ASSERT_EQ(s.read_chunk(), "a[" + msg + "]\n") << i;
  }
  EXPECT_EQ(s.read_chunk(), "");
}

TEST_F(SockjsProtocol, XhrStreamingClosesAndReportsSecondConnection) {
  const std::string id = uuid();
  stream_client a(port_);
  a.open("POST", "/close/000/" + id + "/xhr_streaming");
  a.read_chunk();
  EXPECT_EQ(a.read_chunk(), "o\n");
  EXPECT_EQ(a.read_chunk(), "c[3000,\"Go away!\"]\n");
  EXPECT_EQ(a.read_chunk(), "");
  stream_client b(port_);
  b.open("POST", "/close/000/" + id + "/xhr_streaming");
  b.read_chunk();
  EXPECT_EQ(b.read_chunk(), "c[3000,\"Go away!\"]\n");
  EXPECT_EQ(b.read_chunk(), "");

  const std::string id2 = uuid();
  stream_client c(port_);
  c.open("POST", "/echo/000/" + id2 + "/xhr_streaming");
  c.read_chunk();
  EXPECT_EQ(c.read_chunk(), "o\n");
  stream_client d(port_);
  d.open("POST", "/echo/000/" + id2 + "/xhr_streaming");
  d.read_chunk();
  EXPECT_EQ(d.read_chunk(), "c[2010,\"Another connection still open\"]\n");
  EXPECT_EQ(d.read_chunk(), "");
  c.close();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stream_client e(port_);
  e.open("POST", "/echo/000/" + id2 + "/xhr_streaming");
  e.read_chunk();
  const std::string third = e.read_chunk();
  EXPECT_TRUE(third == "o\n" || third == "c[1002,\"Connection interrupted\"]\n") << third;
}

TEST_F(SockjsProtocol, Http10Streaming) {
  stream_client s(port_);
  ASSERT_EQ(s.open("POST", "/close/000/" + uuid() + "/xhr_streaming", {{"Connection", "Keep-Alive"}}, "1.0"), 200);
  EXPECT_EQ(s.header("transfer-encoding"), "");
  EXPECT_EQ(s.header("content-length"), "");
  EXPECT_EQ(s.read_exactly(2049)[0], 'h');
  EXPECT_EQ(s.read_exactly(2), "o\n");
  EXPECT_EQ(s.read_exactly(19), "c[3000,\"Go away!\"]\n");
  EXPECT_TRUE(s.closed());
}

TEST_F(SockjsProtocol, KeepAlive) {
  stream_client s(port_);
  ASSERT_EQ(s.open("GET", "/echo", {{"Connection", "Keep-Alive"}}), 200);
  EXPECT_EQ(s.header("content-length"), "19");
  EXPECT_EQ(s.read_exactly(19), "Welcome to SockJS!\n");
  ASSERT_EQ(s.open("GET", "/echo", {{"Connection", "Keep-Alive"}}), 200);
}

TEST_F(SockjsProtocol, EventSource) {
  const std::string id = uuid();
  stream_client s(port_);
  ASSERT_EQ(s.open("GET", "/echo/000/" + id + "/eventsource"), 200);
  EXPECT_EQ(s.header("content-type"), "text/event-stream");
  EXPECT_EQ(s.header("cache-control"), kNoCache);
  EXPECT_EQ(s.read_chunk(), "\r\n");
  EXPECT_EQ(s.read_chunk(), "data: o\r\n\r\n");
  EXPECT_EQ(post(port_, "/echo/000/" + id + "/xhr_send", R"(["x"])").status, 204);
  EXPECT_EQ(s.read_chunk(), "data: a[\"x\"]\r\n\r\n");
  EXPECT_EQ(post(port_, "/echo/000/" + id + "/xhr_send", R"(["  \u0000\n\r "])").status, 204);
  EXPECT_EQ(s.read_chunk(), "data: a[\"  \\u0000\\n\\r \"]\r\n\r\n");
  const std::string msg = "\"" + std::string(4096, 'x') + "\"";
  EXPECT_EQ(post(port_, "/echo/000/" + id + "/xhr_send", "[" + msg + "]").status, 204);
  EXPECT_EQ(s.read_chunk(), "data: a[" + msg + "]\r\n\r\n");
  EXPECT_EQ(s.read_chunk(), "");
}

TEST_F(SockjsProtocol, HtmlFile) {
  const std::string head =
      "<!doctype html>\n<html><head>\n"
      "  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
      "  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
      "</head><body><h2>Don't panic!</h2>\n  <script>\n    document.domain = document.domain;\n"
      "    var c = parent.callback;\n    c.start();\n    function p(d) {c.message(d);};\n"
      "    window.onload = function() {c.stop();};\n  </script>";
  const std::string id = uuid();
  stream_client s(port_);
  ASSERT_EQ(s.open("GET", "/echo/000/" + id + "/htmlfile?c=%63allback"), 200);
  EXPECT_EQ(s.header("content-type"), "text/html; charset=UTF-8");
  EXPECT_EQ(s.header("cache-control"), kNoCache);
  const std::string prelude = s.read_chunk();
  EXPECT_GT(prelude.size(), 1024u);
  EXPECT_EQ(prelude.substr(0, head.size()), head);
  EXPECT_EQ(prelude.find_first_not_of(" \r\n", head.size()), std::string::npos);
  EXPECT_EQ(s.read_chunk(), "<script>\np(\"o\");\n</script>\r\n");
  EXPECT_EQ(post(port_, "/echo/000/" + id + "/xhr_send", R"(["x"])").status, 204);
  EXPECT_EQ(s.read_chunk(), "<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n");

  auto none = get(port_, "/echo/a/a/htmlfile");
  EXPECT_EQ(none.status, 500);
  EXPECT_NE(none.body.find("\"callback\" parameter required"), std::string::npos);
  for (const char* cb : {"%20", "*", "abc(", "abc%28"}) {
    auto r = get(port_, std::string("/echo/a/a/htmlfile?c=") + cb);
    EXPECT_EQ(r.status, 500) << cb;
    EXPECT_NE(r.body.find("invalid \"callback\" parameter"), std::string::npos) << cb;
  }
}

TEST_F(SockjsProtocol, JsonpPolling) {
  const std::string id = uuid();
  const std::string url = "/echo/000/" + id;
  auto r = get(port_, url + "/jsonp?c=%63allback");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.get("content-type"), "application/javascript; charset=UTF-8");
  EXPECT_EQ(r.get("cache-control"), kNoCache);
  EXPECT_EQ(r.body, "/**/callback(\"o\");\r\n");
  const header_list form = {{"Content-Type", "application/x-www-form-urlencoded"}};
  auto s = post(port_, url + "/jsonp_send", "d=%5B%22x%22%5D", form);
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.body, "ok");
  EXPECT_EQ(s.get("content-type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(s.get("cache-control"), kNoCache);
  EXPECT_EQ(get(port_, url + "/jsonp?c=%63allback").body, "/**/callback(\"a[\\\"x\\\"]\");\r\n");

  auto broken = post(port_, url + "/jsonp_send", "d=%5B%22x", form);
  EXPECT_EQ(broken.status, 500);
  EXPECT_NE(broken.body.find("Broken JSON encoding."), std::string::npos);
  for (const char* data : {"", "d=", "p=p"}) {
    auto e = post(port_, url + "/jsonp_send", data, form);
    EXPECT_EQ(e.status, 500) << data;
    EXPECT_NE(e.body.find("Payload expected."), std::string::npos) << data;
  }
  EXPECT_EQ(post(port_, url + "/jsonp_send", "d=%5B%22abc%22%5D", form).body, "ok");
  EXPECT_EQ(post(port_, url + "/jsonp_send", R"(["%61bc"])", {{"Content-Type", "text/plain"}}).body, "ok");
  EXPECT_EQ(get(port_, url + "/jsonp?c=x").body, "/**/x(\"a[\\\"abc\\\",\\\"%61bc\\\"]\");\r\n");

  EXPECT_EQ(get(port_, "/echo/a/a/jsonp").status, 500);
  EXPECT_EQ(get(port_, "/echo/a/a/jsonp?c=abc%28").status, 500);

  const std::string cid = "/close/000/" + uuid();
  EXPECT_EQ(get(port_, cid + "/jsonp?c=x").body, "/**/x(\"o\");\r\n");
  EXPECT_EQ(get(port_, cid + "/jsonp?c=x").body, "/**/x(\"c[3000,\\\"Go away!\\\"]\");\r\n");
}

TEST_F(SockjsProtocol, JsessionidCookie) {
  auto r = post(port_, "/cookie_needed_echo/000/" + uuid() + "/xhr");
  EXPECT_EQ(r.body, "o\n");
  EXPECT_EQ(r.get("set-cookie"), "JSESSIONID=dummy; path=/");
  auto mine = post(port_, "/cookie_needed_echo/000/" + uuid() + "/xhr", {}, {{"Cookie", "JSESSIONID=abcdef"}});
  EXPECT_EQ(mine.get("set-cookie"), "JSESSIONID=abcdef; path=/");
  stream_client s(port_);
  s.open("POST", "/cookie_needed_echo/000/" + uuid() + "/xhr_streaming");
  EXPECT_EQ(s.header("set-cookie"), "JSESSIONID=dummy; path=/");
  stream_client e(port_);
  e.open("GET", "/cookie_needed_echo/000/" + uuid() + "/eventsource");
  EXPECT_EQ(e.header("set-cookie"), "JSESSIONID=dummy; path=/");
  const std::string jid = "/cookie_needed_echo/000/" + uuid();
  EXPECT_EQ(get(port_, jid + "/jsonp?c=cb").get("set-cookie"), "JSESSIONID=dummy; path=/");
  EXPECT_EQ(post(port_, jid + "/jsonp_send", "d=%5B%22x%22%5D",
                 {{"Content-Type", "application/x-www-form-urlencoded"}})
                .get("set-cookie"),
            "JSESSIONID=dummy; path=/");
  // No cookie from services that do not need it.
  EXPECT_FALSE(post(port_, "/echo/000/" + uuid() + "/xhr").has("set-cookie"));
}

TEST_F(SockjsProtocol, WebsocketTransport) {
  ws_client ws(port_, "/echo/000/" + uuid() + "/websocket");
  EXPECT_EQ(ws.recv(), "o");
  ws.send("");
  ws.send("[]");
  ws.send(R"(["a"])");
  EXPECT_EQ(ws.recv(), R"(a["a"])");
  ws.send(R"("b")");
  EXPECT_EQ(ws.recv(), R"(a["b"])");
  ws.close();

  ws_client closing(port_, "/close/000/" + uuid() + "/websocket");
  EXPECT_EQ(closing.recv(), "o");
  EXPECT_EQ(closing.recv(), R"(c[3000,"Go away!"])");
  closing.recv();
  EXPECT_TRUE(closing.closed());

  ws_client broken(port_, "/echo/000/" + uuid() + "/websocket");
  EXPECT_EQ(broken.recv(), "o");
  broken.send(R"(["a)");
  broken.recv();
  EXPECT_TRUE(broken.closed());

  // Two websockets with one session id are two sessions.
  const std::string id = uuid();
  ws_client a(port_, "/echo/000/" + id + "/websocket");
  ws_client b(port_, "/echo/000/" + id + "/websocket");
  EXPECT_EQ(a.recv(), "o");
  EXPECT_EQ(b.recv(), "o");
  a.send(R"(["a"])");
  b.send(R"(["b"])");
  EXPECT_EQ(a.recv(), R"(a["a"])");
  EXPECT_EQ(b.recv(), R"(a["b"])");
}

TEST_F(SockjsProtocol, WebsocketHttpErrors) {
  EXPECT_EQ(get(port_, "/echo/0/0/websocket").status, 400);
  EXPECT_EQ(get(port_, "/echo/0/0/websocket", {{"Upgrade", "WebSocket"}, {"Connection", "close"}}).status, 400);
  for (const header_list& h : {header_list{{"Upgrade", "WebSocket"}, {"Connection", "Upgrade"}}, header_list{}}) {
    auto r = post(port_, "/echo/0/0/websocket", {}, h);
    EXPECT_EQ(r.status, 405);
    EXPECT_FALSE(r.has("content-type"));
    EXPECT_TRUE(r.has("allow"));
    EXPECT_TRUE(r.body.empty());
  }
  EXPECT_EQ(get(port_, "/disabled_websocket_echo/0/0/websocket").status, 404);
}

TEST_F(SockjsProtocol, RawWebsocketAndSubprotocols) {
  ws_client ws(port_, "/echo/websocket");
  ws.send("Hello world!\xef\xbf\xbf");
  EXPECT_EQ(ws.recv(), "Hello world!\xef\xbf\xbf");
  ws.close();
  ws_client closing(port_, "/close/websocket");
  closing.recv();
  EXPECT_TRUE(closing.closed());
  EXPECT_EQ(closing.reason().reason, "Go away!");
  EXPECT_EQ(closing.reason().code, 3000);

  EXPECT_EQ(ws_client(port_, "/echo/websocket", "v10.stomp, v12.stomp").protocol(), "v12.stomp");
  EXPECT_EQ(ws_client(port_, "/echo/websocket", "v11.stomp,v10.stomp").protocol(), "v11.stomp");
  EXPECT_EQ(ws_client(port_, "/raw", "v10.stomp").protocol(), "v10.stomp");
  EXPECT_EQ(ws_client(port_, "/raw").protocol(), "");
  ws_client raw(port_, "/raw", "v12.stomp");
  raw.send("CONNECT\n\n");
  EXPECT_EQ(raw.recv(), "CONNECT\n\n");
  EXPECT_EQ(get(port_, "/raw").status, 400);
}

TEST_F(SockjsProtocol, StaticFiles) {
  auto index = get(port_, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.get("content-type"), "text/html; charset=UTF-8");
  EXPECT_EQ(index.body, "<html>hi</html>");
  auto js = get(port_, "/sub/app.js");
  EXPECT_EQ(js.get("content-type"), "application/javascript; charset=UTF-8");
  EXPECT_EQ(get(port_, "/sub/app.js", {{"If-None-Match", js.get("etag")}}).status, 304);
  for (const char* bad : {"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt",
                          "/sub/%2E%2E/%2E%2E/secret.txt", "/nope.js", "/..%5csecret.txt"})
    EXPECT_EQ(get(port_, bad).status, 404) << bad;
  EXPECT_EQ(post(port_, "/sub/app.js").status, 405);
}

TEST_F(SockjsProtocol, MalformedHttpKeepsOthersServing) {
  ws_client live(port_, "/echo/websocket");
  {
    stream_client junk(port_);
    junk.send_raw("THIS IS NOT HTTP\r\n\r\n");
    junk.read_chunk();
  }
  {
    stream_client huge(port_);
    huge.send_raw("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(20000, 'a') + "\r\n\r\n");
    EXPECT_EQ(huge.read_chunk().substr(0, 12), "HTTP/1.1 431");
  }
  auto big = post(port_, "/echo/000/" + uuid() + "/xhr_send", std::string((1 << 20) + 10, 'x'));
  EXPECT_EQ(big.status, 413);
  live.send("still here");
  EXPECT_EQ(live.recv(), "still here");
  EXPECT_EQ(get(port_, "/echo").status, 200);
}

TEST_F(SockjsProtocol, ManyConcurrentConnections) {
  constexpr int kClients = 200;
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(std::make_unique<ws_client>(port_, i % 2 ? "/echo/websocket" : "/raw"));
  for (int i = 0; i < kClients; ++i) clients[i]->send("m" + std::to_string(i));
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(clients[i]->recv(), "m" + std::to_string(i));
  EXPECT_GE(server_->stats().websockets_open, static_cast<std::uint64_t>(kClients));
}

// Timings and the slow-consumer bound, on a server with short delays.
TEST(WebServer, HeartbeatDisconnectDelayAndOverflow) {
  web_server_options o;
  o.port = 0;
  o.threads = 2;
  o.sockjs.heartbeat = std::chrono::milliseconds(200);
  o.sockjs.disconnect_delay = std::chrono::milliseconds(300);
  o.limits.channel_queue_bytes = 64 * 1024;
  web_server server(o);
  std::atomic<int> closed{0};
  std::atomic<std::size_t> limit_seen{0};
  struct flood : channel_handler {
    flood(message_channel& ch, std::atomic<int>& c, std::atomic<std::size_t>& l) : ch_(ch), closed_(c) {
      l = ch.queue_limit_bytes();
    }
    void on_message(std::string_view m) override {
      if (m == "flood")
        for (int i = 0; i < 2000; ++i) ch_.send(std::string(16 * 1024, 'x'));
      else
        ch_.send(m);
    }
    void on_tick(long long) override {}
    void on_closed() override { closed_.fetch_add(1); }
    message_channel& ch_;
    std::atomic<int>& closed_;
  };
  auto factory = [&](message_channel& c) { return std::make_unique<flood>(c, closed, limit_seen); };
  server.mount_sockjs("/ws", factory);
  server.start();
  const auto port = server.port();

  // Heartbeat on a held poll.
  const std::string id = "hb1";
  EXPECT_EQ(post(port, "/ws/000/" + id + "/xhr").body, "o\n");
  EXPECT_EQ(post(port, "/ws/000/" + id + "/xhr").body, "h\n");
  EXPECT_EQ(limit_seen.load(), 64u * 1024);
  // Disconnect delay: the session dies, the handler is told, sends 404.
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(closed.load(), 1);
  EXPECT_EQ(post(port, "/ws/000/" + id + "/xhr_send", R"(["x"])").status, 404);

  // A websocket client that does not read while the session floods it is
  // closed at the hard cap instead of growing without bound.
  ws_client ws(port, "/ws/websocket");
  ws.send("flood");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_GE(server.stats().channels_overflowed, 1u);
  std::size_t got = 0;
  while (!ws.closed() && got < 5000) {
    ws.recv();
    ++got;
  }
  EXPECT_TRUE(ws.closed());
  EXPECT_EQ(ws.reason().code, 1008);
  EXPECT_LT(got, 2000u);
}

TEST(WebServer, RunsInTheHostsIoContext) {
  boost::asio::io_context io;
  web_server_options o;
  o.port = 0;
  web_server server(io, o);
  server.mount_http("/hello", [](const http_request& req, http_responder respond) {
    http_response r;
    r.body = "{\"path\":\"" + req.path + "\",\"q\":\"" + req.query_param("q").value_or("") + "\"}";
    respond(std::move(r));
  });
  server.start();
  std::thread runner([&] { io.run(); });
  auto r = get(server.port(), "/hello/x?q=a%20b");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"path":"/hello/x","q":"a b"})");
  EXPECT_EQ(get(server.port(), "/hellox").status, 404);
  server.stop();
  io.stop();
  runner.join();
}

TEST(WebServer, AuthorizationHook) {
  web_server_options o;
  o.port = 0;
  o.threads = 1;
  o.authorize = [](const http_request& req) { return req.header("Authorization") == "Bearer ok"; };
  web_server server(o);
  mount_sockjs_test_services(server);
  server.start();
  EXPECT_EQ(get(server.port(), "/echo").status, 401);
  EXPECT_EQ(get(server.port(), "/echo", {{"Authorization", "Bearer ok"}}).status, 200);
}

TEST(WebServer, ListenFailureThrows) {
  web_server_options o;
  o.port = 0;
  o.address = "not an address";
  web_server server(o);
  EXPECT_THROW(server.start(), xiaoxiang::error);
}

// sockjs-protocol HandlingClose.test_abort_xhr_streaming / _polling: the
// client closes the request that holds the session and at once opens another
// one, without waiting. The server must treat the first as gone (a new
// session or 1002), never answer 2010: it checks the holder before saying
// "another connection". Repeated, since without the check it is a race.
TEST_F(SockjsProtocol, AbortedReceiverIsNotAnotherConnection) {
  for (int i = 0; i < 20; ++i) {
    const std::string id = uuid();
    stream_client a(port_);
    a.open("POST", "/echo/000/" + id + "/xhr_streaming");
    a.read_chunk();
    ASSERT_EQ(a.read_chunk(), "o\n");
    a.close();
    stream_client b(port_);
    b.open("POST", "/echo/000/" + id + "/xhr_streaming");
    b.read_chunk();
    const std::string frame = b.read_chunk();
    EXPECT_TRUE(frame == "o\n" || frame == "c[1002,\"Connection interrupted\"]\n") << frame;
  }
  for (int i = 0; i < 10; ++i) {
    const std::string url = "/echo/000/" + uuid() + "/xhr";
    ASSERT_EQ(post(port_, url).body, "o\n");
    stream_client held(port_);  // a poll that waits: nothing to deliver
    held.send_raw("POST " + url + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let it hold the session
    held.close();
    const std::string body = post(port_, url).body;
    EXPECT_TRUE(body == "o\n" || body == "c[1002,\"Connection interrupted\"]\n") << body;
  }
}

}  // namespace
}  // namespace xiaoxiang
