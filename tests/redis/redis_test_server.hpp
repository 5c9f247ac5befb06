// The Redis server of a test program: the ctest fixture's (its folder in
// XIAOXIANG_REDIS_DIR), or one this program starts with scripts/redis-server.sh
// and stops at exit when run directly. unique_prefix() keeps the keys of
// tests that share the server apart.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "xiaoxiang/redis/redis_connection.hpp"

namespace xiaoxiang::test {

inline std::string& own_redis_dir() {
  static std::string dir;
  return dir;
}

inline void stop_own_redis() {
  if (own_redis_dir().empty()) return;
  const std::string cmd = std::string(XIAOXIANG_SOURCE_DIR) + "/scripts/redis-server.sh stop '" +
                          own_redis_dir() + "' >/dev/null 2>&1; rm -rf '" + own_redis_dir() + "'";
  [[maybe_unused]] const int rc = std::system(cmd.c_str());
}

// The endpoint of the test server (started on first use when needed).
inline redis_endpoint test_redis() {
  static const redis_endpoint endpoint = [] {
    std::string dir;
    if (const char* env = std::getenv("XIAOXIANG_REDIS_DIR"); env && *env) {
      dir = env;
    } else {
      char tmpl[] = "/tmp/xiaoxiang-redis-XXXXXX";
      if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
      dir = tmpl;
      own_redis_dir() = dir;
      const std::string cmd = std::string(XIAOXIANG_SOURCE_DIR) + "/scripts/redis-server.sh start '" +
                              dir + "' >/dev/null";
      if (std::system(cmd.c_str()) != 0) throw std::runtime_error("cannot start redis-server");
      std::atexit(stop_own_redis);
    }
    std::ifstream in(dir + "/port");
    int port = 0;
    if (!(in >> port)) throw std::runtime_error("no port file in " + dir);
    redis_endpoint e;
    e.port = static_cast<std::uint16_t>(port);
    return e;
  }();
  return endpoint;
}

inline redis_connection_options test_connection() {
  redis_connection_options o;
  o.endpoint = test_redis();
  return o;
}

// "t<pid>.<n>:": a key prefix no other test (or program) uses.
inline std::string unique_prefix() {
  static std::atomic<int> n{0};
  return "t" + std::to_string(::getpid()) + "." + std::to_string(n++) + ":";
}

}  // namespace xiaoxiang::test
