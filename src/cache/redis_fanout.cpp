#include "xiaoxiang/cache/redis_fanout.hpp"

#include <chrono>

#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/redis/partition.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang {
namespace {

std::uint64_t steady_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

std::vector<std::string> channel_names(const redis_fanout_channels& c,
                                       const std::vector<std::uint32_t>& partitions) {
  std::vector<std::string> out;
  const std::uint32_t n = std::max(c.partitions, 1u);
  if (partitions.empty())
    for (std::uint32_t p = 0; p < n; ++p) out.push_back(c.channel_prefix + std::to_string(p));
  else
    for (const std::uint32_t p : partitions) out.push_back(c.channel_prefix + std::to_string(p));
  return out;
}

}  // namespace

// ---- publisher ----

redis_fanout_publisher::redis_fanout_publisher(redis_fanout_publisher_options options,
                                               publisher* next)
    : options_(std::move(options)), next_(next), connection_(options_.connection) {
  sender_ = std::thread([this] { run(); });
}

redis_fanout_publisher::~redis_fanout_publisher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  sender_.join();
}

void redis_fanout_publisher::publish(const tracking_state& state, std::uint32_t changed) {
  if (next_) next_->publish(state, changed);
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.max_queued_messages) {
      ++metrics_.dropped;
      return;
    }
    wake = queue_.empty();
    queue_.push_back({state, changed});
    ++enqueued_;
  }
  if (wake) wake_.notify_one();
}

void redis_fanout_publisher::publish_rider(const rider_id& rider, const position_fix& fix) {
  if (next_) next_->publish_rider(rider, fix);
}

void redis_fanout_publisher::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = enqueued_;
  wake_.notify_one();
  done_.wait(lock, [&] { return settled_ >= target; });
}

redis_fanout_publisher_metrics redis_fanout_publisher::metrics() const {
  std::lock_guard lock(mutex_);
  redis_fanout_publisher_metrics m = metrics_;
  m.queued = queue_.size();
  return m;
}

void redis_fanout_publisher::run() {
  std::vector<item> batch;
  std::string payload, channel;
  const std::uint32_t partitions = std::max(options_.channels.partitions, 1u);
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    batch.swap(queue_);
    lock.unlock();
    std::size_t sent = 0;
    bool ok = true;
    try {
      for (const item& it : batch) {
        payload = options_.node;
        payload.push_back('\n');
        encode_delta(it.state, it.changed, payload);
        channel = options_.channels.channel_prefix;
        channel += std::to_string(partition_of(it.state.order.view(), partitions));
        connection_.append({"PUBLISH", channel, payload});
      }
      for (; sent < batch.size(); ++sent) expect_no_error(connection_.get_reply(), "PUBLISH");
    } catch (const error&) {
      ok = false;
    }
    if (!ok) {
      // The batch is lost for the fan-out (receivers repair the gap from the
      // cache); reconnect after a pause. A new connection drops the replies
      // still owed by the old one.
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_after_ms));
      try {
        connection_.reconnect();
      } catch (const error&) {
      }
    }
    lock.lock();
    metrics_.published += sent;
    if (!ok) {
      ++metrics_.failures;
      metrics_.dropped += batch.size() - sent;
    }
    settled_ += batch.size();
    batch.clear();
    done_.notify_all();
  }
}

// ---- subscriber ----

redis_fanout_subscriber::redis_fanout_subscriber(redis_fanout_subscriber_options options,
                                                 broker& local)
    : options_(std::move(options)),
      local_(local),
      connection_(options_.connection),
      cache_(options_.connection, options_.cache_key_prefix) {
  subscribe();
  receiver_ = std::thread([this] { run(); });
}

redis_fanout_subscriber::~redis_fanout_subscriber() {
  stop_.store(true);
  receiver_.join();
}

redis_fanout_subscriber_metrics redis_fanout_subscriber::metrics() const {
  std::lock_guard lock(metrics_mutex_);
  return metrics_;
}

void redis_fanout_subscriber::subscribe() {
  const auto channels = channel_names(options_.channels, options_.partitions);
  std::vector<std::string_view> args{"SUBSCRIBE"};
  for (const auto& c : channels) args.push_back(c);
  connection_.append(args);
  // Wait for every confirmation, so that a caller knows it is live.
  std::size_t confirmed = 0;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(options_.connection.io_timeout_ms);
  while (confirmed < channels.size()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw error(make_error_code(errc::redis_io), "SUBSCRIBE: no confirmation");
    const auto r = connection_.poll_reply(std::chrono::milliseconds(100));
    if (r && r->at(0).text() == "subscribe") ++confirmed;
  }
}

std::uint64_t redis_fanout_subscriber::known_version(const order_id& order) const {
  if (const auto it = delivered_.find(order); it != delivered_.end()) return it->second;
  if (const auto s = local_.snapshot(order)) return s->version;
  return 0;
}

void redis_fanout_subscriber::deliver(const tracking_state& state, std::uint32_t changed) {
  local_.publish(state, changed);
  if (state.status == order_status::completed || state.status == order_status::cancelled)
    delivered_.erase(state.order);  // the broker keeps its version until it forgets it
  else
    delivered_[state.order] = state.version;
}

bool redis_fanout_subscriber::try_repair(const order_id& order, repair& r) {
  std::optional<cached_order> cached;
  try {
    cached = cache_.get(order);
  } catch (const error&) {
    return false;  // retried on the next wake-up
  }
  std::uint64_t known = known_version(order);
  if (cached && cached->version > known && !r.waiting.empty() &&
      cached->version + 1 >= r.waiting.begin()->first) {
    auto decoded = decode_update_json(cached->snapshot);
    if (!decoded) return false;
    deliver(decoded->state, field::all);
    known = cached->version;
    std::lock_guard lock(metrics_mutex_);
    ++metrics_.repaired;
  }
  // Deltas that now follow on.
  while (!r.waiting.empty()) {
    auto it = r.waiting.begin();
    if (it->first <= known) {
      r.waiting.erase(it);
      continue;
    }
    if (it->first != known + 1) return false;
    deliver(it->second.first, it->second.second);
    known = it->first;
    r.waiting.erase(it);
    std::lock_guard lock(metrics_mutex_);
    ++metrics_.delivered;
  }
  return true;
}

void redis_fanout_subscriber::retry_repairs() {
  const std::uint64_t now = steady_ms();
  for (auto it = repairs_.begin(); it != repairs_.end();) {
    if (try_repair(it->first, it->second)) {
      it = repairs_.erase(it);
    } else if (now - it->second.since_ms > static_cast<std::uint64_t>(options_.repair_timeout_ms)) {
      std::lock_guard lock(metrics_mutex_);
      ++metrics_.unrepaired;
      it = repairs_.erase(it);
    } else {
      ++it;
    }
  }
  std::lock_guard lock(metrics_mutex_);
  metrics_.repairing = repairs_.size();
}

void redis_fanout_subscriber::on_message(std::string_view payload) {
  const auto nl = payload.find('\n');
  if (nl == std::string_view::npos) {
    std::lock_guard lock(metrics_mutex_);
    ++metrics_.malformed;
    return;
  }
  if (payload.substr(0, nl) == options_.node) {
    std::lock_guard lock(metrics_mutex_);
    ++metrics_.own_skipped;
    return;
  }
  auto decoded = decode_update_json(payload.substr(nl + 1));
  if (!decoded) {
    std::lock_guard lock(metrics_mutex_);
    ++metrics_.malformed;
    return;
  }
  {
    std::lock_guard lock(metrics_mutex_);
    ++metrics_.received;
  }
  const order_id order = decoded->state.order;
  const std::uint64_t v = decoded->state.version;
  if (auto it = repairs_.find(order); it != repairs_.end()) {
    it->second.waiting.emplace(v, std::make_pair(std::move(decoded->state), decoded->changed));
    if (try_repair(order, it->second)) repairs_.erase(it);
    return;
  }
  const std::uint64_t known = known_version(order);
  if (v <= known) {
    std::lock_guard lock(metrics_mutex_);
    ++metrics_.stale;
    return;
  }
  if (v == known + 1) {
    deliver(decoded->state, decoded->changed);
    std::lock_guard lock(metrics_mutex_);
    ++metrics_.delivered;
    return;
  }
  {
    std::lock_guard lock(metrics_mutex_);
    ++metrics_.gaps;
  }
  repair r;
  r.since_ms = steady_ms();
  r.waiting.emplace(v, std::make_pair(std::move(decoded->state), decoded->changed));
  if (!try_repair(order, r)) repairs_.emplace(order, std::move(r));
}

void redis_fanout_subscriber::run() {
  const auto period = std::chrono::milliseconds(std::max<duration_ms>(options_.poll_ms, 1));
  while (!stop_.load()) {
    try {
      const auto r = connection_.poll_reply(period);
      if (r && r->at(0).text() == "message") on_message(r->at(2).text());
      if (!repairs_.empty()) retry_repairs();
    } catch (const error&) {
      // Lost the subscription: messages meanwhile are missed and show up as
      // gaps, repaired from the cache.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      try {
        connection_.reconnect();
        subscribe();
        std::lock_guard lock(metrics_mutex_);
        ++metrics_.reconnects;
      } catch (const error&) {
      }
    }
  }
}

}  // namespace xiaoxiang
