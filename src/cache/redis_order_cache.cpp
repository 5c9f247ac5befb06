#include "xiaoxiang/cache/redis_order_cache.hpp"

#include <charconv>

#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang {
namespace {

// KEYS[1] the order's hash; ARGV version, snapshot, ttl ms. Writes only a
// newer version; the TTL restarts with every write.
constexpr const char* kWriteScript =
    "local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0') "
    "if tonumber(ARGV[1]) > v then "
    "redis.call('HSET', KEYS[1], 'version', ARGV[1], 'snapshot', ARGV[2]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[3]) return 1 end return 0";

std::uint64_t to_u64(std::string_view s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

redis_order_cache::redis_order_cache(redis_order_cache_options options, publisher* next)
    : options_(std::move(options)), next_(next), connection_(options_.connection) {
  script_sha_ = std::string(
      expect_no_error(connection_.command({"SCRIPT", "LOAD", kWriteScript}), "SCRIPT LOAD").text());
  writer_ = std::thread([this] { run(); });
}

redis_order_cache::~redis_order_cache() {
  flush(3);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

void redis_order_cache::publish(const tracking_state& state, std::uint32_t changed) {
  if (next_) next_->publish(state, changed);
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    ++metrics_.published;
    auto it = pending_.find(state.order);
    if (it != pending_.end()) {
      if (state.version > it->second.version) it->second = state;
      ++metrics_.coalesced;
      ++settled_;  // the older copy will never be written
      ++enqueued_;
      return;
    }
    if (pending_.size() >= options_.max_pending_orders) {
      ++metrics_.dropped;
      return;
    }
    wake = pending_.empty();
    pending_.emplace(state.order, state);
    ++enqueued_;
  }
  if (wake) wake_.notify_one();
}

void redis_order_cache::publish_rider(const rider_id& rider, const position_fix& fix) {
  if (next_) next_->publish_rider(rider, fix);
}

bool redis_order_cache::flush(int attempts) {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = enqueued_;
  const std::uint64_t failures_at_start = metrics_.failures;
  wake_.notify_one();
  done_.wait(lock, [&] {
    return settled_ >= target || stopping_ ||
           metrics_.failures - failures_at_start >= static_cast<std::uint64_t>(attempts);
  });
  return settled_ >= target;
}

redis_cache_metrics redis_order_cache::metrics() const {
  std::lock_guard lock(mutex_);
  redis_cache_metrics m = metrics_;
  m.pending = pending_.size();
  return m;
}

void redis_order_cache::write(std::unordered_map<order_id, tracking_state>& batch) {
  const std::string ttl = std::to_string(options_.ttl_ms);
  std::string key, version, json;
  std::size_t in_flight = 0;
  auto drain = [&] {
    for (; in_flight > 0; --in_flight) {
      expect_no_error(connection_.get_reply(), "cache write");
    }
  };
  // After a Redis restart the script is gone: load it again first.
  const redis_value exists = connection_.command({"SCRIPT", "EXISTS", script_sha_});
  if (exists.at(0).integer != 1)
    script_sha_ = std::string(expect_no_error(
        connection_.command({"SCRIPT", "LOAD", kWriteScript}), "SCRIPT LOAD").text());
  for (const auto& [order, state] : batch) {
    key = options_.key_prefix;
    key.append(order.view());
    version = std::to_string(state.version);
    json.clear();
    encode_snapshot(state, json);
    connection_.append({"EVALSHA", script_sha_, "1", key, version, json, ttl});
    if (++in_flight >= options_.batch_orders) drain();
  }
  drain();
}

void redis_order_cache::run() {
  std::unordered_map<order_id, tracking_state> batch;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty() && stopping_) return;
    if (stopping_ && failures_in_row_ > 0) {
      // Stopping with Redis down: give up what is pending.
      settled_ += pending_.size();
      pending_.clear();
      done_.notify_all();
      return;
    }
    batch.swap(pending_);
    lock.unlock();
    bool ok = true;
    try {
      write(batch);
    } catch (const error&) {
      ok = false;
    }
    lock.lock();
    if (ok) {
      metrics_.written += batch.size();
      settled_ += batch.size();
      failures_in_row_ = 0;
      batch.clear();
    } else {
      ++metrics_.failures;
      ++failures_in_row_;
      // Put the batch back unless a newer version arrived meanwhile.
      for (auto& [order, state] : batch) {
        auto it = pending_.find(order);
        if (it == pending_.end()) {
          pending_.emplace(order, std::move(state));
        } else {
          if (state.version > it->second.version) it->second = std::move(state);
          ++settled_;
        }
      }
      batch.clear();
      done_.notify_all();
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_after_ms));
      try {
        connection_.reconnect();
      } catch (const error&) {  // still down: the next round fails and waits again
      }
      lock.lock();
      continue;
    }
    done_.notify_all();
  }
}

redis_order_cache_reader::redis_order_cache_reader(redis_connection_options connection,
                                                   std::string key_prefix)
    : connection_(std::move(connection)), prefix_(std::move(key_prefix)) {}

std::optional<cached_order> redis_order_cache_reader::get(const order_id& order) {
  std::string key = prefix_;
  key.append(order.view());
  connection_.append({"HMGET", key, "version", "snapshot"});
  connection_.append({"PTTL", key});
  const redis_value fields = connection_.get_reply();
  const redis_value ttl = connection_.get_reply();  // both read: the pipeline stays in step
  expect_no_error(fields, "HMGET");
  expect_no_error(ttl, "PTTL");
  if (fields.at(0).is_nil() || fields.at(1).is_nil()) return std::nullopt;
  cached_order c;
  c.version = to_u64(fields.at(0).text());
  c.snapshot = std::string(fields.at(1).text());
  c.ttl_ms = ttl.integer;
  return c;
}

}  // namespace xiaoxiang
