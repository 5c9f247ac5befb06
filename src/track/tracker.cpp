#include "xiaoxiang/track/tracker.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "order_monitor.hpp"
#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {

const char* ingest_status_name(ingest_status s) noexcept {
  switch (s) {
    case ingest_status::accepted: return "accepted";
    case ingest_status::duplicate: return "duplicate";
    case ingest_status::rejected: return "rejected";
  }
  return "unknown";
}

std::string ingest_result::message() const {
  switch (status) {
    case ingest_status::accepted: return "accepted v" + std::to_string(version);
    case ingest_status::duplicate: return "duplicate";
    case ingest_status::rejected: return "rejected: " + describe(code, field);
  }
  return "unknown";
}

namespace {

constexpr std::size_t kMaxAddressBytes = 255;
constexpr std::size_t kRiderRecentEvents = 32;  // position event ids remembered per rider
constexpr std::size_t kRiderRecentFixes = 32;   // fixes remembered per rider (duplicate filter)
constexpr std::size_t kMaxBatchFixes = 10'000;  // 41 hours of fixes every 15 s
constexpr std::uint64_t kSweepEvery = 8192;     // events of a partition between evictions
// Timestamps beyond the year 2500 are not milliseconds since 1970.
constexpr timestamp_ms kMaxTimestamp = 16'725'225'600'000;

ingest_result rejected(std::error_code code, const char* field) {
  ingest_result r;
  r.status = ingest_status::rejected;
  r.code = code;
  r.field = field;
  return r;
}

ingest_result duplicate() {
  ingest_result r;
  r.status = ingest_status::duplicate;
  r.code = errc::duplicate_event;
  r.field = "eventId";
  return r;
}

// Fingerprint of an event id for duplicate detection. 64 bits: two
// different ids of one order or rider collide with probability ~2^-59.
std::uint64_t fingerprint(const event_id& e) noexcept { return e.hash() | 1; }

std::size_t shard_of(const id& key, std::size_t shards) noexcept {
  // Mix the FNV hash's high bits in: FNV's low bits are weak for short keys.
  const std::uint64_t h = key.hash();
  return static_cast<std::size_t>((h ^ (h >> 29)) % shards);
}

// An open-addressing index from an id to a slot kept in a stable array: the
// probe table holds 8-byte entries (32 bits of the mixed id hash and the
// slot's number), probed linearly with backward-shift deletion; slots live
// in fixed-size chunks so they never move and erased ones are reused. One
// lookup touches the probe table and the slot, instead of a node-based
// map's bucket array, node chain and an uncached hash per node.
// `key_of(slot)` returns the slot's id (the full id confirms a tag hit).
template <class Slot, const id& (*key_of)(const Slot&)>
class slot_table {
 public:
  Slot* find(const id& key) noexcept {
    if (entries_.empty()) return nullptr;
    const std::uint32_t tag = tag_of(key);
    for (std::size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const entry& en = entries_[i];
      if (en.slot == 0) return nullptr;
      if (en.tag == tag) {
        Slot& s = at(en.slot - 1);
        if (key_of(s) == key) return &s;
      }
    }
  }
  const Slot* find(const id& key) const noexcept { return const_cast<slot_table*>(this)->find(key); }

  // The slot of `key`, default-constructed when new (`inserted` says so; the
  // caller then stores the key in it before the next lookup).
  Slot& find_or_insert(const id& key, bool& inserted) {
    inserted = false;
    if (Slot* s = find(key)) return *s;
    if ((size_ + 1) * 2 > entries_.size()) grow();
    std::uint32_t number;
    if (!free_.empty()) {
      number = free_.back();
      free_.pop_back();
    } else {
      number = static_cast<std::uint32_t>(used_.size());
      if (number % kChunk == 0) chunks_.push_back(std::make_unique<Slot[]>(kChunk));
      used_.push_back(0);
    }
    used_[number] = 1;
    place(tag_of(key), number + 1);
    ++size_;
    inserted = true;
    return at(number);
  }

  // Removes the slot (found by find) and resets it for reuse.
  void erase(Slot& s) {
    const id& key = key_of(s);
    const std::uint32_t tag = tag_of(key);
    std::size_t i = tag & mask_;
    for (;; i = (i + 1) & mask_) {
      if (entries_[i].tag == tag && &at(entries_[i].slot - 1) == &s) break;
    }
    const std::uint32_t number = entries_[i].slot - 1;
    // Backward shift: pull later entries of the run into the hole.
    for (std::size_t j = i;;) {
      j = (j + 1) & mask_;
      if (entries_[j].slot == 0) break;
      const std::size_t home = entries_[j].tag & mask_;
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      entries_[i] = entries_[j];
      i = j;
    }
    entries_[i] = entry{};
    s = Slot{};
    used_[number] = 0;
    free_.push_back(number);
    --size_;
  }

  // Calls f(slot) for every slot in use; f may erase the slot it is given.
  template <class F>
  void for_each(F&& f) {
    for (std::size_t n = 0; n < used_.size(); ++n)
      if (used_[n]) f(at(static_cast<std::uint32_t>(n)));
  }

  std::size_t size() const noexcept { return size_; }

 private:
  static constexpr std::uint32_t kChunk = 16;
  struct entry {
    std::uint32_t tag = 0;
    std::uint32_t slot = 0;  // slot number + 1; 0: empty
  };

  static std::uint32_t tag_of(const id& key) noexcept {
    // FNV's low bits are weak for short keys (and partitions already fixed
    // some of them): mix before taking the bucket.
    std::uint64_t h = key.hash();
    h ^= h >> 32;
    h *= 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    return static_cast<std::uint32_t>(h >> 32);
  }
  Slot& at(std::uint32_t number) const noexcept { return chunks_[number / kChunk][number % kChunk]; }
  void place(std::uint32_t tag, std::uint32_t slot) noexcept {
    std::size_t i = tag & mask_;
    while (entries_[i].slot != 0) i = (i + 1) & mask_;
    entries_[i] = entry{tag, slot};
  }
  void grow() {
    std::vector<entry> old = std::move(entries_);
    entries_.assign(old.empty() ? 16 : old.size() * 2, entry{});
    mask_ = entries_.size() - 1;
    for (const entry& en : old)
      if (en.slot != 0) place(en.tag, en.slot);
  }

  std::vector<entry> entries_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::vector<std::uint8_t> used_;
  std::vector<std::uint32_t> free_;
};

struct order_slot {
  order row;                    // the orders-table state
  tracking_state view;          // what watchers see
  std::vector<std::uint64_t> events;  // fingerprints of applied non-position events
  std::vector<geo_point> route;       // planned route while Delivering (monitoring off;
                                      // with it on, the monitor holds the route)
  timestamp_ms assigned_at = 0;       // device time of rider_assigned
  timestamp_ms terminal_at = 0;       // clock time it became terminal (eviction)
  // ETA and detectors, from payment until the order is terminal (allocated
  // once per order, not per update).
  std::unique_ptr<detail::order_monitor> monitor;

  bool has_event(std::uint64_t fp) const noexcept {
    return std::find(events.begin(), events.end(), fp) != events.end();
  }
};

// The watcher's view of an order as far as the orders row tells it (a new
// order, or one recovered after a restart).
void view_from_row(tracking_state& v, const order& row) {
  v.order = row.id;
  v.version = row.version;
  v.status = row.status;
  v.address = row.address;
  v.create_time = row.update_time;
  v.rider = row.rider;
  v.stage = row.stage;
  v.user = row.user;
  v.warehouse = row.warehouse;
}

// True when any of the N tags equals t: a branch-free scan the compiler
// turns into a few vector compares.
template <std::size_t N>
bool any_equal(const std::array<std::uint32_t, N>& tags, std::uint32_t t) noexcept {
  std::uint32_t hit = 0;
  for (const std::uint32_t x : tags) hit |= static_cast<std::uint32_t>(x == t);
  return hit != 0;
}

// A 64-bit fingerprint of a fix (time and the coordinates' bits, -0.0 read
// as 0.0 so that equal fixes agree), never 0. Like the event fingerprints,
// two different fixes share one with a probability of about 2^-64.
std::uint64_t fix_fingerprint(const position_fix& f) noexcept {
  auto mix = [](std::uint64_t x) noexcept {  // the splitmix64 finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  const std::uint64_t h = mix(static_cast<std::uint64_t>(f.time) ^
                              mix(std::bit_cast<std::uint64_t>(f.point.lon + 0.0) ^
                                  mix(std::bit_cast<std::uint64_t>(f.point.lat + 0.0))));
  return h | 1;
}

// What a rider's duplicate filters remember: the last 32 position event ids
// and the last 32 fixes, as 64-bit fingerprints (528 bytes), laid out so that
// the common case touches little: event fingerprints are split in high and
// low halves (a scan of the high halves, 128 bytes, usually settles it), and
// the newest fix time is kept beside the fix fingerprints, so a fix newer
// than every remembered one (the live path) is known new without a scan.
// Entries never written hold 0, which no fingerprint equals.
struct fix_memory {
  std::array<std::uint32_t, kRiderRecentEvents> event_high{};  // fingerprint >> 32
  std::array<std::uint32_t, kRiderRecentEvents> event_low{};   // low half (never 0)
  timestamp_ms max_time = 0;  // >= every remembered fix time
  std::uint8_t next_event = 0;
  std::uint8_t next_fix = 0;
  std::array<std::uint64_t, kRiderRecentFixes> fixes{};

  bool has_event(std::uint64_t fp) const noexcept {
    const auto high = static_cast<std::uint32_t>(fp >> 32);
    if (!any_equal(event_high, high)) return false;
    const auto low = static_cast<std::uint32_t>(fp);
    for (std::size_t i = 0; i < kRiderRecentEvents; ++i)
      if (event_high[i] == high && event_low[i] == low) return true;
    return false;
  }
  void remember_event(std::uint64_t fp) noexcept {
    event_high[next_event] = static_cast<std::uint32_t>(fp >> 32);
    event_low[next_event] = static_cast<std::uint32_t>(fp);
    next_event = static_cast<std::uint8_t>((next_event + 1) % kRiderRecentEvents);
  }
  bool has_fix(const position_fix& f) const noexcept {
    if (f.time > max_time) return false;
    const std::uint64_t fp = fix_fingerprint(f);
    std::uint64_t hit = 0;
    for (const std::uint64_t x : fixes) hit |= static_cast<std::uint64_t>(x == fp);
    return hit != 0;
  }
  void remember_fix(const position_fix& f) noexcept {
    fixes[next_fix] = fix_fingerprint(f);
    max_time = std::max(max_time, f.time);
    next_fix = static_cast<std::uint8_t>((next_fix + 1) % kRiderRecentFixes);
  }
};

// An order a rider delivers, with where its state lives: the partition and
// a hint to its slot (slots never move; the hint is confirmed by the slot's
// id under the partition's lock, since an evicted slot may be reused).
struct rider_order {
  order_id id;
  std::uint32_t part = 0;
  order_slot* slot = nullptr;
  // Where the rider is expected to stand for this order (the standstill
  // detector's planned stops), copied at assignment.
  geo_point origin, destination;
  // The slot's monitor when last seen, for prefetching only: the address
  // may be stale, nothing is read through it outside the order's lock.
  const detail::order_monitor* monitor = nullptr;
};

struct rider_slot {
  rider_id id;                      // the table's key
  std::vector<rider_order> orders;  // Delivering now
  // The customer of the order it delivered last: it may stand there a while
  // yet (hand-over) with its other orders aboard — a planned stop for them.
  geo_point last_drop;
  bool has_last_drop = false;
  position_fix live;             // newest applied fix
  bool has_live = false;
  rider_handle in_index;         // its place in the partition's rider_index, once it has one
  fix_memory memory;
};

const id& order_key(const order_slot& s) noexcept { return s.row.id; }

// Monotonic nanoseconds for the latency histograms (never 0 in practice:
// the steady clock counts from boot).
std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// When the event this thread is ingesting entered ingest() (0: none, e.g. a
// clock tick), so that write() can stamp its write-behind sequence with it.
thread_local std::int64_t t_ingest_start_ns = 0;

// Ingest times of recent write-behind sequences, indexed by sequence modulo
// the size: the durable callback turns them into ingest-to-durable
// latencies. A slot overwritten before its commit (a backlog above the size)
// is skipped, so the histogram samples rather than counts every write then.
struct durable_stamps {
  static constexpr std::size_t kSize = 4096;  // a power of 2
  struct stamp {
    std::atomic<std::uint64_t> sequence{0};
    std::atomic<std::int64_t> start_ns{0};
  };
  std::array<stamp, kSize> slots;
  std::uint64_t seen = 0;  // the writer thread's last durable sequence

  void note(std::uint64_t sequence, std::int64_t start_ns) noexcept {
    stamp& s = slots[sequence & (kSize - 1)];
    s.start_ns.store(start_ns, std::memory_order_relaxed);
    s.sequence.store(sequence, std::memory_order_release);
  }
  // On the writer thread: records the latency of every stamped sequence
  // that became durable since the last call.
  void durable(std::uint64_t up_to, latency_histogram& into) noexcept {
    const std::int64_t now = steady_ns();
    std::uint64_t from = seen + 1;
    if (up_to >= kSize && from < up_to - kSize + 1) from = up_to - kSize + 1;
    for (std::uint64_t q = from; q <= up_to; ++q) {
      stamp& s = slots[q & (kSize - 1)];
      if (s.sequence.load(std::memory_order_acquire) != q) continue;
      const std::int64_t start = s.start_ns.load(std::memory_order_relaxed);
      if (s.sequence.load(std::memory_order_relaxed) != q) continue;
      into.record(now - start);
    }
    seen = std::max(seen, up_to);
  }
};
const id& rider_key(const rider_slot& s) noexcept { return s.id; }

// Counters a partition owns; summed by metrics(). Written under the
// partition's lock, read without it (relaxed atomics).
// A partition's counters have one writer at a time (its lock holder), so a
// plain load and store suffice there, without a locked read-modify-write per
// counter on the hot path; the global ones are written without a lock.
struct counters {
  explicit counters(bool shared_writers = false) noexcept : shared(shared_writers) {}
  const bool shared;
  std::atomic<std::uint64_t> accepted{0}, duplicates{0}, rejected{0}, positions{0},
      order_updates{0}, records{0}, published{0}, fixes_rejected{0}, stale_fixes{0}, evicted{0},
      alerts_raised{0}, alerts_cleared{0};
  void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    if (shared)
      c.fetch_add(n, std::memory_order_relaxed);
    else
      c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

struct alignas(64) order_partition {  // own cache lines: no false sharing between partitions
  mutable std::mutex mu;
  slot_table<order_slot, order_key> orders;
  // Event fingerprints of orders that left the hot cache or were recovered
  // from storage, with the clock time they may be forgotten.
  std::unordered_map<std::uint64_t, timestamp_ms> old_events;
  std::vector<tracking_record> records;  // scratch, reused per event
  counters count;
  std::uint64_t since_sweep = 0;
};

struct alignas(64) rider_partition {
  mutable std::mutex mu;
  slot_table<rider_slot, rider_key> riders;

  // The rider's slot, created on first sight.
  rider_slot& rider(const rider_id& r) {
    bool inserted = false;
    rider_slot& slot = riders.find_or_insert(r, inserted);
    if (inserted) slot.id = r;
    return slot;
  }
  rider_index index;
  // Moves the rider in the index: by its handle (no id lookup) once it has
  // one; the handle is taken on its first position and dropped on removal.
  // A handle the index refuses falls back to the id and is taken anew.
  void place_in_index(rider_slot& slot, geo_point p) {
    if (slot.in_index.valid() && index.update(slot.in_index, p).ok()) return;
    slot.in_index = {};
    if (!index.update(slot.id, p).ok()) return;
    if (const auto h = index.handle_of(slot.id); h.ok()) slot.in_index = *h;
  }
  std::vector<position_fix> batch;  // scratch for sorting a batch
  std::vector<std::uint8_t> batch_ok;
  counters count;
};

}  // namespace

struct tracker::impl {
  tracker_options options;
  storage* store;
  publisher* pub;
  const clock* now_clock;
  system_clock wall;
  // Declared before `writer`: its durable callback records into them until
  // the writer is gone.
  latency_histogram publish_latency;  // ingest() entry to its last publish
  latency_histogram durable_latency;  // ingest() entry to its write's commit
  std::unique_ptr<durable_stamps> stamps;
  std::unique_ptr<write_behind> writer;
  std::vector<order_partition> order_parts;
  std::vector<rider_partition> rider_parts;
  counters global{true};  // events counted before a partition is known
  // Event ids recovered from storage after a restart: immutable once the
  // constructor returns, so ingest threads read it without a lock.
  std::unordered_set<std::uint64_t> recovered_events;
  timestamp_ms recovered_until = 0;
  std::mutex rejected_mu;
  std::unordered_map<int, std::uint64_t> rejected_by_code;
  std::unique_ptr<eta_model> model;  // shared by every order's monitor
  bool monitoring;                   // ETA or detectors on
  detail::monitor_context monitor_ctx;

  static std::unique_ptr<eta_model> make_model(const tracker_options& o) {
    auto m = eta_model::make(o.eta_model);
    if (!m) throw error(m.error(), std::string("tracker_options.eta_model.") + (m.field() ? m.field() : ""));
    return std::move(*m);
  }

  impl(const tracker_options& o, storage* s, publisher* p, const clock* c)
      : options(o),
        store(s),
        pub(p),
        now_clock(c ? c : &wall),
        order_parts(std::max<std::size_t>(1, o.order_partitions)),
        rider_parts(std::max<std::size_t>(1, o.rider_partitions)),
        model(make_model(o)),
        monitoring(o.eta || o.detectors),
        monitor_ctx{options, *model} {
    if (store) {
      stamps = std::make_unique<durable_stamps>();
      writer = std::make_unique<write_behind>(*store, o.storage_queue);
      writer->on_durable([this](std::uint64_t d) { stamps->durable(d, durable_latency); });
    }
  }

  detail::order_monitor& monitor_of(order_slot& slot) {
    if (!slot.monitor) slot.monitor = std::make_unique<detail::order_monitor>();
    return *slot.monitor;
  }

  // Counts the alerts that started and ended between two views' flags.
  static std::uint32_t active_mask(const std::array<alert, alert_kind_count>& alerts) noexcept {
    std::uint32_t m = 0;
    for (std::size_t k = 0; k < alert_kind_count; ++k)
      if (alerts[k].active) m |= 1u << k;
    return m;
  }
  // The keys every message of a watched order carries.
  std::uint32_t monitor_fields() const noexcept {
    return (options.eta ? field::eta : 0) | (options.detectors ? field::alerts : 0);
  }
  static void count_alerts(counters& c, std::uint32_t before, std::uint32_t after) {
    if (const auto up = std::popcount(after & ~before)) c.add(c.alerts_raised, static_cast<std::uint64_t>(up));
    if (const auto down = std::popcount(before & ~after))
      c.add(c.alerts_cleared, static_cast<std::uint64_t>(down));
  }

  timestamp_ms now() const noexcept { return now_clock->now(); }
  order_partition& order_part(const order_id& o) { return order_parts[shard_of(o, order_parts.size())]; }
  rider_partition& rider_part(const rider_id& r) { return rider_parts[shard_of(r, rider_parts.size())]; }

  ingest_result count_rejection(counters& c, ingest_result r) {
    if (r.status == ingest_status::rejected) {
      c.add(c.rejected);
      note_rejection(r.code);
    } else if (r.status == ingest_status::duplicate) {
      c.add(c.duplicates);
    }
    return r;
  }

  void note_rejection(std::error_code code, std::uint64_t n = 1) {
    std::lock_guard lock(rejected_mu);  // rejections are the rare path
    rejected_by_code[code.value()] += n;
  }

  // True when the event id was applied before a restart.
  bool recovered(std::uint64_t fp) const {
    return !recovered_events.empty() && now() < recovered_until && recovered_events.count(fp) > 0;
  }

  // --- validation shared by every kind -----------------------------------

  static ingest_result check_point_field(const geo_point& p, const char* lon_field,
                                         const char* lat_field) {
    const errc e = check_point(p);
    if (e == errc::invalid_longitude) return rejected(e, lon_field);
    if (e == errc::invalid_latitude) return rejected(e, lat_field);
    return {};
  }

  ingest_result check_fix(const position_fix& f, const char* lon_field, const char* lat_field,
                          const char* time_field) const {
    if (auto r = check_point_field(f.point, lon_field, lat_field); r.code) return r;
    if (f.point.lon == 0.0 && f.point.lat == 0.0)
      return rejected(errc::position_null_island, lon_field);
    if (f.time < 0 || f.time > kMaxTimestamp) return rejected(errc::invalid_timestamp, time_field);
    const timestamp_ms t = now();
    if (f.time > t + options.max_future_skew_ms)
      return rejected(errc::position_in_future, time_field);
    if (f.time < t - options.max_position_age_ms)
      return rejected(errc::position_too_old, time_field);
    return {};
  }

  bool too_fast(const position_fix& a, const position_fix& b) const noexcept {
    const double metres = haversine_m(a.point, b.point);
    const double seconds = std::abs(static_cast<double>(b.time - a.time)) / 1000.0;
    if (seconds <= 0) return metres > 0;
    return metres / seconds * 3.6 > options.max_speed_kmh;
  }

  // True when p is where the rider is expected to stand: the warehouse or
  // the customer of any order it carries.
  bool at_planned_stop(const rider_slot& rider, geo_point p) const noexcept {
    const double r = options.planned_stop_radius_m;
    for (const rider_order& o : rider.orders)
      if (haversine_m(p, o.origin) <= r || haversine_m(p, o.destination) <= r) return true;
    return rider.has_last_drop && haversine_m(p, rider.last_drop) <= r;
  }

  // --- storage ------------------------------------------------------------

  // Reserves room for one order's records; an empty optional without storage.
  result<std::optional<write_ticket>> reserve(std::size_t records) {
    if (!writer) return std::optional<write_ticket>{};
    auto t = writer->reserve(records);
    if (!t) return {t.error(), "storage"};
    return std::optional<write_ticket>{std::move(*t)};
  }

  std::uint64_t write(std::optional<write_ticket>& ticket, order_partition& part,
                      const order& row) {
    part.count.add(part.count.records, part.records.size());
    if (!ticket) return 0;
    const std::uint64_t sequence = writer->push(std::move(*ticket), part.records, row);
    if (t_ingest_start_ns != 0) stamps->note(sequence, t_ingest_start_ns);
    return sequence;
  }

  // --- one accepted change of one order ----------------------------------

  tracking_record& new_record(order_partition& part, order_slot& slot, const event& e,
                              record_kind kind, timestamp_ms time) {
    slot.row.version += 1;
    tracking_record& r = part.records.emplace_back();
    r.record_id = make_record_id(slot.row.id, slot.row.version);
    r.order = slot.row.id;
    r.status = slot.row.status;
    r.create_time = time;
    r.version = slot.row.version;
    r.source_event = e.id;
    r.kind = kind;
    return r;
  }

  void publish(order_partition& part, order_slot& slot, std::uint32_t changed) {
    // Every message of an order under watch carries its ETA and alerts, so
    // that a client never has to remember them from an older message.
    if (slot.monitor) changed |= monitor_fields();
    slot.view.version = slot.row.version;
    part.count.add(part.count.order_updates);
    if (!pub) return;
    pub->publish(slot.view, changed);
    part.count.add(part.count.published);
  }

  // Looks an order up in the hot cache; on a miss decides between duplicate,
  // terminal (served from storage) and unknown.
  ingest_result miss(order_partition& part, const event& e) {
    if (part.old_events.count(fingerprint(e.id)) || recovered(fingerprint(e.id))) return duplicate();
    if (store) {
      if (const auto stored = store->load_order(e.order); stored && is_terminal(stored->status))
        return rejected(errc::order_terminal, "orderId");
    }
    return rejected(errc::unknown_order, "orderId");
  }

  ingest_result ingest(const event& e, const order_scope* scope);
  ingest_result create(const event& e);
  ingest_result change_order(const event& e);
  ingest_result position(const event& e, const order_scope* scope);
  ingest_result batch(const event& e, const order_scope* scope);
  std::size_t apply_fixes(rider_partition& rp, rider_slot& rider, const event& e,
                          const position_fix* fixes, std::size_t count, ingest_result& out,
                          const order_scope* scope);
  void sweep(order_partition& part, timestamp_ms t);
  void recover();

  // The clock-driven detectors of one order (the partition locked); true
  // when they changed something, which then is a version of its own.
  bool tick_order(order_partition& part, order_slot& slot, timestamp_ms t) {
    if (slot.row.status != order_status::paid && slot.row.status != order_status::delivering)
      return false;
    tracking_state& v = slot.view;
    const auto before = v.alerts;  // the clock only moves alerts
    const std::uint32_t changed = slot.monitor->on_tick(monitor_ctx, slot.row, t, v);
    if (!(changed & field::alerts)) return false;  // values moving: wait for the next message
    count_alerts(part.count, active_mask(before), active_mask(v.alerts));
    auto ticket = reserve(1);
    // The writer is full: the detector has moved on, so the view keeps the
    // alert and the order's next message carries it (every message of a
    // watched order has the alerts key); no version of its own this time.
    if (!ticket) return false;
    part.records.clear();
    static const event kClock{};  // no source event: the engine's clock raised it
    tracking_record& r = new_record(part, slot, kClock, record_kind::alert, t);
    for (std::size_t k = 0; k < alert_kind_count; ++k) {
      if (before[k].active == v.alerts[k].active) continue;
      if (!r.address.empty()) r.address += "; ";
      char value[32];
      std::snprintf(value, sizeof value, "%.1f", v.alerts[k].value);
      r.address += alert_kind_name(static_cast<alert_kind>(k));
      r.address += v.alerts[k].active ? " raised " : " cleared ";
      r.address += value;
    }
    // The view's createTime stays the latest fix's time: it is what orders
    // live fixes against late ones.
    slot.row.update_time = std::max(slot.row.update_time, t);
    (void)write(*ticket, part, slot.row);
    publish(part, slot, changed);
    return true;
  }
};

// --- dispatch ----------------------------------------------------------------

ingest_result tracker::impl::ingest(const event& e, const order_scope* scope) {
  if (e.id.empty()) return count_rejection(global, rejected(errc::empty_id, "eventId"));
  if (e.time < 0 || e.time > kMaxTimestamp)
    return count_rejection(global, rejected(errc::invalid_timestamp, "time"));
  switch (e.kind) {
    case event_kind::order_created: return create(e);
    case event_kind::order_paid:
    case event_kind::picking_stage:
    case event_kind::rider_assigned:
    case event_kind::order_delivered:
    case event_kind::order_cancelled: return change_order(e);
    case event_kind::rider_position: return position(e, scope);
    case event_kind::position_batch: return batch(e, scope);
  }
  return count_rejection(global, rejected(errc::invalid_event, "type"));
}

// --- order_created -------------------------------------------------------------

ingest_result tracker::impl::create(const event& e) {
  if (e.order.empty()) return count_rejection(global, rejected(errc::empty_id, "orderId"));
  if (e.user.empty()) return count_rejection(global, rejected(errc::empty_id, "userId"));
  if (e.warehouse.empty()) return count_rejection(global, rejected(errc::empty_id, "warehouseId"));
  if (e.amount < 0 || e.amount > max_amount_cents)
    return count_rejection(global, rejected(errc::invalid_amount, "totalAmount"));
  if (auto r = check_point_field(e.origin, "origin.longitude", "origin.latitude"); r.code)
    return count_rejection(global, r);
  if (auto r = check_point_field(e.destination, "destination.longitude", "destination.latitude");
      r.code)
    return count_rejection(global, r);
  if (e.address.size() > kMaxAddressBytes)
    return count_rejection(global, rejected(errc::invalid_address, "address"));
  if (e.promised_time < 0 || e.promised_time > kMaxTimestamp)
    return count_rejection(global, rejected(errc::invalid_timestamp, "promisedTime"));

  order_partition& part = order_part(e.order);
  std::lock_guard lock(part.mu);
  const std::uint64_t fp = fingerprint(e.id);
  if (const order_slot* found = part.orders.find(e.order)) {
    return count_rejection(part.count, found->has_event(fp) || recovered(fp)
                                           ? duplicate()
                                           : rejected(errc::order_exists, "orderId"));
  }
  if (part.old_events.count(fp) || recovered(fp)) return count_rejection(part.count, duplicate());
  if (store && store->load_order(e.order))
    return count_rejection(part.count, rejected(errc::order_exists, "orderId"));

  auto ticket = reserve(1);
  if (!ticket) return count_rejection(part.count, rejected(ticket.error(), "storage"));

  bool inserted = false;
  order_slot& slot = part.orders.find_or_insert(e.order, inserted);
  order& row = slot.row;
  row.id = e.order;
  row.user = e.user;
  row.warehouse = e.warehouse;
  row.status = order_status::pending_payment;
  row.total_amount = e.amount;
  row.create_time = e.time;
  row.update_time = e.time;
  row.origin = e.origin;
  row.destination = e.destination;
  row.address = e.address;
  row.promised_time = e.promised_time;
  slot.events.push_back(fp);

  part.records.clear();
  tracking_record& r = new_record(part, slot, e, record_kind::status_change, e.time);
  r.address = e.address;

  view_from_row(slot.view, row);
  ingest_result out;
  out.durable_ticket = write(*ticket, part, row);
  publish(part, slot, field::all);
  part.count.add(part.count.accepted);
  out.version = row.version;
  out.orders_updated = 1;
  return out;
}

// --- paid, picking, assigned, delivered, cancelled ------------------------------

ingest_result tracker::impl::change_order(const event& e) {
  if (e.order.empty()) return count_rejection(global, rejected(errc::empty_id, "orderId"));
  const bool needs_rider =
      e.kind == event_kind::rider_assigned || e.kind == event_kind::order_delivered;
  if (needs_rider && e.rider.empty())
    return count_rejection(global, rejected(errc::empty_id, "riderId"));
  if (e.kind == event_kind::picking_stage &&
      (e.stage < picking_stage::task_created || e.stage > picking_stage::handed_over))
    return count_rejection(global, rejected(errc::invalid_picking_stage, "stage"));
  if (e.kind == event_kind::order_delivered && e.has_position) {
    if (auto r = check_point_field(e.position, "longitude", "latitude"); r.code)
      return count_rejection(global, r);
  }
  if (e.kind == event_kind::rider_assigned) {
    if (e.route.size() == 1) return count_rejection(global, rejected(errc::invalid_polyline, "route"));
    for (const geo_point& p : e.route)
      if (!is_valid_point(p)) return count_rejection(global, rejected(errc::invalid_polyline, "route"));
  }
  if (e.kind == event_kind::order_cancelled && e.address.size() > kMaxAddressBytes)
    return count_rejection(global, rejected(errc::invalid_address, "address"));

  order_partition& part = order_part(e.order);
  rider_id release_rider;  // rider whose order list must drop this order
  bool dropped_off = false;  // delivered: the rider stands at the customer a while
  order_slot* assigned_slot = nullptr;  // the slot, when a rider took the order
  geo_point assigned_origin, assigned_destination;  // its planned stops
  ingest_result out;
  {
    std::lock_guard lock(part.mu);
    order_slot* found = part.orders.find(e.order);
    if (!found) return count_rejection(part.count, miss(part, e));
    order_slot& slot = *found;
    order& row = slot.row;
    const std::uint64_t fp = fingerprint(e.id);
    if (slot.has_event(fp) || recovered(fp)) return count_rejection(part.count, duplicate());

    // The state machine decides first; nothing changes on a rejection.
    order_status next = row.status;
    switch (e.kind) {
      case event_kind::order_paid: next = order_status::paid; break;
      case event_kind::rider_assigned: next = order_status::delivering; break;
      case event_kind::order_delivered: next = order_status::completed; break;
      case event_kind::order_cancelled: next = order_status::cancelled; break;
      default: break;
    }
    if (e.kind == event_kind::picking_stage) {
      if (is_terminal(row.status))
        return count_rejection(part.count, rejected(errc::order_terminal, "status"));
      if (row.status != order_status::paid || e.stage <= row.stage)
        return count_rejection(part.count, rejected(errc::invalid_picking_stage, "stage"));
    } else if (const errc t = check_transition(row.status, next); t != errc::ok) {
      return count_rejection(part.count, rejected(t, "status"));
    }
    if (e.kind == event_kind::order_delivered && e.rider != row.rider)
      return count_rejection(part.count, rejected(errc::rider_not_assigned, "riderId"));

    auto ticket = reserve(1);
    if (!ticket) return count_rejection(part.count, rejected(ticket.error(), "storage"));

    const order_status before = row.status;
    row.status = next;
    row.update_time = std::max(row.update_time, e.time);
    slot.events.push_back(fp);
    part.records.clear();
    tracking_state& v = slot.view;
    std::uint32_t changed = field::create_time;
    record_kind kind = record_kind::status_change;
    if (e.kind == event_kind::picking_stage) kind = record_kind::picking;
    if (e.kind == event_kind::rider_assigned) kind = record_kind::rider_assigned;
    tracking_record& r = new_record(part, slot, e, kind, e.time);

    switch (e.kind) {
      case event_kind::picking_stage:
        row.stage = e.stage;
        r.stage = e.stage;
        r.operator_id = e.warehouse.empty() ? row.warehouse : e.warehouse;
        r.op_type = operator_type::warehouse;
        v.stage = e.stage;
        changed |= field::picking;
        break;
      case event_kind::rider_assigned:
        row.rider = e.rider;
        r.operator_id = e.rider;
        r.op_type = operator_type::rider;
        if (!monitoring) slot.route = e.route;
        slot.assigned_at = e.time;
        assigned_slot = &slot;
        assigned_origin = row.origin;
        assigned_destination = row.destination;
        v.rider = e.rider;
        changed |= field::rider;
        break;
      case event_kind::order_delivered:
        r.operator_id = e.rider;
        r.op_type = operator_type::rider;
        if (e.has_position) {
          r.position = e.position;
          r.has_position = true;
          v.position = e.position;
          v.has_position = true;
          changed |= field::position;
        }
        break;
      case event_kind::order_cancelled:
        r.address = e.address;  // the reason, when given
        break;
      default: break;
    }
    if (monitoring) {
      const std::uint32_t alerts_before = active_mask(v.alerts);
      switch (e.kind) {
        case event_kind::order_paid:
        case event_kind::picking_stage:
          changed |= monitor_of(slot).on_processing(monitor_ctx, row, e.time, now(), v);
          break;
        case event_kind::rider_assigned:
          changed |= monitor_of(slot).on_assigned(monitor_ctx, row, e.time, now(),
                                                  std::vector<geo_point>(e.route), v);
          break;
        case event_kind::order_delivered:
        case event_kind::order_cancelled:
          if (slot.monitor)
            changed |= slot.monitor->on_finished(
                monitor_ctx, e.kind == event_kind::order_delivered, e.time, v);
          break;
        default: break;
      }
      count_alerts(part.count, alerts_before, active_mask(v.alerts));
    }
    if (r.op_type != v.op_type || r.operator_id != v.operator_id) changed |= field::operator_info;
    v.operator_id = r.operator_id;
    v.op_type = r.op_type;
    v.create_time = e.time;
    if (next != before) {
      v.status = next;
      changed |= field::status;
    }
    if (is_terminal(next)) {
      slot.terminal_at = now();
      slot.route.clear();
      slot.route.shrink_to_fit();
      if (before == order_status::delivering) release_rider = row.rider;
      dropped_off = e.kind == event_kind::order_delivered;
    }
    out.durable_ticket = write(*ticket, part, row);
    publish(part, slot, changed);
    if (is_terminal(next)) slot.monitor.reset();  // after its last message went out
    part.count.add(part.count.accepted);
    out.version = row.version;
    out.orders_updated = 1;
    if (++part.since_sweep >= kSweepEvery) sweep(part, now());
  }

  // Rider bookkeeping after the order lock is released: the lock order is
  // always rider -> order, never the reverse.
  if (e.kind == event_kind::rider_assigned) {
    rider_partition& rp = rider_part(e.rider);
    std::lock_guard lock(rp.mu);
    auto& list = rp.rider(e.rider).orders;
    const auto it = std::find_if(list.begin(), list.end(),
                                 [&e](const rider_order& o) { return o.id == e.order; });
    const auto part_index = static_cast<std::uint32_t>(&part - order_parts.data());
    if (it == list.end()) {
      list.push_back(rider_order{e.order, part_index, assigned_slot, assigned_origin,
                                 assigned_destination});
    } else {
      it->slot = assigned_slot;
      it->origin = assigned_origin;
      it->destination = assigned_destination;
    }
  }
  if (!release_rider.empty()) {
    rider_partition& rp = rider_part(release_rider);
    std::lock_guard lock(rp.mu);
    if (rider_slot* r = rp.riders.find(release_rider)) {
      auto& list = r->orders;
      if (dropped_off) {
        const auto it = std::find_if(list.begin(), list.end(),
                                     [&e](const rider_order& o) { return o.id == e.order; });
        if (it != list.end()) {
          r->last_drop = it->destination;
          r->has_last_drop = true;
        }
      }
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&e](const rider_order& o) { return o.id == e.order; }),
                 list.end());
    }
  }
  return out;
}

// --- positions -------------------------------------------------------------------

// Applies accepted fixes (sorted by time) to every order the rider delivers.
// Called with the rider partition locked. Returns the orders updated.
std::size_t tracker::impl::apply_fixes(rider_partition& rp, rider_slot& rider, const event& e,
                                       const position_fix* fixes, std::size_t count,
                                       ingest_result& out, const order_scope* scope) {
  (void)rp;
  std::size_t updated = 0;
  for (rider_order& o : rider.orders) {
    const order_id& oid = o.id;
    if (scope && !scope->includes(oid)) continue;
    order_partition& part = order_parts[o.part];
    std::lock_guard lock(part.mu);
    order_slot* found = o.slot && o.slot->row.id == oid ? o.slot : part.orders.find(oid);
    if (!found) continue;
    o.slot = found;
    o.monitor = found->monitor.get();
    order_slot& slot = *found;
    if (slot.row.status != order_status::delivering || slot.row.rider != e.rider) continue;
    if (slot.monitor) slot.monitor->prefetch_route();  // read in on_fix, after the records
    // Fixes from before the assignment belong to the previous trip.
    std::size_t first = 0;
    while (first < count && fixes[first].time < slot.assigned_at) ++first;
    if (first == count) continue;
    auto ticket = reserve(count - first);
    if (!ticket) {
      // Orders updated already stay updated (each is consistent on its own);
      // the host retries the event and the rest are applied then.
      out.status = ingest_status::rejected;
      out.code = ticket.error();
      out.field = "storage";
      break;
    }
    // Every fix is its own version; a fix older than the live position goes
    // into the trajectory only.
    const std::uint64_t first_version = slot.row.version + 1;
    if (writer) {
      part.records.clear();
      for (std::size_t i = first; i < count; ++i) {
        tracking_record& r = new_record(part, slot, e, record_kind::position, fixes[i].time);
        r.position = fixes[i].point;
        r.has_position = true;
        r.operator_id = e.rider;
        r.op_type = operator_type::rider;
        slot.row.update_time = std::max(slot.row.update_time, fixes[i].time);
      }
      out.durable_ticket = write(*ticket, part, slot.row);
    } else {
      // Nobody reads the records without storage: count them, build none.
      for (std::size_t i = first; i < count; ++i)
        slot.row.update_time = std::max(slot.row.update_time, fixes[i].time);
      slot.row.version += count - first;
      part.count.add(part.count.records, count - first);
    }
    const order& row = slot.row;
    // Publish each version in order so that resumable streams have no gap.
    tracking_state& v = slot.view;
    detail::order_monitor* monitor = monitoring ? &monitor_of(slot) : nullptr;
    const timestamp_ms t_now = monitor ? now() : 0;
    for (std::uint64_t ver = first_version; ver <= row.version; ++ver) {
      const position_fix& f = fixes[first + (ver - first_version)];
      std::uint32_t changed = 0;
      const bool live = !v.has_position || f.time >= v.create_time;
      if (monitor) {
        const std::uint32_t alerts_before = active_mask(v.alerts);
        changed |= monitor->on_fix(monitor_ctx, row, f, live, live && at_planned_stop(rider, f.point),
                                   updated == 0, t_now, v);
        count_alerts(part.count, alerts_before, active_mask(v.alerts));
      }
      if (live) {
        if (!v.has_position || v.position != f.point) changed |= field::position;
        v.position = f.point;
        v.has_position = true;
        if (v.create_time != f.time) changed |= field::create_time;
        v.create_time = f.time;
        if (v.operator_id != e.rider || v.op_type != operator_type::rider) {
          changed |= field::operator_info;
          v.operator_id = e.rider;
          v.op_type = operator_type::rider;
        }
      }
      v.version = ver;
      part.count.add(part.count.order_updates);
      if (pub) {
        if (monitor) changed |= monitor_fields();
        pub->publish(v, changed);
        part.count.add(part.count.published);
      }
    }
    out.version = row.version;
    ++updated;
  }
  return updated;
}

ingest_result tracker::impl::position(const event& e, const order_scope* scope) {
  if (e.rider.empty()) return count_rejection(global, rejected(errc::empty_id, "riderId"));
  const position_fix fix{e.time, e.position};
  if (auto r = check_fix(fix, "longitude", "latitude", "time"); r.code)
    return count_rejection(global, r);

  rider_partition& rp = rider_part(e.rider);
  std::lock_guard lock(rp.mu);
  rider_slot& rider = rp.rider(e.rider);
  if (monitoring) {
    // In a big city the fix's speed cells and the rider's orders are cold:
    // start loading them now, so that their misses overlap with the checks
    // below instead of queueing one after another in the monitor.
    monitor_ctx.model.speeds().prefetch(fix.point, fix.time);
    // Addresses only: the slots are read under their partitions' locks.
    for (const rider_order& o : rider.orders) {
      if (o.slot) __builtin_prefetch(o.slot);
      if (o.monitor) detail::order_monitor::prefetch(o.monitor);
    }
  }
  const std::uint64_t fp = fingerprint(e.id);
  if (rider.memory.has_event(fp) || recovered(fp)) return count_rejection(rp.count, duplicate());
  if (rider.memory.has_fix(fix))
    return count_rejection(rp.count, rejected(errc::position_duplicate_fix, "time"));
  const bool newest = !rider.has_live || fix.time > rider.live.time;
  if (rider.has_live && fix.time >= rider.live.time && too_fast(rider.live, fix))
    return count_rejection(rp.count, rejected(errc::position_too_fast, "longitude"));

  ingest_result out;
  out.orders_updated = static_cast<std::uint32_t>(apply_fixes(rp, rider, e, &fix, 1, out, scope));
  if (out.status == ingest_status::rejected && out.orders_updated == 0) {
    return count_rejection(rp.count, out);
  }
  rider.memory.remember_event(fp);
  rider.memory.remember_fix(fix);
  if (!newest) rp.count.add(rp.count.stale_fixes);
  if (newest) {
    rider.live = fix;
    rider.has_live = true;
    rp.place_in_index(rider, fix.point);
    if (pub) pub->publish_rider(e.rider, fix);
  }
  rp.count.add(rp.count.positions);
  if (out.status == ingest_status::rejected) return count_rejection(rp.count, out);
  rp.count.add(rp.count.accepted);
  return out;
}

ingest_result tracker::impl::batch(const event& e, const order_scope* scope) {
  if (e.rider.empty()) return count_rejection(global, rejected(errc::empty_id, "riderId"));
  if (e.fixes.empty()) return count_rejection(global, rejected(errc::invalid_event, "fixes"));
  if (e.fixes.size() > kMaxBatchFixes)
    return count_rejection(global, rejected(errc::too_large, "fixes"));

  rider_partition& rp = rider_part(e.rider);
  std::lock_guard lock(rp.mu);
  rider_slot& rider = rp.rider(e.rider);
  const std::uint64_t fp = fingerprint(e.id);
  if (rider.memory.has_event(fp) || recovered(fp)) return count_rejection(rp.count, duplicate());

  // Device-time order; each fix passes the same filters as a live one, and
  // the speed filter compares neighbours in time.
  rp.batch.assign(e.fixes.begin(), e.fixes.end());
  std::stable_sort(rp.batch.begin(), rp.batch.end(),
                   [](const position_fix& a, const position_fix& b) { return a.time < b.time; });
  std::size_t kept = 0;
  std::uint32_t dropped = 0;
  const position_fix* previous = nullptr;
  for (std::size_t i = 0; i < rp.batch.size(); ++i) {
    const position_fix& f = rp.batch[i];
    ingest_result check = check_fix(f, "fixes.longitude", "fixes.latitude", "fixes.time");
    if (!check.code && rider.memory.has_fix(f)) check = rejected(errc::position_duplicate_fix, "fixes.time");
    if (!check.code && kept > 0 && rp.batch[kept - 1] == f)
      check = rejected(errc::position_duplicate_fix, "fixes.time");
    if (!check.code && previous && too_fast(*previous, f))
      check = rejected(errc::position_too_fast, "fixes.longitude");
    if (check.code) {
      ++dropped;
      note_rejection(check.code);
      continue;
    }
    rp.batch[kept++] = f;
    previous = &rp.batch[kept - 1];
  }
  rp.batch.resize(kept);
  rp.count.add(rp.count.fixes_rejected, dropped);
  if (kept == 0) {
    // Nothing usable: report the first reason, like a single fix would.
    ingest_result r = rejected(errc::invalid_event, "fixes");
    r.fixes_rejected = dropped;
    return count_rejection(rp.count, r);
  }

  ingest_result out;
  out.fixes_rejected = dropped;
  out.orders_updated =
      static_cast<std::uint32_t>(apply_fixes(rp, rider, e, rp.batch.data(), kept, out, scope));
  if (out.status == ingest_status::rejected && out.orders_updated == 0)
    return count_rejection(rp.count, out);
  rider.memory.remember_event(fp);
  for (const position_fix& f : rp.batch) rider.memory.remember_fix(f);
  if (rider.has_live) {
    const auto older = std::count_if(rp.batch.begin(), rp.batch.end(), [&rider](const position_fix& f) {
      return f.time <= rider.live.time;
    });
    rp.count.add(rp.count.stale_fixes, static_cast<std::uint64_t>(older));
  }
  const position_fix& newest = rp.batch.back();
  if (!rider.has_live || newest.time > rider.live.time) {
    rider.live = newest;
    rider.has_live = true;
    rp.place_in_index(rider, newest.point);
    if (pub) pub->publish_rider(e.rider, newest);
  }
  rp.count.add(rp.count.positions, kept);
  if (out.status == ingest_status::rejected) return count_rejection(rp.count, out);
  rp.count.add(rp.count.accepted);
  return out;
}

// --- cache and recovery ------------------------------------------------------------

void tracker::impl::sweep(order_partition& part, timestamp_ms t) {
  part.since_sweep = 0;
  for (auto it = part.old_events.begin(); it != part.old_events.end();) {
    it = it->second <= t ? part.old_events.erase(it) : std::next(it);
  }
  part.orders.for_each([&](order_slot& slot) {
    if (is_terminal(slot.row.status) && slot.terminal_at + options.terminal_retention_ms <= t) {
      for (const std::uint64_t fp : slot.events)
        part.old_events[fp] = slot.terminal_at + options.dedup_window_ms;
      part.count.add(part.count.evicted);
      part.orders.erase(slot);
    }
  });
}

void tracker::impl::recover() {
  const timestamp_ms t = now();
  recovery_state state = store->recover(t - options.dedup_window_ms);
  for (order& row : state.active_orders) {
    order_partition& part = order_part(row.id);
    bool inserted = false;
    order_slot& slot = part.orders.find_or_insert(row.id, inserted);
    slot.row.id = row.id;
    tracking_state& v = slot.view;
    view_from_row(v, row);
    if (row.status == order_status::delivering && !row.rider.empty()) {
      rider_partition& rp = rider_part(row.rider);
      rp.rider(row.rider).orders.push_back(rider_order{
          row.id, static_cast<std::uint32_t>(&part - order_parts.data()), &slot, row.origin,
          row.destination});
      // The assignment time and the last position are in the records (the
      // planned route is not stored: ETA falls back to straight lines).
      for (const tracking_record& r : store->records_since(row.id, 0)) {
        if (r.kind == record_kind::rider_assigned) slot.assigned_at = r.create_time;
        if (r.kind == record_kind::position && r.has_position &&
            (!v.has_position || r.create_time >= v.create_time)) {
          v.position = r.position;
          v.has_position = true;
          v.create_time = r.create_time;
          v.operator_id = r.operator_id;
          v.op_type = r.op_type;
        }
      }
    }
    slot.row = std::move(row);
  }
  recovered_events.reserve(state.recent_events.size());
  for (const event_id& e : state.recent_events) recovered_events.insert(fingerprint(e));
  recovered_until = t + options.dedup_window_ms;
}

// --- the public face ---------------------------------------------------------------

tracker::tracker(tracker_options options, storage* store, publisher* pub, const clock* now)
    : options_(options), impl_(std::make_unique<impl>(options_, store, pub, now)) {
  if (store) impl_->recover();
}

tracker::~tracker() {
  // A writer that stopped after a failed commit rethrows from close(); that
  // failure was reported to flush() / the durable sequence already, and a
  // destructor must not throw (it would end the process).
  if (impl_->writer) {
    try {
      impl_->writer->close();
    } catch (const std::exception&) {
    }
  }
}

ingest_result tracker::ingest(const event& e) { return ingest_scoped(e, nullptr); }

ingest_result tracker::ingest(const event& e, const order_scope& scope) {
  return ingest_scoped(e, &scope);
}

ingest_result tracker::ingest_scoped(const event& e, const order_scope* scope) {
  const std::int64_t start = steady_ns();
  t_ingest_start_ns = start;
  ingest_result r = impl_->ingest(e, scope);
  t_ingest_start_ns = 0;
  if (r.accepted() && impl_->pub) impl_->publish_latency.record(steady_ns() - start);
  return r;
}

std::optional<order> tracker::find_order(const order_id& id) const {
  {
    order_partition& part = impl_->order_part(id);
    std::lock_guard lock(part.mu);
    if (const order_slot* s = part.orders.find(id)) return s->row;
  }
  if (impl_->store) return impl_->store->load_order(id);
  return std::nullopt;
}

std::optional<tracking_state> tracker::snapshot(const order_id& id) const {
  order_partition& part = impl_->order_part(id);
  std::lock_guard lock(part.mu);
  if (const order_slot* s = part.orders.find(id)) return s->view;
  return std::nullopt;
}

std::vector<geo_point> tracker::route(const order_id& id) const {
  order_partition& part = impl_->order_part(id);
  std::lock_guard lock(part.mu);
  if (const order_slot* s = part.orders.find(id))
    return s->monitor && s->monitor->has_route() ? s->monitor->route_points() : s->route;
  return {};
}

std::vector<order_id> tracker::orders_of_rider(const rider_id& rider) const {
  rider_partition& rp = impl_->rider_part(rider);
  std::lock_guard lock(rp.mu);
  std::vector<order_id> out;
  if (const rider_slot* s = rp.riders.find(rider))
    for (const rider_order& o : s->orders) out.push_back(o.id);
  return out;
}

result<std::vector<nearby_rider>> tracker::nearby_riders(geo_point center, double radius_m,
                                                         std::size_t k) const {
  // Each rider partition has its own index: query all, merge the k nearest.
  std::vector<nearby_rider> all, part_out;
  for (rider_partition& rp : impl_->rider_parts) {
    std::lock_guard lock(rp.mu);
    part_out.clear();
    const auto status = rp.index.nearby(center, radius_m, k, part_out);
    if (!status.ok()) return {status.code, status.field};
    all.insert(all.end(), part_out.begin(), part_out.end());
  }
  std::sort(all.begin(), all.end(), [](const nearby_rider& a, const nearby_rider& b) {
    return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.rider < b.rider;
  });
  if (all.size() > k) all.resize(k);
  return all;
}

status_result tracker::remove_rider(const rider_id& rider) {
  rider_partition& rp = impl_->rider_part(rider);
  std::lock_guard lock(rp.mu);
  rider_slot* slot = rp.riders.find(rider);
  if (!slot) return {errc::unknown_rider, "riderId"};
  slot->has_live = false;
  slot->in_index = {};
  if (slot->orders.empty()) rp.riders.erase(*slot);
  return rp.index.remove(rider);
}

std::size_t tracker::tick(timestamp_ms now) {
  if (!impl_->monitoring) return 0;
  std::size_t changed_orders = 0;
  for (order_partition& part : impl_->order_parts) {
    std::lock_guard lock(part.mu);
    part.orders.for_each([&](order_slot& slot) {
      if (slot.monitor) changed_orders += impl_->tick_order(part, slot, now) ? 1 : 0;
    });
  }
  return changed_orders;
}

eta_model& tracker::eta() noexcept { return *impl_->model; }

std::size_t tracker::evict(timestamp_ms now) {
  std::size_t before = 0, after = 0;
  for (order_partition& part : impl_->order_parts) {
    std::lock_guard lock(part.mu);
    before += part.orders.size();
    impl_->sweep(part, now);
    after += part.orders.size();
  }
  return before - after;
}

void tracker::flush() {
  if (impl_->writer) impl_->writer->flush();
}

std::uint64_t tracker::durable_sequence() const noexcept {
  return impl_->writer ? impl_->writer->durable_sequence() : 0;
}

std::size_t tracker::hot_orders() const {
  std::size_t n = 0;
  for (order_partition& part : impl_->order_parts) {
    std::lock_guard lock(part.mu);
    n += part.orders.size();
  }
  return n;
}

std::size_t tracker::active_riders() const {
  std::size_t n = 0;
  for (rider_partition& rp : impl_->rider_parts) {
    std::lock_guard lock(rp.mu);
    n += rp.index.size();
  }
  return n;
}

tracker_metrics tracker::metrics() const {
  tracker_metrics m;
  auto add = [&m](const counters& c) {
    auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    m.accepted += get(c.accepted);
    m.duplicates += get(c.duplicates);
    m.rejected += get(c.rejected);
    m.positions += get(c.positions);
    m.order_updates += get(c.order_updates);
    m.records += get(c.records);
    m.published += get(c.published);
    m.fixes_rejected += get(c.fixes_rejected);
    m.stale_fixes += get(c.stale_fixes);
    m.evicted += get(c.evicted);
    m.alerts_raised += get(c.alerts_raised);
    m.alerts_cleared += get(c.alerts_cleared);
  };
  add(impl_->global);
  for (const order_partition& p : impl_->order_parts) add(p.count);
  for (const rider_partition& p : impl_->rider_parts) add(p.count);
  // Every event ends as exactly one of these.
  m.events = m.accepted + m.duplicates + m.rejected;
  {
    std::lock_guard lock(impl_->rejected_mu);
    for (const auto& [code, n] : impl_->rejected_by_code)
      m.rejected_by_code.emplace_back(static_cast<errc>(code), n);
  }
  std::sort(m.rejected_by_code.begin(), m.rejected_by_code.end());
  if (impl_->writer) {
    m.storage_backlog = impl_->writer->queued_records();
    m.durable_sequence = impl_->writer->durable_sequence();
  }
  m.ingest_to_publish_seconds = impl_->publish_latency.snapshot();
  m.ingest_to_durable_seconds = impl_->durable_latency.snapshot();
  return m;
}

}  // namespace xiaoxiang
