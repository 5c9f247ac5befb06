// A channel handler that sends every message back (raw WebSocket tests of
// TLS and the limits).
#pragma once

#include <string_view>

#include "xiaoxiang/transport/message_channel.hpp"

namespace xiaoxiang::test {

struct echo_handler : channel_handler {
  explicit echo_handler(message_channel& ch) : c(ch) {}
  void on_message(std::string_view m) override { c.send(m); }
  void on_tick(long long) override {}
  void on_closed() override {}
  message_channel& c;
};

}  // namespace xiaoxiang::test
