// redis_stream_producer: writes events into the partitioned ingest queue on
// Redis Streams — what a host's gateway (or `xiaoxiang queue-feed`) does.
// Each event becomes one entry {"e": <event JSON (docs/events.md)>} in stream
// `<prefix><partition>` of every partition event_router names (XADD,
// pipelined); an event written to several partitions (a rider's position)
// also carries {"p": "2,5"}, the partitions of all its copies. Not thread-safe: one producer per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "xiaoxiang/order/event.hpp"
#include "xiaoxiang/queue/event_router.hpp"
#include "xiaoxiang/redis/redis_connection.hpp"

namespace xiaoxiang {

// Where the ingest queue lives; producer and consumers must agree.
struct redis_stream_options {
  std::string stream_prefix = "xx:events:";  // stream of partition p: prefix + p
  std::uint32_t partitions = 8;              // number of streams
};

// The name of partition p's stream.
std::string event_stream_name(const redis_stream_options& streams, std::uint32_t partition);

struct redis_stream_producer_options {
  redis_connection_options connection;
  redis_stream_options streams;
  std::size_t pipeline_entries = 256;  // XADDs sent before reading their replies
  std::size_t max_stream_length = 0;   // XADD MAXLEN ~ this (0: never trim; trimming
                                       // may drop entries a slow consumer has not read)
};

class redis_stream_producer {
 public:
  // Connects; throws xiaoxiang::error(errc::redis_io).
  explicit redis_stream_producer(redis_stream_producer_options options);
  // Sends what is pipelined (errors are swallowed here; call flush() first).
  ~redis_stream_producer();

  // Queues the XADDs of one event; returns how many entries (partitions) it
  // produced. Throws on connection failures and error replies.
  std::size_t add(const event& e);
  // Waits for the replies of everything queued.
  void flush();

  std::uint64_t events() const noexcept { return events_; }    // events added
  std::uint64_t entries() const noexcept { return entries_; }  // stream entries added
  const event_router& router() const noexcept { return router_; }

 private:
  redis_stream_producer_options options_;
  redis_connection connection_;
  event_router router_;
  std::vector<std::string> streams_;
  std::vector<std::uint32_t> targets_;
  std::string json_, maxlen_, copies_;
  std::vector<std::string_view> args_;
  std::size_t in_flight_ = 0;
  std::uint64_t events_ = 0, entries_ = 0;
};

}  // namespace xiaoxiang
