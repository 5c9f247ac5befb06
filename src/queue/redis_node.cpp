#include "xiaoxiang/queue/redis_node.hpp"

#include <charconv>
#include <set>
#include <sstream>

#include "xiaoxiang/core/error.hpp"

namespace xiaoxiang {
namespace {

bool parse_u32(std::string_view s, std::uint32_t& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

redis_order_cache_options cache_options(const redis_node_options& o) {
  redis_order_cache_options c;
  c.connection.endpoint = o.endpoint;
  c.key_prefix = o.key_prefix + "order:";
  c.ttl_ms = o.cache_ttl_ms;
  return c;
}

redis_fanout_channels channels(const redis_node_options& o) {
  return {o.key_prefix + "changes:", o.partitions};
}

redis_fanout_publisher_options fanout_options(const redis_node_options& o) {
  redis_fanout_publisher_options f;
  f.connection.endpoint = o.endpoint;
  f.channels = channels(o);
  f.node = o.node;
  return f;
}

redis_fanout_subscriber_options subscriber_options(const redis_node_options& o) {
  redis_fanout_subscriber_options s;
  s.connection.endpoint = o.endpoint;
  s.channels = channels(o);
  s.node = o.node;
  s.cache_key_prefix = o.key_prefix + "order:";
  return s;
}

}  // namespace

result<std::vector<std::uint32_t>> parse_partition_list(std::string_view text, std::uint32_t count) {
  std::set<std::uint32_t> out;
  if (text == "all") {
    for (std::uint32_t p = 0; p < count; ++p) out.insert(p);
    return std::vector<std::uint32_t>(out.begin(), out.end());
  }
  if (text.empty()) return {errc::invalid_field, "partitions"};
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (comma != std::string_view::npos && text.empty()) return {errc::invalid_field, "partitions"};
    std::uint32_t first = 0, last = 0;
    const auto dash = item.find('-');
    if (dash == std::string_view::npos) {
      if (!parse_u32(item, first)) return {errc::invalid_field, "partitions"};
      last = first;
    } else if (!parse_u32(item.substr(0, dash), first) || !parse_u32(item.substr(dash + 1), last) ||
               last < first) {
      return {errc::invalid_field, "partitions"};
    }
    if (last >= count) return {errc::invalid_field, "partitions"};
    for (std::uint32_t p = first; p <= last; ++p) out.insert(p);
  }
  return std::vector<std::uint32_t>(out.begin(), out.end());
}

result<std::optional<redis_node_options>> redis_node_spec(const std::optional<std::string>& redis,
                                                          const std::optional<std::string>& partitions,
                                                          const std::optional<std::string>& count,
                                                          const std::optional<std::string>& node) {
  if (!redis) {
    if (partitions) return {errc::missing_field, "redis"};  // --partitions needs --redis
    if (count) return {errc::missing_field, "redis"};
    if (node) return {errc::missing_field, "redis"};
    return std::optional<redis_node_options>();
  }
  redis_node_options o;
  auto endpoint = parse_redis_endpoint(*redis);
  if (!endpoint) return {endpoint.error(), endpoint.field()};
  o.endpoint = *endpoint;
  if (count && (!parse_u32(*count, o.partitions) || o.partitions == 0 || o.partitions > 4096))
    return {errc::invalid_field, "partition-count"};
  if (partitions) {
    auto owned = parse_partition_list(*partitions, o.partitions);
    if (!owned) return {owned.error(), owned.field()};
    o.owned = std::move(*owned);
  }
  if (node) {
    if (!id::make(*node)) return {errc::invalid_field, "node"};
    o.node = *node;
  } else {
    // Stable across restarts, so a restarted node reads its own pending
    // entries: "node-" and the partitions it owns.
    o.node = "node-" + (partitions ? *partitions : std::string("ws"));
    for (char& c : o.node)
      if (c == ',') c = '_';
  }
  return std::optional<redis_node_options>(std::move(o));
}

redis_node::redis_node(redis_node_options options, broker& local)
    : options_(std::move(options)),
      cache_(cache_options(options_), &local),
      fanout_(fanout_options(options_), &cache_),
      subscriber_(subscriber_options(options_), local) {}

redis_node::~redis_node() { stop(); }

void redis_node::start(tracker& engine) {
  if (options_.owned.empty() || consumer_) return;
  redis_stream_consumer_options c;
  c.connection.endpoint = options_.endpoint;
  c.streams.stream_prefix = options_.key_prefix + "events:";
  c.streams.partitions = options_.partitions;
  c.group = options_.group;
  c.consumer = options_.node;
  c.partitions = options_.owned;
  c.claim_min_idle_ms = options_.claim_min_idle_ms;
  consumer_ = std::make_unique<redis_stream_consumer>(engine, c);
  stop_.store(false);
  consumer_thread_ = std::thread([this] {
    // A Redis failure stops consuming; what was not acknowledged is
    // redelivered after a restart, so nothing is lost.
    try {
      consumer_->run(stop_);
    } catch (const std::exception& e) {
      consumer_error_ = e.what();
    }
  });
}

void redis_node::stop() {
  stop_.store(true);
  if (consumer_thread_.joinable()) consumer_thread_.join();
  fanout_.flush();
  cache_.flush(3);
}

std::string redis_node::describe() const {
  std::ostringstream out;
  out << "redis node '" << options_.node << "' at " << options_.endpoint.to_string() << ", "
      << options_.partitions << " partitions, consuming ";
  if (options_.owned.empty()) out << "none";
  for (std::size_t i = 0; i < options_.owned.size(); ++i) out << (i ? "," : "") << options_.owned[i];
  if (consumer_ && !consumer_thread_.joinable()) {
    const auto m = consumer_->metrics();
    out << "; consumed " << m.entries_read << " entries (" << m.accepted << " accepted, "
        << m.duplicates << " duplicates, " << m.rejected << " rejected, " << m.shared_copies << " shared copies), acked "
        << m.acked;
  }
  const auto s = subscriber_.metrics();
  out << "; fan-out in " << s.received << " (gaps " << s.gaps << ", repaired " << s.repaired << ")";
  if (!consumer_error_.empty()) out << "; consumer stopped: " << consumer_error_;
  return out.str();
}

}  // namespace xiaoxiang
