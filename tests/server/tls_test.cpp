// TLS (issue 9): every mount over https:// and wss:// with a certificate
// generated at test time; plain HTTP to the TLS port fails cleanly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "echo_handler.hpp"
#include "server_test_client.hpp"
#include "xiaoxiang/server/web_server.hpp"

namespace xiaoxiang {
namespace {

using namespace xiaoxiang::test;
namespace ssl = net::ssl;

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("xiaoxiang-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    // A throw-away self-signed certificate for 127.0.0.1 (never committed).
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
        (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ofstream(dir_ / "index.html") << "<html>tls</html>";
    web_server_options o;
    o.port = 0;
    o.threads = 2;
    o.static_root = dir_.string();
    o.tls.certificate_chain_file = (dir_ / "cert.pem").string();
    o.tls.private_key_file = (dir_ / "key.pem").string();
    server_ = new web_server(o);
    server_->mount_http("/api/hello", [](const http_request& r, http_responder respond) {
      respond({.status = 200, .content_type = "text/plain", .body = "hello " + r.remote_address, .headers = {}});
    });
    server_->mount_websocket("/raw", [](message_channel& c) { return std::make_unique<echo_handler>(c); });
    mount_sockjs_test_services(*server_);
    server_->start();
    port_ = server_->port();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A client context that trusts only the test certificate.
  static ssl::context client_context(bool trust = true) {
    ssl::context ctx(ssl::context::tls_client);
    if (trust) ctx.load_verify_file((dir_ / "cert.pem").string());
    ctx.set_verify_mode(ssl::verify_peer);
    return ctx;
  }

  static simple_response https(http::verb method, const std::string& target, const std::string& body = {}) {
    net::io_context io;
    auto ctx = client_context();
    beast::ssl_stream<beast::tcp_stream> s(io, ctx);
    beast::get_lowest_layer(s).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(10));
    s.handshake(ssl::stream_base::client);
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (method == http::verb::post) {
      req.body() = body;
      req.prepare_payload();
    }
    http::write(s, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(s, buffer, res);
    simple_response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) out.headers[lower(std::string(f.name_string()))] = std::string(f.value());
    out.body = res.body();
    return out;
  }

  static inline web_server* server_ = nullptr;
  static inline std::uint16_t port_ = 0;
  static inline std::filesystem::path dir_;
};

TEST_F(Tls, HttpsServesTheApiAndStaticFiles) {
  EXPECT_EQ(server_->url().substr(0, 8), "https://");
  const auto api = https(http::verb::get, "/api/hello");
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(api.body, "hello 127.0.0.1");
  const auto page = https(http::verb::get, "/index.html");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<html>tls</html>");
}

TEST_F(Tls, SockjsOverHttps) {
  const auto info = https(http::verb::get, "/echo/info");
  EXPECT_EQ(info.status, 200);
  EXPECT_NE(info.body.find("\"websocket\":true"), std::string::npos);
  const auto open = https(http::verb::post, "/echo/000/tls1/xhr");
  EXPECT_EQ(open.status, 200);
  EXPECT_EQ(open.body, "o\n");
}

TEST_F(Tls, WssEchoesAndCloses) {
  net::io_context io;
  auto ctx = client_context();
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(io, ctx);
  beast::get_lowest_layer(ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  ws.next_layer().handshake(ssl::stream_base::client);
  ws.handshake("127.0.0.1", "/raw");
  ws.text(true);
  ws.write(net::buffer(std::string("over tls")));
  beast::flat_buffer buffer;
  ws.read(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "over tls");
  // SockJS's websocket transport over wss too.
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> sj(io, ctx);
  beast::get_lowest_layer(sj).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  sj.next_layer().handshake(ssl::stream_base::client);
  sj.handshake("127.0.0.1", "/echo/000/tls2/websocket");
  beast::flat_buffer b2;
  sj.read(b2);
  EXPECT_EQ(beast::buffers_to_string(b2.data()), "o");
  beast::error_code ec;
  ws.close(websocket::close_code::normal, ec);
  EXPECT_FALSE(ec) << ec.message();
}

TEST_F(Tls, PlainHttpToTheTlsPortFailsCleanly) {
  const auto before = server_->stats().tls_handshakes_failed;
  net::io_context io;
  beast::tcp_stream s(io);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  s.expires_after(std::chrono::seconds(10));
  const std::string req = "GET /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  net::write(s, net::buffer(req));
  // No HTTP response: at most a TLS alert, then the server closes.
  std::string got(4096, '\0');
  std::size_t total = 0;
  beast::error_code ec;
  while (!ec && total < got.size()) total += s.read_some(net::buffer(got.data() + total, got.size() - total), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
  EXPECT_EQ(got.substr(0, total).find("HTTP/1.1"), std::string::npos);
  for (int i = 0; i < 100 && server_->stats().tls_handshakes_failed == before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(server_->stats().tls_handshakes_failed, before + 1);
  // The server keeps serving TLS clients.
  EXPECT_EQ(https(http::verb::get, "/api/hello").status, 200);
}

TEST_F(Tls, ClientThatDoesNotTrustTheCertificateIsRefusedByItsOwnCheck) {
  net::io_context io;
  auto ctx = client_context(false);
  beast::ssl_stream<beast::tcp_stream> s(io, ctx);
  beast::get_lowest_layer(s).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
  beast::error_code ec;
  s.handshake(ssl::stream_base::client, ec);
  EXPECT_TRUE(ec);
}

TEST(TlsOptions, MissingCertificateFailsStart) {
  web_server_options o;
  o.port = 0;
  o.threads = 1;
  o.tls.certificate_chain_file = "/nonexistent/cert.pem";
  o.tls.private_key_file = "/nonexistent/key.pem";
  web_server server(o);
  try {
    server.start();
    FAIL() << "started without a certificate";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::invalid_field);
  }
}

}  // namespace
}  // namespace xiaoxiang
