// xiaoxiang queue-feed: writes events (JSON lines, as `xiaoxiang sim` writes
// them) into the ingest queue on Redis Streams, routed to their partitions
// (docs/scaling.md) — what a host's gateway does in front of
// `xiaoxiang serve --redis`.
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "command.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/queue/redis_stream_producer.hpp"

namespace xiaoxiang::cli {
namespace {

constexpr const char* kHelp =
    "usage: xiaoxiang queue-feed --redis HOST:PORT [options]\n"
    "\n"
    "Reads events, one JSON object per line (docs/events.md; `xiaoxiang sim`'s\n"
    "events.jsonl), and XADDs each to its partition's stream <prefix>events:<p>:\n"
    "order events by orderId, rider positions to the partitions of the rider's\n"
    "active orders (docs/scaling.md). Stops at the first line that does not\n"
    "decode (lines before it are in the queue). Prints what it wrote.\n"
    "\n"
    "options:\n"
    "  --redis HOST:PORT        the Redis server (required)\n"
    "  --in FILE                events to read (default: standard input)\n"
    "  --partition-count N      partitions of the cluster (default 8; as serve's)\n"
    "  --prefix P               key prefix (default xx:)\n"
    "  --max-len N              trim each stream to about N entries (default: never)\n"
    "  --rate R                 write at most R events per second (default: as fast as\n"
    "                           Redis takes them), to replay a recording at a live pace\n"
    "  --help                   this text\n";

int run(invocation& call) {
  options opts({}, {"redis", "in", "partition-count", "prefix", "max-len", "rate"});
  if (!opts.parse(call.args)) {
    call.err << "xiaoxiang queue-feed: " << opts.error() << "\n" << kHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kHelp;
    return exit_ok;
  }
  if (!opts.positional().empty()) {
    call.err << "xiaoxiang queue-feed: unexpected argument '" << opts.positional().front() << "'\n";
    return exit_usage;
  }
  const auto redis = opts.get("redis");
  if (!redis) {
    call.err << "xiaoxiang queue-feed: --redis HOST:PORT is required\n";
    return exit_usage;
  }
  const auto endpoint = parse_redis_endpoint(*redis);
  if (!endpoint) {
    call.err << "xiaoxiang queue-feed: option '--redis' needs HOST:PORT, got '" << *redis << "'\n";
    return exit_usage;
  }
  const auto partitions = opts.get_int("partition-count", 8, 1, 4096);
  const auto max_len = opts.get_int("max-len", 0, 0, INT64_MAX);
  const auto rate = opts.get_double("rate", 0.0, 0.001, 1e9);
  if (!partitions || !max_len || !rate) {
    call.err << "xiaoxiang queue-feed: " << opts.error() << "\n";
    return exit_usage;
  }
  const std::string path = opts.get("in").value_or("-");
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) {
      call.err << "xiaoxiang queue-feed: cannot read '" << path << "'\n";
      return exit_failure;
    }
  }
  std::istream& in = path == "-" ? call.in : file;
  const std::string name = path == "-" ? "stdin" : path;

  try {
    redis_stream_producer_options po;
    po.connection.endpoint = *endpoint;
    po.streams.stream_prefix = opts.get("prefix").value_or("xx:") + "events:";
    po.streams.partitions = static_cast<std::uint32_t>(*partitions);
    po.max_stream_length = static_cast<std::size_t>(*max_len);
    redis_stream_producer producer(po);
    std::string line;
    std::uint64_t number = 0;
    // Pacing: event k is due k / rate seconds after the start. What is
    // pipelined is sent before sleeping, so that consumers see it on time.
    const auto start = std::chrono::steady_clock::now();
    while (std::getline(in, line)) {
      ++number;
      if (line.empty()) continue;
      const auto decoded = event_from_json(line);
      if (!decoded) {
        producer.flush();
        call.err << "xiaoxiang queue-feed: " << name << ":" << number << ": " << decoded.message()
                 << " (" << producer.events() << " events written before it)\n";
        return exit_bad_input;
      }
      if (*rate > 0.0) {
        const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(static_cast<double>(producer.events()) / *rate));
        if (due > std::chrono::steady_clock::now()) {
          producer.flush();
          std::this_thread::sleep_until(due);
        }
      }
      producer.add(*decoded);
    }
    producer.flush();
    call.out << producer.events() << " events, " << producer.entries() << " stream entries into "
             << *partitions << " partitions (" << po.streams.stream_prefix << "0.."
             << *partitions - 1 << ")\n";
  } catch (const std::exception& e) {
    call.err << "xiaoxiang queue-feed: " << e.what() << "\n";
    return exit_failure;
  }
  return exit_ok;
}

const bool registered = register_command(
    {"queue-feed", "write events (JSON lines) into the Redis Streams ingest queue", run});

}  // namespace
}  // namespace xiaoxiang::cli
