// The standard SockJS test services of sockjs-protocol's test suite.
#include "xiaoxiang/server/web_server.hpp"

namespace xiaoxiang {
namespace {

class echo_handler final : public channel_handler {
 public:
  explicit echo_handler(message_channel& channel) : channel_(channel) {}
  void on_message(std::string_view message) override { channel_.send(message); }
  void on_tick(long long) override {}
  void on_closed() override {}

 private:
  message_channel& channel_;
};

class close_handler final : public channel_handler {
 public:
  explicit close_handler(message_channel& channel) { channel.close(3000, "Go away!"); }
  void on_message(std::string_view) override {}
  void on_tick(long long) override {}
  void on_closed() override {}
};

}  // namespace

void mount_sockjs_test_services(web_server& server) {
  auto echo = [](message_channel& c) { return std::make_unique<echo_handler>(c); };
  auto close = [](message_channel& c) { return std::make_unique<close_handler>(c); };
  // The protocol suite's streaming tests expect the limit of its reference
  // server (4 KiB), not sockjs-node's default 128 KiB.
  sockjs_service_options test;
  test.response_limit_bytes = 4096;
  server.mount_sockjs("/echo", echo, test);
  server.mount_sockjs("/close", close, test);
  sockjs_service_options no_ws = test;
  no_ws.websocket = false;
  server.mount_sockjs("/disabled_websocket_echo", echo, no_ws);
  sockjs_service_options cookie = test;
  cookie.cookie_needed = true;
  server.mount_sockjs("/cookie_needed_echo", echo, cookie);
}

}  // namespace xiaoxiang
