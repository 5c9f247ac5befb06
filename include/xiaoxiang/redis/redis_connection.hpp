// redis_connection: one blocking connection to a Redis server (hiredis), for
// one thread at a time. Commands are argument vectors (binary safe, no
// formatting); pipelining is append() then get_reply() per command. Failures
// of the connection throw xiaoxiang::error(errc::redis_io); error replies are
// values (redis_type::error) the caller judges.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/redis/redis_reply.hpp"

namespace xiaoxiang {

// Where a Redis server listens.
struct redis_endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;

  std::string to_string() const;  // "127.0.0.1:6379"
};

// Parses "HOST:PORT" (or ":PORT" for 127.0.0.1, or "HOST" for port 6379);
// errc::invalid_field "redis" when the port is not 1..65535 or the host empty.
result<redis_endpoint> parse_redis_endpoint(std::string_view text);

struct redis_connection_options {
  redis_endpoint endpoint;
  duration_ms connect_timeout_ms = 2000;  // TCP connect
  duration_ms io_timeout_ms = 10000;      // one command's round trip (BLOCK must stay below)
};

class redis_connection {
 public:
  // Connects; throws xiaoxiang::error(errc::redis_io) when it cannot.
  explicit redis_connection(redis_connection_options options);
  ~redis_connection();
  redis_connection(redis_connection&&) noexcept;
  redis_connection& operator=(redis_connection&&) noexcept;
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  // Sends one command and waits for its reply.
  redis_value command(std::span<const std::string_view> args);
  redis_value command(std::initializer_list<std::string_view> args);

  // Pipelining: queues a command (sent on the next get_reply()).
  void append(std::span<const std::string_view> args);
  void append(std::initializer_list<std::string_view> args);
  // The reply of the oldest appended command.
  redis_value get_reply();
  // For subscribers: a reply that arrives within `timeout`, or nullopt; the
  // connection stays usable after a timeout.
  std::optional<redis_value> poll_reply(std::chrono::milliseconds timeout);

  // Drops the connection and connects again (after a redis_io failure).
  void reconnect();

  const redis_connection_options& options() const noexcept { return options_; }

 private:
  struct impl;
  redis_connection_options options_;
  std::unique_ptr<impl> impl_;
};

}  // namespace xiaoxiang
