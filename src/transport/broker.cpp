#include "xiaoxiang/transport/broker.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "xiaoxiang/transport/binary_codec.hpp"

namespace xiaoxiang {

// ---------------------------------------------------------------------------
// Subscription state and the thread-local bookkeeping of delivery.

// The fields every delivery touches come first, so that with make_shared's
// control block they share the first two cache lines.
struct subscription::state {
  std::mutex delivering;               // held while a callback of this subscription runs
  std::atomic<bool> active{true};
  std::uint64_t last_version = 0;      // guarded by `delivering`
  message_callback callback;
  std::string topic;
  std::weak_ptr<broker::impl> owner;
  order_id order;
  bool riders = false;
};

namespace {

using sub_ptr = std::shared_ptr<subscription::state>;

// The subscriptions whose callbacks run on this thread right now (nested
// when a callback subscribes and gets a replay), so that unsubscribing one of
// them from inside does not wait for itself.
constexpr std::size_t kMaxNesting = 16;
thread_local std::array<const subscription::state*, kMaxNesting> tl_running{};
thread_local std::size_t tl_running_count = 0;

bool running_on_this_thread(const subscription::state* s) {
  for (std::size_t i = 0; i < std::min(tl_running_count, kMaxNesting); ++i)
    if (tl_running[i] == s) return true;
  return false;
}

// Per-thread buffers reused by every publish, so steady-state publishing
// does not allocate. Indexed by nesting depth: a callback that subscribes
// (and so encodes a snapshot) must not overwrite the body being delivered.
struct scratch {
  std::string json, binary, snapshot_json, snapshot_binary;
  std::vector<sub_ptr> subs;
};
thread_local std::vector<std::unique_ptr<scratch>> tl_scratch;
thread_local std::size_t tl_scratch_depth = 0;

class scratch_guard {
 public:
  scratch_guard() {
    if (tl_scratch.size() <= tl_scratch_depth) tl_scratch.push_back(std::make_unique<scratch>());
    s_ = tl_scratch[tl_scratch_depth++].get();
  }
  ~scratch_guard() {
    s_->subs.clear();  // keeps capacity, releases the subscriptions
    --tl_scratch_depth;
  }
  scratch_guard(const scratch_guard&) = delete;
  scratch_guard& operator=(const scratch_guard&) = delete;
  scratch& get() { return *s_; }

 private:
  scratch* s_;
};

// One message of a history: where its bytes sit in the arena.
struct history_entry {
  std::uint64_t version;
  std::uint32_t offset;
  std::uint16_t json_len;    // a message is < 2 KiB (ids and a 255-byte address)
  std::uint16_t binary_len;
};

// The buffers of forgotten orders' histories, kept by their shard for its
// next orders. A delivery day is a churn of orders created and forgotten;
// without the pool every new order grew its arena and ring through the
// allocator, a call to malloc for about every position published. The pool
// holds only buffers that were in use before, so it never raises the peak.
struct history_pool {
  static constexpr std::size_t kMaxSpare = 256;  // per shard
  std::vector<std::vector<char>> arenas;
  std::vector<std::vector<history_entry>> rings;
};

// The bounded resume history of one order: the encoded deltas of the last
// versions, contiguous, in one byte arena used as a ring (a message never
// wraps: when it does not fit at the end, writing restarts at offset 0 and
// the older messages it overlaps are evicted). Both bounds hold at once:
// at most `max_messages` entries and `max_bytes` bytes. An order's first
// message takes both buffers at their caps (from the pool when it has them),
// so a publish never reallocates them.
class order_history {
 public:
  using entry = history_entry;
  static constexpr std::size_t kMaxMessageBytes = 0xFFFF;

  void clear() noexcept {
    head_ = count_ = 0;
    write_ = 0;
  }
  // Empties the history and gives its buffers back to `pool` (or frees them
  // when the pool is full).
  void release(history_pool& pool) {
    clear();
    if (arena_.capacity() > 0 && pool.arenas.size() < history_pool::kMaxSpare)
      pool.arenas.push_back(std::move(arena_));
    if (ring_.capacity() > 0 && pool.rings.size() < history_pool::kMaxSpare) {
      ring_.clear();
      pool.rings.push_back(std::move(ring_));
    }
    std::vector<char>().swap(arena_);
    std::vector<entry>().swap(ring_);
  }

  std::size_t size() const noexcept { return count_; }
  std::uint64_t oldest() const noexcept { return ring_[head_].version; }
  std::uint64_t newest() const noexcept { return oldest() + count_ - 1; }

  // Whether versions from..newest() are all held. Requires: size() > 0.
  bool covers_from(std::uint64_t from) const noexcept {
    return count_ > 0 && from >= oldest() && from <= newest();
  }

  const entry& at_version(std::uint64_t v) const noexcept {
    return ring_[(head_ + (v - oldest())) % ring_.size()];
  }
  std::string_view json(const entry& e) const noexcept {
    return {arena_.data() + e.offset, e.json_len};
  }
  std::string_view binary(const entry& e) const noexcept {
    return {arena_.data() + e.offset + e.json_len, e.binary_len};
  }

  // Appends the message of `version`. Requires: version == newest() + 1 or
  // the history is empty; the caps are the same on every call.
  void append(std::uint64_t version, std::string_view json, std::string_view bin,
              std::size_t max_messages, std::size_t max_bytes, history_pool& pool) {
    const std::size_t len = json.size() + bin.size();
    if (max_messages == 0 || len > max_bytes || json.size() > kMaxMessageBytes ||
        bin.size() > kMaxMessageBytes) {
      clear();  // cannot hold it: resume from before it will get a snapshot
      return;
    }
    if (ring_.empty()) take_buffers(max_messages, max_bytes, pool);
    if (write_ + len > arena_.size()) {
      // Wrap: the messages from write_ to the end are the oldest lap.
      while (count_ > 0 && ring_[head_].offset >= write_) pop_oldest();
      write_ = 0;
    }
    while (count_ > 0 && (count_ == ring_.size() || overlaps(ring_[head_], write_, len)))
      pop_oldest();
    std::copy(json.begin(), json.end(), arena_.begin() + static_cast<std::ptrdiff_t>(write_));
    std::copy(bin.begin(), bin.end(),
              arena_.begin() + static_cast<std::ptrdiff_t>(write_ + json.size()));
    const std::size_t slot = (head_ + count_) % ring_.size();
    ring_[slot] = entry{version, static_cast<std::uint32_t>(write_),
                        static_cast<std::uint16_t>(json.size()),
                        static_cast<std::uint16_t>(bin.size())};
    ++count_;
    write_ += len;
  }

 private:
  void take_buffers(std::size_t max_messages, std::size_t max_bytes, history_pool& pool) {
    if (arena_.empty() && !pool.arenas.empty()) {
      arena_ = std::move(pool.arenas.back());
      pool.arenas.pop_back();
    }
    if (ring_.capacity() == 0 && !pool.rings.empty()) {
      ring_ = std::move(pool.rings.back());
      pool.rings.pop_back();
    }
    arena_.resize(max_bytes);
    ring_.resize(max_messages);
    head_ = count_ = 0;
    write_ = 0;
  }
  static bool overlaps(const entry& e, std::size_t from, std::size_t len) noexcept {
    return e.offset < from + len && e.offset + e.json_len + e.binary_len > from;
  }
  void pop_oldest() noexcept {
    head_ = (head_ + 1) % ring_.size();
    --count_;
  }

  std::vector<char> arena_;
  std::vector<entry> ring_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t write_ = 0;
};

struct order_entry {
  tracking_state state;
  bool has_state = false;
  timestamp_ms terminal_since = -1;  // when it became Completed/Cancelled
  order_history history;
  std::vector<sub_ptr> subs;
};

// Counters live with their shard so that two threads publishing to
// different shards never write the same cache line.
struct shard_counters {
  std::atomic<std::uint64_t> published{0}, encodes{0}, deliveries{0}, snapshots{0},
      resumed{0}, forgotten{0}, orders{0};
  void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.fetch_add(n, std::memory_order_relaxed);
  }
};

struct alignas(64) shard {
  mutable std::mutex mu;
  std::unordered_map<order_id, order_entry> orders;
  std::deque<std::pair<order_id, timestamp_ms>> terminal;  // in the order they became terminal
  history_pool spare_histories;
  mutable shard_counters counters;
};

std::size_t round_up_pow2(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

const system_clock kSystemClock;

// Runs one callback with the bookkeeping that makes self-unsubscribe safe.
// Requires: s.delivering is held by this thread. Returns false when the
// callback threw (counted, not propagated: one broken client must not break
// the engine's publish).
bool invoke(subscription::state& s, const message_view& m) noexcept {
  const std::size_t depth = tl_running_count++;
  if (depth < kMaxNesting) tl_running[depth] = &s;
  bool ok = true;
  try {
    s.callback(m);
  } catch (...) {
    ok = false;
  }
  --tl_running_count;
  return ok;
}

}  // namespace

// ---------------------------------------------------------------------------

struct broker::impl : std::enable_shared_from_this<broker::impl> {
  broker_options options;
  const clock* time;
  std::vector<shard> shards;
  std::size_t shard_mask;

  std::atomic<std::shared_ptr<const std::vector<sub_ptr>>> riders_subs;
  std::mutex riders_mu;  // serialises writers of riders_subs
  std::atomic<std::uint64_t> rider_published{0}, rider_encodes{0}, rider_deliveries{0};
  std::atomic<std::uint64_t> subscriptions{0}, subscriptions_total{0}, callback_failures{0};

  explicit impl(broker_options o)
      : options(o),
        time(o.time_source ? o.time_source : &kSystemClock),
        shards(round_up_pow2(std::max<std::size_t>(o.shard_count, 1))),
        shard_mask(shards.size() - 1) {
    options.shard_count = shards.size();
    riders_subs.store(std::make_shared<const std::vector<sub_ptr>>());
  }

  shard& shard_of(const order_id& order) noexcept {
    return shards[static_cast<std::size_t>(order.hash()) & shard_mask];
  }
  const shard& shard_of(const order_id& order) const noexcept {
    return shards[static_cast<std::size_t>(order.hash()) & shard_mask];
  }

  // Requires: sh.mu held.
  void forget_locked(shard& sh, std::unordered_map<order_id, order_entry>::iterator it) {
    order_entry& e = it->second;
    if (e.has_state) sh.counters.orders.fetch_sub(1, std::memory_order_relaxed);
    e.has_state = false;
    e.terminal_since = -1;
    e.history.release(sh.spare_histories);
    if (e.subs.empty()) sh.orders.erase(it);
    sh.counters.add(sh.counters.forgotten);
  }

  // Requires: sh.mu held.
  std::size_t sweep_locked(shard& sh, timestamp_ms now) {
    std::size_t n = 0;
    while (!sh.terminal.empty() &&
           now - sh.terminal.front().second >= options.forget_terminal_after_ms) {
      const auto [order, since] = sh.terminal.front();
      sh.terminal.pop_front();
      const auto it = sh.orders.find(order);
      // Skip stale queue entries (forgotten already, or published again).
      if (it == sh.orders.end() || !it->second.has_state || it->second.terminal_since != since)
        continue;
      forget_locked(sh, it);
      ++n;
    }
    return n;
  }

  void publish(const tracking_state& state, std::uint32_t changed) {
    assert(!state.order.empty() && "Requires: a published state has an order id");
    shard& sh = shard_of(state.order);
    scratch_guard guard;
    scratch& sc = guard.get();
    // Encode once, before taking the lock: the state passed in is all it needs.
    sc.json.clear();
    encode_delta(state, changed, sc.json);
    std::uint64_t encodes = 1;
    sc.binary.clear();
    if (options.encode_binary) {
      encode_delta_binary(state, changed, sc.binary);
      ++encodes;
    }
    {
      std::lock_guard lock(sh.mu);
      order_entry& e = sh.orders.try_emplace(state.order).first->second;
      // A version that does not follow the stored one (a restarted engine,
      // a lost publish) breaks the history: resume across it needs a snapshot.
      const bool follows = e.has_state && state.version == e.state.version + 1;
      if (!follows) e.history.clear();
      if (!e.has_state) sh.counters.add(sh.counters.orders);
      // Copying only the changed groups touches a few cache lines instead
      // of the whole state: with 100,000 orders the copy is memory-bound.
      if (follows) apply_delta(e.state, state, changed);
      else e.state = state;
      e.has_state = true;
      e.history.append(state.version, sc.json, sc.binary, options.history_messages,
                       options.history_bytes, sh.spare_histories);
      const bool terminal = is_terminal(state.status);
      if (!terminal) e.terminal_since = -1;
      sc.subs.assign(e.subs.begin(), e.subs.end());
      // The clock is read only when a terminal order is involved: most
      // publishes are positions of active orders.
      if (terminal || !sh.terminal.empty()) {
        const timestamp_ms now = time->now();
        if (terminal && e.terminal_since < 0) {
          e.terminal_since = now;
          sh.terminal.emplace_back(state.order, now);
        }
        sweep_locked(sh, now);  // may erase `e`: not used after this
      }
    }
    sh.counters.add(sh.counters.published);

    std::uint64_t delivered = 0, snapshots = 0;
    bool snapshot_ready = false;
    for (const sub_ptr& s : sc.subs) {
      std::lock_guard lock(s->delivering);
      if (!s->active.load(std::memory_order_acquire)) continue;
      message_view m;
      m.topic = s->topic;
      m.version = state.version;
      if (s->last_version + 1 == state.version) {
        m.kind = message_kind::delta;
        m.body = sc.json;
        m.binary = sc.binary;
      } else {
        // This subscriber's baseline is not version-1: a delta would hide a
        // gap, so it gets the full state (encoded once per publish).
        if (!snapshot_ready) {
          sc.snapshot_json.clear();
          encode_snapshot(state, sc.snapshot_json);
          ++encodes;
          sc.snapshot_binary.clear();
          if (options.encode_binary) {
            encode_snapshot_binary(state, sc.snapshot_binary);
            ++encodes;
          }
          snapshot_ready = true;
        }
        m.kind = message_kind::snapshot;
        m.body = sc.snapshot_json;
        m.binary = sc.snapshot_binary;
        ++snapshots;
      }
      s->last_version = state.version;
      if (!invoke(*s, m)) callback_failures.fetch_add(1, std::memory_order_relaxed);
      ++delivered;
    }
    sh.counters.add(sh.counters.encodes, encodes);
    if (delivered) sh.counters.add(sh.counters.deliveries, delivered);
    if (snapshots) sh.counters.add(sh.counters.snapshots, snapshots);
  }

  void publish_rider(const rider_id& rider, const position_fix& fix) {
    scratch_guard guard;
    scratch& sc = guard.get();
    sc.json.clear();
    encode_rider_position(rider, fix, sc.json);
    rider_published.fetch_add(1, std::memory_order_relaxed);
    rider_encodes.fetch_add(1, std::memory_order_relaxed);
    const auto subs = riders_subs.load(std::memory_order_acquire);
    std::uint64_t delivered = 0;
    for (const sub_ptr& s : *subs) {
      std::lock_guard lock(s->delivering);
      if (!s->active.load(std::memory_order_acquire)) continue;
      message_view m;
      m.topic = s->topic;
      m.body = sc.json;
      if (!invoke(*s, m)) callback_failures.fetch_add(1, std::memory_order_relaxed);
      ++delivered;
    }
    if (delivered) rider_deliveries.fetch_add(delivered, std::memory_order_relaxed);
  }

  struct replay_message {
    std::string json, binary;
    std::uint64_t version;
    message_kind kind;
  };

  result<subscription> subscribe(std::string_view topic, std::optional<std::uint64_t> since,
                                 message_callback callback) {
    auto s = std::make_shared<subscription::state>();
    constexpr std::string_view kOrderPrefix = "/topic/orders/";
    if (topic == riders_topic) {
      s->riders = true;
    } else if (topic.substr(0, kOrderPrefix.size()) == kOrderPrefix) {
      auto order = id::make(topic.substr(kOrderPrefix.size()), "orderId");
      if (!order) return {order.error(), order.field()};
      s->order = *order;
    } else {
      return {errc::invalid_field, "topic"};
    }
    s->owner = weak_from_this();
    s->topic.assign(topic);
    s->callback = std::move(callback);
    subscriptions.fetch_add(1, std::memory_order_relaxed);
    subscriptions_total.fetch_add(1, std::memory_order_relaxed);

    if (s->riders) {
      std::lock_guard lock(riders_mu);
      auto next = std::make_shared<std::vector<sub_ptr>>(*riders_subs.load());
      next->push_back(s);
      riders_subs.store(std::move(next), std::memory_order_release);
      return subscription(s);
    }

    // Holding `delivering` from before the subscriber is visible until the
    // replay is done keeps live deltas from overtaking the replay.
    std::unique_lock delivering(s->delivering);
    std::vector<replay_message> replay;
    std::optional<tracking_state> snapshot_of;
    shard& sh = shard_of(s->order);
    {
      std::lock_guard lock(sh.mu);
      order_entry& e = sh.orders.try_emplace(s->order).first->second;
      if (e.has_state) {
        const std::uint64_t v = e.state.version;
        if (since && *since == v) {
          // Up to date: live deltas only.
        } else if (since && *since < v && e.history.size() > 0 &&
                   e.history.covers_from(*since + 1) && e.history.newest() == v) {
          for (std::uint64_t x = *since + 1; x <= v; ++x) {
            const auto& h = e.history.at_version(x);
            replay.push_back({std::string(e.history.json(h)), std::string(e.history.binary(h)), x,
                              message_kind::delta});
          }
        } else {
          snapshot_of = e.state;
        }
        s->last_version = v;
      } else {
        s->last_version = since.value_or(0);
      }
      e.subs.push_back(s);
    }
    shard_counters& c = sh.counters;
    if (snapshot_of) {
      replay_message m{{}, {}, snapshot_of->version, message_kind::snapshot};
      encode_snapshot(*snapshot_of, m.json);
      c.add(c.encodes);
      if (options.encode_binary) {
        encode_snapshot_binary(*snapshot_of, m.binary);
        c.add(c.encodes);
      }
      replay.push_back(std::move(m));
      c.add(c.snapshots);
    } else if (!replay.empty()) {
      c.add(c.resumed, replay.size());
    }
    for (const replay_message& r : replay) {
      if (!s->active.load(std::memory_order_acquire)) break;  // unsubscribed itself
      message_view m;
      m.topic = s->topic;
      m.body = r.json;
      m.binary = r.binary;
      m.version = r.version;
      m.kind = r.kind;
      if (!invoke(*s, m)) callback_failures.fetch_add(1, std::memory_order_relaxed);
      c.add(c.deliveries);
    }
    return subscription(s);
  }

  void remove(const sub_ptr& s) {
    subscriptions.fetch_sub(1, std::memory_order_relaxed);
    if (s->riders) {
      std::lock_guard lock(riders_mu);
      auto next = std::make_shared<std::vector<sub_ptr>>(*riders_subs.load());
      std::erase(*next, s);
      riders_subs.store(std::move(next), std::memory_order_release);
      return;
    }
    shard& sh = shard_of(s->order);
    std::lock_guard lock(sh.mu);
    const auto it = sh.orders.find(s->order);
    if (it == sh.orders.end()) return;
    auto& subs = it->second.subs;
    const auto pos = std::find(subs.begin(), subs.end(), s);
    if (pos != subs.end()) {
      *pos = std::move(subs.back());
      subs.pop_back();
    }
    if (subs.empty() && !it->second.has_state) sh.orders.erase(it);
  }
};

// ---------------------------------------------------------------------------

subscription& subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    state_ = std::move(other.state_);
  }
  return *this;
}

subscription::~subscription() { unsubscribe(); }

void subscription::unsubscribe() noexcept {
  if (!state_) return;
  const sub_ptr s = std::move(state_);
  state_.reset();
  if (s->active.exchange(false, std::memory_order_acq_rel)) {
    if (auto owner = s->owner.lock()) {
      try {
        owner->remove(s);
      } catch (...) {
        // remove() allocates only for the riders list copy; if that fails
        // the subscription stays listed but inactive, so nothing is delivered.
      }
    }
  }
  // Wait for a callback running on another thread; from inside the
  // callback itself, it finishes normally.
  if (!running_on_this_thread(s.get())) std::lock_guard wait(s->delivering);
}

bool subscription::active() const noexcept {
  return state_ && state_->active.load(std::memory_order_acquire);
}

broker::broker(broker_options options) : impl_(std::make_shared<impl>(options)) {}

broker::~broker() = default;

void broker::publish(const tracking_state& state, std::uint32_t changed) {
  impl_->publish(state, changed);
}

void broker::publish_rider(const rider_id& rider, const position_fix& fix) {
  impl_->publish_rider(rider, fix);
}

result<subscription> broker::subscribe(std::string_view topic,
                                       std::optional<std::uint64_t> since_version,
                                       message_callback callback) {
  return impl_->subscribe(topic, since_version, std::move(callback));
}

result<tracking_state> broker::snapshot(const order_id& order) const {
  const shard& sh = impl_->shard_of(order);
  std::lock_guard lock(sh.mu);
  const auto it = sh.orders.find(order);
  if (it == sh.orders.end() || !it->second.has_state) return {errc::unknown_order, "orderId"};
  return it->second.state;
}

result<update_batch> broker::updates_since(const order_id& order, std::uint64_t since,
                                           std::string& out) const {
  const shard& sh = impl_->shard_of(order);
  std::lock_guard lock(sh.mu);
  const auto it = sh.orders.find(order);
  if (it == sh.orders.end() || !it->second.has_state) return {errc::unknown_order, "orderId"};
  const order_entry& e = it->second;
  update_batch batch;
  batch.latest_version = e.state.version;
  out.push_back('[');
  if (since == e.state.version) {
    // Up to date.
  } else if (since < e.state.version && e.history.covers_from(since + 1) &&
             e.history.newest() == e.state.version) {
    for (std::uint64_t x = since + 1; x <= e.state.version; ++x) {
      if (batch.messages++) out.push_back(',');
      out.append(e.history.json(e.history.at_version(x)));
    }
  } else {
    encode_snapshot(e.state, out);
    sh.counters.add(sh.counters.encodes);
    sh.counters.add(sh.counters.snapshots);
    batch.messages = 1;
    batch.snapshot = true;
  }
  out.push_back(']');
  return batch;
}

std::vector<tracking_state> broker::orders(std::size_t limit) const {
  std::vector<tracking_state> out;
  if (limit == 0) return out;
  for (const shard& sh : impl_->shards) {
    std::lock_guard lock(sh.mu);
    for (const auto& [id, e] : sh.orders)
      if (e.has_state) out.push_back(e.state);
  }
  const auto newer = [](const tracking_state& a, const tracking_state& b) {
    if (a.create_time != b.create_time) return a.create_time > b.create_time;
    return a.order < b.order;
  };
  if (out.size() > limit) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(limit), out.end(), newer);
    out.resize(limit);
  } else {
    std::sort(out.begin(), out.end(), newer);
  }
  return out;
}

void broker::forget(const order_id& order) {
  shard& sh = impl_->shard_of(order);
  std::lock_guard lock(sh.mu);
  const auto it = sh.orders.find(order);
  if (it == sh.orders.end() || !it->second.has_state) return;
  impl_->forget_locked(sh, it);
}

std::size_t broker::sweep() {
  const timestamp_ms now = impl_->time->now();
  std::size_t n = 0;
  for (shard& sh : impl_->shards) {
    std::lock_guard lock(sh.mu);
    n += impl_->sweep_locked(sh, now);
  }
  return n;
}

broker_metrics broker::metrics() const {
  broker_metrics m;
  for (const shard& sh : impl_->shards) {
    const shard_counters& c = sh.counters;
    m.published += c.published.load(std::memory_order_relaxed);
    m.encodes += c.encodes.load(std::memory_order_relaxed);
    m.deliveries += c.deliveries.load(std::memory_order_relaxed);
    m.snapshots_sent += c.snapshots.load(std::memory_order_relaxed);
    m.resumed_from_history += c.resumed.load(std::memory_order_relaxed);
    m.forgotten += c.forgotten.load(std::memory_order_relaxed);
    m.orders += c.orders.load(std::memory_order_relaxed);
  }
  m.rider_published = impl_->rider_published.load(std::memory_order_relaxed);
  m.encodes += impl_->rider_encodes.load(std::memory_order_relaxed);
  m.deliveries += impl_->rider_deliveries.load(std::memory_order_relaxed);
  m.subscriptions = impl_->subscriptions.load(std::memory_order_relaxed);
  m.subscriptions_total = impl_->subscriptions_total.load(std::memory_order_relaxed);
  m.callback_failures = impl_->callback_failures.load(std::memory_order_relaxed);
  return m;
}

const broker_options& broker::options() const noexcept { return impl_->options; }

}  // namespace xiaoxiang
