#include "xiaoxiang/sim/simulation.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <optional>
#include <string>

#include "random.hpp"
#include "xiaoxiang/geo/polyline.hpp"
#include "xiaoxiang/order/event_json.hpp"

namespace xiaoxiang {
namespace {

using sim_detail::random;

constexpr timestamp_ms kNever = INT64_MAX;
constexpr std::uint32_t kNone = UINT32_MAX;

// Why an item is in the queue besides being a first delivery; counted when emitted.
enum class item_tag : std::uint8_t { normal, duplicate, late_fix, batch };

// An item waiting in the simulated queue; min-heap on (at, seq).
struct pending {
  timestamp_ms at;
  std::uint64_t seq;
  std::uint32_t slot;  // index into impl::items
};

// The payload of a queued item. Positions, nearly all of the traffic, are
// kept in these 48 bytes and become an `event` only when delivered, so the
// working set stays in cache at 300,000 riders; other kinds point to a
// full event.
struct queued {
  timestamp_ms time = 0;       // the event's time
  std::uint64_t event_no = 0;  // eventId is "E" + event_no
  geo_point point;             // a position's coordinates
  rider_id rider;              // a position's rider (copied while its record is in cache)
  std::uint32_t full = UINT32_MAX;  // index into impl::full_events, or none (a position)
  item_tag tag = item_tag::normal;
};
struct pending_later {
  bool operator()(const pending& a, const pending& b) const noexcept {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

// Business-side things that happen at a time: min-heap on (at, seq).
enum class job_kind : std::uint8_t { next_order, pay, stage, cancel, deliver, promise_check };
struct job {
  timestamp_ms at;
  std::uint64_t seq;
  job_kind kind;
  std::uint8_t arg;       // stage number, or the status a cancellation expects
  std::uint32_t target;   // order slot or warehouse index
  std::uint32_t serial;   // the order's serial: a recycled slot ignores old jobs
};
struct job_later {
  bool operator()(const job& a, const job& b) const noexcept {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

struct order_rec {
  std::uint32_t serial = 0;
  order_id id;
  std::uint32_t warehouse = 0;
  std::uint32_t customer = 0;  // street node
  order_status status = order_status::pending_payment;
  timestamp_ms promised = 0;
  timestamp_ms last_delivered_at = 0;  // keeps the order's events in order in the queue
  std::uint32_t rider = kNone;
  bool stall = false;                  // injected delivery timeout: picking stalls
  std::vector<std::uint32_t> open_truth;  // ground-truth rows to close when it ends
};

enum class trip_anomaly : std::uint8_t { none, deviation, standstill, silent };

struct stop {
  std::size_t node_index;  // index into the rider's path.nodes
  std::uint32_t order;
  std::uint32_t serial;
};

struct rider_rec {
  // The current street segment, copied here so that a report between two
  // crossings touches only this record (no path, node or edge lookups).
  geo_point seg_a, seg_b;
  street_edge seg_edge;
  rider_id id;
  std::uint32_t warehouse = 0;
  double speed_mps = 5;
  bool idle = true;
  street_path path;
  std::size_t seg = 0;      // on path.edges[seg], offset_m from path.nodes[seg]
  double offset_m = 0;
  std::vector<stop> stops;
  std::size_t next_stop = 0;
  timestamp_ms busy_until = 0;  // loading, handing over or standing still until then
  timestamp_ms last_tick = 0;
  // Network.
  timestamp_ms offline_until = 0;  // > 0 while offline: fixes go to `cache`
  std::vector<position_fix> cache;
  bool force_report = false;       // the previous fix was sent late: this one must arrive
  // The anomaly of the current trip.
  trip_anomaly anomaly = trip_anomaly::none;
  timestamp_ms anomaly_at = 0;     // standstill: when; silent: first silent report
  timestamp_ms anomaly_until = 0;  // silent: first report back
  duration_ms anomaly_ms = 0;      // standstill duration
  std::optional<polyline> planned; // deviation: the route the rider was given
  std::uint32_t truth = kNone;     // its open ground-truth row
};

}  // namespace

// std::round without a libm call (no SSE4.1 without -march); |x| < 2^62.
double round_half_away(double x) noexcept {
  return static_cast<double>(static_cast<std::int64_t>(x + (x >= 0 ? 0.5 : -0.5)));
}

struct simulation::impl {
  sim_options opt;
  city_map city;
  random rng;
  timestamp_ms now;
  std::vector<anomaly_truth> truth;
  sim_counters counters;

  std::vector<order_rec> orders;
  std::vector<std::uint32_t> free_orders;
  std::uint64_t order_seq = 0;
  std::vector<rider_rec> riders;
  std::vector<std::deque<std::uint32_t>> idle;  // per warehouse: riders waiting
  std::vector<std::deque<std::pair<std::uint32_t, std::uint32_t>>> ready;  // (order, serial)
  std::vector<int> riders_per_warehouse;

  // Jobs: a ring of one bucket per millisecond for the next kRingMs and a
  // heap for later ones, as for the queue below; promise checks (one per
  // order, 35+ minutes ahead) in a heap of their own.
  std::vector<std::vector<job>> job_ring;
  std::vector<job> jobs;      // due beyond the ring
  std::vector<job> promises;
  timestamp_ms clock_ms = 0;  // the millisecond being processed
  std::uint64_t job_seq = 0;
  std::uint64_t tick_cycle = 0;   // report cycle of the next rider tick
  std::uint32_t tick_rider = 0;   // rider of the next tick

  std::vector<queued> items;  // queue payloads, reused through free_items
  std::vector<std::uint32_t> free_items;
  std::vector<event> full_events;  // non-position events, reused through free_full
  std::vector<std::uint32_t> free_full;
  // The simulated message queue: a ring of one bucket per millisecond for
  // the next kRingMs (items in a bucket are in enqueue order), and a heap
  // for the rare items due later. Cheaper than one heap for everything.
  static constexpr timestamp_ms kRingMs = 1 << 16;
  std::vector<std::vector<std::uint32_t>> ring;
  std::vector<pending> overflow;
  std::uint64_t queue_seq = 0;
  std::uint64_t event_seq = 0;

  path_scratch scratch;
  street_path tmp_path;
  double kx, ky;  // metres per degree at the centre
  double coordinate_scale = 0;  // 1 / coordinate_step_deg, rounded; 0: no rounding
  double noise_lon = 0, noise_lat = 0;  // GPS noise sigma in degrees

  explicit impl(const sim_options& o)
      : opt(o), city(city_of(o)), rng(o.seed * 0x9E3779B97F4A7C15ull + 7), now(o.start) {
    const cheap_ruler ruler(opt.city.center.lat);
    kx = ruler.kx();
    ky = ruler.ky();
    noise_lon = opt.gps_noise_m / kx;
    noise_lat = opt.gps_noise_m / ky;
    if (opt.coordinate_step_deg > 0) coordinate_scale = std::round(1.0 / opt.coordinate_step_deg);
    const std::size_t w_count = city.warehouses().size();
    ring.resize(static_cast<std::size_t>(kRingMs));
    job_ring.resize(static_cast<std::size_t>(kRingMs));
    clock_ms = now;
    idle.resize(w_count);
    ready.resize(w_count);
    riders_per_warehouse.assign(w_count, 0);
    riders.resize(static_cast<std::size_t>(std::max(0, opt.riders)));
    for (std::size_t i = 0; i < riders.size(); ++i) {
      rider_rec& r = riders[i];
      r.id = make_name('R', i);
      r.warehouse = static_cast<std::uint32_t>(i % w_count);
      r.speed_mps = rng.uniform(4.2, 6.0);  // 15..22 km/h on an e-bike
      r.last_tick = opt.start;
      const std::uint32_t home = city.warehouses()[r.warehouse].node;
      r.path.nodes.push_back(home);
      load_segment(r);
      idle[r.warehouse].push_back(static_cast<std::uint32_t>(i));
      ++riders_per_warehouse[r.warehouse];
    }
    for (std::uint32_t w = 0; w < w_count; ++w) schedule_next_order(w, opt.start);
  }

  static city_map city_of(const sim_options& o) {
    city_options c = o.city;
    c.seed = o.seed;
    c.warehouses = o.warehouses;
    return city_map(c);
  }

  static id make_name(char prefix, std::uint64_t n) {
    char buf[24];
    buf[0] = prefix;
    const auto end = std::to_chars(buf + 1, buf + sizeof buf, n).ptr;
    return *id::make(std::string_view(buf, static_cast<std::size_t>(end - buf)));
  }

  // ------------------------------------------------------------ queue

  std::uint32_t acquire_item() {
    if (free_items.empty()) {
      items.emplace_back();
      return static_cast<std::uint32_t>(items.size() - 1);
    }
    const std::uint32_t slot = free_items.back();
    free_items.pop_back();
    items[slot] = queued{};
    return slot;
  }

  std::uint32_t acquire_full() {
    if (free_full.empty()) {
      full_events.emplace_back();
      return static_cast<std::uint32_t>(full_events.size() - 1);
    }
    const std::uint32_t k = free_full.back();
    free_full.pop_back();
    full_events[k] = event{};
    return k;
  }

  // A non-position event; the reference is valid until the next acquire.
  event& new_event(event_kind kind, timestamp_ms time, std::uint32_t& slot) {
    slot = acquire_item();
    const std::uint32_t k = acquire_full();
    queued& q = items[slot];
    q.time = time;
    q.event_no = ++event_seq;
    q.full = k;
    event& e = full_events[k];
    e.kind = kind;
    e.id = make_name('E', q.event_no);
    e.time = time;
    return e;
  }

  duration_ms latency() {
    return rng.between(opt.queue_latency_min_ms, std::max(opt.queue_latency_min_ms, opt.queue_latency_max_ms));
  }

  void push(std::uint32_t slot, timestamp_ms at) {
    assert(at > now);
    if (at - now < kRingMs) {
      ring[static_cast<std::size_t>(at & (kRingMs - 1))].push_back(slot);
    } else {
      // Due later than the ring reaches: enqueued before any ring item of
      // the same millisecond, so it is delivered before them.
      overflow.push_back({at, ++queue_seq, slot});
      std::push_heap(overflow.begin(), overflow.end(), pending_later{});
    }
  }

  void enqueue(std::uint32_t slot, timestamp_ms at) {
    push(slot, at);
    // At-least-once: sometimes the same item (same eventId) comes again.
    if (rng.chance(opt.duplicate_rate)) {
      const std::uint32_t copy = acquire_item();
      items[copy] = items[slot];
      items[copy].tag = item_tag::duplicate;
      if (items[slot].full != kNone) {
        const std::uint32_t k = acquire_full();
        full_events[k] = full_events[items[slot].full];
        items[copy].full = k;
      }
      push(copy, at + rng.between(1, std::max<duration_ms>(1, opt.duplicate_delay_max_ms)));
    }
  }

  // An order's events keep their order in the queue (one partition per order).
  void enqueue_for_order(std::uint32_t slot, order_rec& o) {
    const timestamp_ms at = std::max(items[slot].time + latency(), o.last_delivered_at + 1);
    o.last_delivered_at = at;
    enqueue(slot, at);
  }

  void flush(timestamp_ms until, std::vector<sim_event>& out) {
    for (timestamp_ms ms = now + 1; ms <= until; ++ms) {
      while (!overflow.empty() && overflow.front().at <= ms) {
        std::pop_heap(overflow.begin(), overflow.end(), pending_later{});
        const pending p = overflow.back();
        overflow.pop_back();
        deliver_item(p.slot, p.at, out);
      }
      auto& bucket = ring[static_cast<std::size_t>(ms & (kRingMs - 1))];
      for (const std::uint32_t slot : bucket) deliver_item(slot, ms, out);
      bucket.clear();
    }
  }

  void deliver_item(std::uint32_t slot, timestamp_ms at, std::vector<sim_event>& out) {
    {
      const queued& q = items[slot];
      out.emplace_back();
      sim_event& item = out.back();
      item.delivered_at = at;
      event& e = item.ev;
      if (q.full == kNone) {
        e.kind = event_kind::rider_position;
        e.id = make_name('E', q.event_no);
        e.time = q.time;
        e.rider = q.rider;
        e.position = q.point;
        e.has_position = true;
      } else {
        e = std::move(full_events[q.full]);
        free_full.push_back(q.full);
      }
      count(e, q.tag);
      free_items.push_back(slot);
    }
  }

  void count(const event& e, item_tag tag) {
    ++counters.events;
    if (e.kind == event_kind::rider_position) ++counters.positions;
    if (tag == item_tag::duplicate) {
      ++counters.duplicates;
      if (e.kind == event_kind::rider_position) ++counters.duplicate_positions;
      return;
    }
    switch (e.kind) {
      case event_kind::order_created: ++counters.orders_created; break;
      case event_kind::order_paid: ++counters.orders_paid; break;
      case event_kind::picking_stage: ++counters.picking_stages; break;
      case event_kind::rider_assigned: ++counters.riders_assigned; break;
      case event_kind::order_delivered: ++counters.orders_delivered; break;
      case event_kind::order_cancelled: ++counters.orders_cancelled; break;
      case event_kind::position_batch:
        ++counters.batches;
        counters.batch_fixes += e.fixes.size();
        break;
      case event_kind::rider_position:
        if (tag == item_tag::late_fix) ++counters.late_fixes;
        break;
    }
  }

  // ------------------------------------------------------------ jobs

  void schedule(job_kind kind, timestamp_ms at, std::uint32_t target, std::uint32_t serial,
                std::uint8_t arg = 0) {
    assert(at > clock_ms);
    const job j{at, ++job_seq, kind, arg, target, serial};
    if (at - clock_ms < kRingMs) {
      job_ring[static_cast<std::size_t>(at & (kRingMs - 1))].push_back(j);
    } else {
      jobs.push_back(j);
      std::push_heap(jobs.begin(), jobs.end(), job_later{});
    }
  }

  // Orders per hour at a warehouse: its riders' capacity times the time of day.
  void schedule_next_order(std::uint32_t w, timestamp_ms t) {
    if (riders_per_warehouse[w] == 0 || opt.orders_per_rider_hour <= 0) return;
    const double hour = local_hour(t);
    const double demand = (hour >= 11 && hour < 13) ? 1.4
                          : (hour >= 17 && hour < 20) ? 1.5
                          : (hour < 7) ? 0.3 : 1.0;
    const double per_hour = riders_per_warehouse[w] * opt.orders_per_rider_hour * demand;
    const auto gap = static_cast<duration_ms>(rng.exponential(3'600'000.0 / per_hour)) + 1;
    schedule(job_kind::next_order, t + gap, w, 0);
  }

  double local_hour(timestamp_ms t) const {
    const std::int64_t day = 86'400'000;
    const std::int64_t local = ((t + opt.city.utc_offset_hours * 3'600'000LL) % day + day) % day;
    return static_cast<double>(local) / 3'600'000.0;
  }

  order_rec* live_order(std::uint32_t slot, std::uint32_t serial) {
    order_rec& o = orders[slot];
    return o.serial == serial ? &o : nullptr;
  }

  void release_order(std::uint32_t slot) {
    ++orders[slot].serial;  // outstanding jobs and queue entries now miss
    orders[slot].open_truth.clear();
    free_orders.push_back(slot);
  }

  void run(const job& j) {
    switch (j.kind) {
      case job_kind::next_order: create_order(j.target, j.at); break;
      case job_kind::pay: pay(j); break;
      case job_kind::stage: stage(j); break;
      case job_kind::cancel: cancel(j); break;
      case job_kind::deliver: deliver(j); break;
      case job_kind::promise_check: promise_check(j); break;
    }
  }

  void create_order(std::uint32_t w, timestamp_ms t) {
    schedule_next_order(w, t);
    const warehouse_site& site = city.warehouses()[w];
    if (site.customer_nodes.empty()) return;
    std::uint32_t slot;
    if (free_orders.empty()) {
      slot = static_cast<std::uint32_t>(orders.size());
      orders.emplace_back();
    } else {
      slot = free_orders.back();
      free_orders.pop_back();
    }
    order_rec& o = orders[slot];
    o.id = make_name('O', ++order_seq);
    o.warehouse = w;
    o.customer = site.customer_nodes[static_cast<std::size_t>(
        rng.between(0, static_cast<std::int64_t>(site.customer_nodes.size()) - 1))];
    o.status = order_status::pending_payment;
    o.promised = t + rng.between(opt.promise_min_ms, std::max(opt.promise_min_ms, opt.promise_max_ms));
    o.last_delivered_at = 0;
    o.rider = kNone;
    o.stall = rng.chance(opt.timeout_rate);

    std::uint32_t ev_slot;
    event& e = new_event(event_kind::order_created, t, ev_slot);
    e.order = o.id;
    e.user = make_name('U', static_cast<std::uint64_t>(rng.between(1, 1'000'000)));
    e.warehouse = site.id;
    // Basket of 15..300 yuan, whole cents.
    e.amount = static_cast<amount_cents>(1500 + rng.between(0, 28'500));
    e.origin = site.point;
    e.destination = city.nodes()[o.customer];
    e.address = "Block " + std::to_string(o.customer / 97) + ", No. " + std::to_string(o.customer % 97 + 1);
    e.promised_time = o.promised;
    enqueue_for_order(ev_slot, o);

    promises.push_back({o.promised, ++job_seq, job_kind::promise_check, 0, slot, o.serial});
    std::push_heap(promises.begin(), promises.end(), job_later{});
    if (rng.chance(opt.cancel_unpaid_rate)) {
      schedule(job_kind::cancel, t + rng.between(120'000, 600'000), slot, o.serial,
               static_cast<std::uint8_t>(order_status::pending_payment));
    } else {
      schedule(job_kind::pay, t + rng.between(5'000, 60'000), slot, o.serial);
    }
  }

  void emit_order_event(event_kind kind, timestamp_ms t, order_rec& o) {
    std::uint32_t slot;
    event& e = new_event(kind, t, slot);
    e.order = o.id;
    enqueue_for_order(slot, o);
  }

  void pay(const job& j) {
    order_rec* o = live_order(j.target, j.serial);
    if (!o || o->status != order_status::pending_payment) return;
    o->status = order_status::paid;
    emit_order_event(event_kind::order_paid, j.at, *o);
    schedule(job_kind::stage, j.at + rng.between(1'000, 5'000), j.target, j.serial, 1);
    if (rng.chance(opt.cancel_paid_rate))
      schedule(job_kind::cancel, j.at + rng.between(30'000, 360'000), j.target, j.serial,
               static_cast<std::uint8_t>(order_status::paid));
  }

  void emit_stage(order_rec& o, picking_stage s, timestamp_ms t) {
    std::uint32_t slot;
    event& e = new_event(event_kind::picking_stage, t, slot);
    e.order = o.id;
    e.warehouse = city.warehouses()[o.warehouse].id;
    e.stage = s;
    enqueue_for_order(slot, o);
  }

  void stage(const job& j) {
    order_rec* o = live_order(j.target, j.serial);
    if (!o || o->status != order_status::paid) return;
    emit_stage(*o, static_cast<picking_stage>(j.arg), j.at);
    duration_ms next = 0;
    switch (j.arg) {
      case 1: next = rng.between(10'000, 60'000); break;
      case 2:
        next = rng.between(120'000, 360'000);
        if (o->stall) next += rng.between(25 * 60'000, 35 * 60'000);
        break;
      case 3: next = rng.between(30'000, 90'000); break;
      default:  // packed: waits for a rider
        ready[o->warehouse].push_back({j.target, j.serial});
        dispatch(o->warehouse, j.at);
        return;
    }
    schedule(job_kind::stage, j.at + next, j.target, j.serial, static_cast<std::uint8_t>(j.arg + 1));
  }

  void close_truths(order_rec& o, timestamp_ms t) {
    for (const std::uint32_t k : o.open_truth) {
      anomaly_truth& row = truth[k];
      if (row.end_ms < 0) row.end_ms = t;
      if (row.rider.empty() && o.rider != kNone) row.rider = riders[o.rider].id;
    }
    o.open_truth.clear();
  }

  void cancel(const job& j) {
    order_rec* o = live_order(j.target, j.serial);
    if (!o || o->status != static_cast<order_status>(j.arg)) return;
    o->status = order_status::cancelled;
    std::uint32_t slot;
    event& e = new_event(event_kind::order_cancelled, j.at, slot);
    e.order = o->id;
    e.address = o->rider != kNone ? "customer cancelled during delivery" : "customer cancelled";
    enqueue_for_order(slot, *o);
    close_truths(*o, j.at);
    // A delivering rider learns it at the stop and rides on; the slot is
    // freed there, so the stop still finds a cancelled order.
    if (o->rider == kNone) release_order(j.target);
  }

  void deliver(const job& j) {
    order_rec* o = live_order(j.target, j.serial);
    if (!o) return;
    if (o->status == order_status::delivering) {
      o->status = order_status::completed;
      std::uint32_t slot;
      event& e = new_event(event_kind::order_delivered, j.at, slot);
      e.order = o->id;
      e.rider = riders[o->rider].id;
      e.position = noisy(city.nodes()[o->customer]);
      e.has_position = true;
      enqueue_for_order(slot, *o);
      close_truths(*o, j.at);
    }
    release_order(j.target);
  }

  void promise_check(const job& j) {
    order_rec* o = live_order(j.target, j.serial);
    if (!o || is_terminal(o->status)) return;
    // Late (injected or not): ground truth from the promised time on.
    anomaly_truth row;
    row.order = o->id;
    if (o->rider != kNone) row.rider = riders[o->rider].id;
    row.kind = alert_kind::delivery_timeout;
    row.start_ms = j.at;
    o->open_truth.push_back(static_cast<std::uint32_t>(truth.size()));
    truth.push_back(row);
  }

  // ------------------------------------------------------------ trips

  geo_point noisy(geo_point p) {
    if (opt.gps_noise_m > 0) {
      p.lon += rng.normal() * noise_lon;
      p.lat += rng.normal() * noise_lat;
    }
    if (coordinate_scale > 0) {
      // Divide by the integer scale: the nearest double to the decimal, so
      // it prints short ("116.3707913", not "116.37079129999999").
      p.lon = round_half_away(p.lon * coordinate_scale) / coordinate_scale;
      p.lat = round_half_away(p.lat * coordinate_scale) / coordinate_scale;
    }
    return p;
  }

  double straight_m(geo_point a, geo_point b) const {
    return std::hypot((a.lon - b.lon) * kx, (a.lat - b.lat) * ky);
  }

  void append_leg(std::uint32_t w, std::uint32_t from, std::uint32_t to, street_path& path) {
    if (!city.shortest_path(from, to, scratch, path)) {
      city.path_to_warehouse(w, from, path);
      city.path_from_warehouse(w, to, path);
    }
  }

  void dispatch(std::uint32_t w, timestamp_ms t) {
    auto& queue_w = ready[w];
    while (!idle[w].empty()) {
      while (!queue_w.empty()) {
        const auto [slot, serial] = queue_w.front();
        const order_rec* o = live_order(slot, serial);
        if (o && o->status == order_status::paid) break;
        queue_w.pop_front();  // cancelled meanwhile
      }
      if (queue_w.empty()) return;
      const std::uint32_t r = idle[w].front();
      idle[w].pop_front();
      const double u = rng.uniform();
      trip_anomaly anomaly = trip_anomaly::none;
      if (u < opt.route_deviation_rate) {
        anomaly = trip_anomaly::deviation;
      } else if (u < opt.route_deviation_rate + opt.standstill_rate) {
        anomaly = trip_anomaly::standstill;
      } else if (u < opt.route_deviation_rate + opt.standstill_rate + opt.silent_rate) {
        anomaly = trip_anomaly::silent;
      }
      // Anomalous trips carry one order, so the ground truth is one row.
      const double k_roll = rng.uniform();
      std::size_t want = anomaly != trip_anomaly::none ? 1 : k_roll < 0.5 ? 1 : k_roll < 0.8 ? 2 : 3;
      std::vector<std::uint32_t> taken;
      while (taken.size() < want && !queue_w.empty()) {
        const auto [slot, serial] = queue_w.front();
        queue_w.pop_front();
        const order_rec* o = live_order(slot, serial);
        if (o && o->status == order_status::paid) taken.push_back(slot);
      }
      start_trip(r, taken, anomaly, t);
    }
  }

  void start_trip(std::uint32_t ri, std::vector<std::uint32_t>& taken, trip_anomaly anomaly,
                  timestamp_ms t) {
    rider_rec& r = riders[ri];
    const std::uint32_t w = r.warehouse;
    const warehouse_site& site = city.warehouses()[w];
    // Nearest customer first.
    geo_point at = site.point;
    for (std::size_t i = 0; i < taken.size(); ++i) {
      std::size_t best = i;
      for (std::size_t k = i + 1; k < taken.size(); ++k)
        if (straight_m(at, city.nodes()[orders[taken[k]].customer]) <
            straight_m(at, city.nodes()[orders[taken[best]].customer]))
          best = k;
      std::swap(taken[i], taken[best]);
      at = city.nodes()[orders[taken[i]].customer];
    }
    r.path.clear();
    r.stops.clear();
    city.path_from_warehouse(w, orders[taken[0]].customer, r.path);
    r.stops.push_back({r.path.nodes.size() - 1, taken[0], orders[taken[0]].serial});
    for (std::size_t i = 1; i < taken.size(); ++i) {
      append_leg(w, orders[taken[i - 1]].customer, orders[taken[i]].customer, r.path);
      r.stops.push_back({r.path.nodes.size() - 1, taken[i], orders[taken[i]].serial});
    }

    // Tell each order its rider and its planned route: the rider's path
    // from the warehouse to that order's customer.
    for (std::size_t i = 0; i < taken.size(); ++i) {
      order_rec& o = orders[taken[i]];
      emit_stage(o, picking_stage::handed_over, t + static_cast<timestamp_ms>(i));
      o.status = order_status::delivering;
      o.rider = ri;
      std::uint32_t slot;
      event& e = new_event(event_kind::rider_assigned, t + 1000 + static_cast<timestamp_ms>(i), slot);
      e.order = o.id;
      e.rider = r.id;
      e.route.reserve(r.stops[i].node_index + 1);
      for (std::size_t n = 0; n <= r.stops[i].node_index; ++n) e.route.push_back(city.nodes()[r.path.nodes[n]]);
      enqueue_for_order(slot, o);
      for (const std::uint32_t k : o.open_truth)
        if (truth[k].rider.empty()) truth[k].rider = r.id;
      if (rng.chance(opt.cancel_delivering_rate))
        schedule(job_kind::cancel, t + rng.between(120'000, 600'000), taken[i], o.serial,
                 static_cast<std::uint8_t>(order_status::delivering));
    }

    const timestamp_ms depart = t + 1000 + rng.between(30'000, 90'000);
    r.idle = false;
    r.seg = 0;
    r.offset_m = 0;
    r.next_stop = 0;
    r.busy_until = depart;
    r.anomaly = trip_anomaly::none;
    r.truth = kNone;
    r.planned.reset();
    if (anomaly == trip_anomaly::deviation) plan_detour(r);
    if (anomaly == trip_anomaly::standstill) {
      r.anomaly = anomaly;
      r.anomaly_at = depart + rng.between(60'000, 240'000);
      r.anomaly_ms = rng.between(opt.standstill_min_ms, std::max(opt.standstill_min_ms, opt.standstill_max_ms));
    }
    if (anomaly == trip_anomaly::silent) {
      r.anomaly = anomaly;
      r.anomaly_at = depart + rng.between(30'000, 180'000);
      r.anomaly_until = r.anomaly_at + rng.between(opt.silent_min_ms, std::max(opt.silent_min_ms, opt.silent_max_ms));
    }
    // Home again after the last stop.
    city.path_to_warehouse(w, r.path.nodes.back(), r.path);
    load_segment(r);
  }

  // A detour: from a node a third of the way along the route to a node at
  // least 500 m off it, then on to the customer. The assignment keeps the
  // planned route; the ground truth is where the rider is really off it.
  void plan_detour(rider_rec& r) {
    const std::size_t stop_index = r.stops[0].node_index;
    if (stop_index < 4) return;
    std::vector<geo_point> points;
    for (std::size_t n = 0; n <= stop_index; ++n) points.push_back(city.nodes()[r.path.nodes[n]]);
    auto line = polyline::make(points);
    if (!line) return;
    const std::size_t leave = stop_index / 3;
    const std::uint32_t from = r.path.nodes[leave];
    const auto& candidates = city.warehouses()[r.warehouse].customer_nodes;
    for (int attempt = 0; attempt < 40; ++attempt) {
      const std::uint32_t d = candidates[static_cast<std::size_t>(
          rng.between(0, static_cast<std::int64_t>(candidates.size()) - 1))];
      const geo_point pd = city.nodes()[d];
      const double off = line->project(pd).distance_m;
      if (off < 500 || straight_m(pd, city.nodes()[from]) > 1500) continue;
      street_path detour;
      detour.nodes.assign(r.path.nodes.begin(), r.path.nodes.begin() + static_cast<std::ptrdiff_t>(leave) + 1);
      detour.edges.assign(r.path.edges.begin(), r.path.edges.begin() + static_cast<std::ptrdiff_t>(leave));
      if (!city.shortest_path(from, d, scratch, detour)) continue;
      if (!city.shortest_path(d, r.path.nodes[stop_index], scratch, detour)) continue;
      r.path = std::move(detour);
      r.stops[0].node_index = r.path.nodes.size() - 1;
      r.anomaly = trip_anomaly::deviation;
      r.planned = std::move(*line);
      return;
    }
  }

  // Copies path segment r.seg (or the path's last node) into the rider.
  void load_segment(rider_rec& r) const {
    const auto& nodes = city.nodes();
    if (r.seg >= r.path.edges.size()) {
      r.seg_a = r.seg_b = nodes[r.path.nodes[std::min(r.seg, r.path.nodes.size() - 1)]];
      r.seg_edge = street_edge{};
      return;
    }
    r.seg_a = nodes[r.path.nodes[r.seg]];
    r.seg_b = nodes[r.path.nodes[r.seg + 1]];
    r.seg_edge = city.edges()[r.path.edges[r.seg]];
  }

  static geo_point position_of(const rider_rec& r) {
    const double len = r.seg_edge.length_m;
    const double f = len > 0 ? std::min(1.0, r.offset_m / len) : 0.0;
    return {r.seg_a.lon + (r.seg_b.lon - r.seg_a.lon) * f, r.seg_a.lat + (r.seg_b.lat - r.seg_a.lat) * f};
  }

  std::uint32_t open_rider_truth(rider_rec& r, alert_kind kind, timestamp_ms start,
                                 timestamp_ms end = -1) {
    order_rec& o = orders[r.stops[0].order];
    if (o.serial != r.stops[0].serial || o.status != order_status::delivering) return kNone;
    anomaly_truth row;
    row.order = o.id;
    row.rider = r.id;
    row.kind = kind;
    row.start_ms = start;
    row.end_ms = end;
    const auto k = static_cast<std::uint32_t>(truth.size());
    truth.push_back(row);
    if (end < 0) o.open_truth.push_back(k);
    return k;
  }

  // Reaching path.nodes[seg] at time t.
  void reach_node(std::uint32_t ri, rider_rec& r, double& t) {
    if (r.next_stop < r.stops.size() && r.stops[r.next_stop].node_index == r.seg) {
      const stop& s = r.stops[r.next_stop++];
      const auto at = static_cast<timestamp_ms>(std::ceil(t));
      if (r.offline_until > 0) r.offline_until = std::min(r.offline_until, at);  // back online to confirm
      order_rec& o = orders[s.order];
      if (o.serial == s.serial && o.status == order_status::delivering) {
        const timestamp_ms handed = at + rng.between(60'000, 180'000);
        schedule(job_kind::deliver, handed, s.order, s.serial);
        r.busy_until = handed;
        t = static_cast<double>(handed);
      } else if (o.serial == s.serial) {
        release_order(s.order);  // cancelled on the way
      }
    }
    if (r.seg + 1 >= r.path.nodes.size()) {  // home
      r.idle = true;
      if (r.offline_until > 0) r.offline_until = std::min(r.offline_until, static_cast<timestamp_ms>(std::ceil(t)));
      idle[r.warehouse].push_back(ri);
    }
  }

  void advance(std::uint32_t ri, rider_rec& r, timestamp_ms t1) {
    if (r.idle) return;
    double t = static_cast<double>(std::max(r.last_tick, r.busy_until));
    const double end = static_cast<double>(t1);
    while (t < end && !r.idle) {
      const double v = r.speed_mps * city.speed_factor(r.seg_edge, static_cast<timestamp_ms>(t));
      const double left = r.seg_edge.length_m - r.offset_m;
      const double need_ms = left / v * 1000.0;
      if (t + need_ms <= end) {
        t += need_ms;
        ++r.seg;
        r.offset_m = 0;
        load_segment(r);
        reach_node(ri, r, t);
      } else {
        r.offset_m += v * (end - t) / 1000.0;
        t = end;
      }
    }
    // A standstill starts at the first report after its time, where the rider is.
    if (r.anomaly == trip_anomaly::standstill && !r.idle && t1 >= r.anomaly_at &&
        r.next_stop == 0 && r.busy_until < t1) {
      r.busy_until = t1 + r.anomaly_ms;
      open_rider_truth(r, alert_kind::standstill, t1, r.busy_until);
      r.anomaly = trip_anomaly::none;
    }
  }

  void report(rider_rec& r, timestamp_ms t) {
    const geo_point truth_point = position_of(r);
    if (r.anomaly == trip_anomaly::deviation) {
      if (r.next_stop > 0) {
        r.anomaly = trip_anomaly::none;
      } else {
        const bool off = r.planned->project(truth_point).distance_m > opt.deviation_truth_m;
        if (off && r.truth == kNone) {
          r.truth = open_rider_truth(r, alert_kind::route_deviation, t);
        } else if (!off && r.truth != kNone) {
          if (truth[r.truth].end_ms < 0) truth[r.truth].end_ms = t;
          r.truth = kNone;
        }
      }
    }
    if (r.anomaly == trip_anomaly::silent && t >= r.anomaly_at) {
      if (t < r.anomaly_until) {
        if (r.truth == kNone) r.truth = open_rider_truth(r, alert_kind::rider_silent, t);
        ++counters.silent_fixes;
        return;
      }
      if (r.truth != kNone && truth[r.truth].end_ms < 0) truth[r.truth].end_ms = t;
      r.truth = kNone;
      r.anomaly = trip_anomaly::none;
    }

    const bool must = r.force_report;
    r.force_report = false;
    if (r.offline_until > 0) {
      if (t < r.offline_until) {
        r.cache.push_back({t, noisy(truth_point)});
        return;
      }
      // Back online: the live fix first, then the cached ones as one batch,
      // all older than the live fix when they arrive.
      r.offline_until = 0;
      emit_position(r, t, truth_point, t + latency());
      std::uint32_t slot;
      event& e = new_event(event_kind::position_batch, t, slot);
      e.rider = r.id;
      e.fixes.swap(r.cache);
      r.cache.clear();
      items[slot].tag = item_tag::batch;
      enqueue(slot, t + opt.queue_latency_max_ms + 1 +
                        rng.between(0, std::max<duration_ms>(0, opt.batch_upload_delay_max_ms)));
      return;
    }
    const bool normal_trip = r.anomaly == trip_anomaly::none && !r.idle;
    if (!must && normal_trip &&
        rng.chance(opt.offline_per_rider_hour * static_cast<double>(opt.report_interval_ms) / 3'600'000.0)) {
      r.offline_until = t + rng.between(opt.offline_min_ms, std::max(opt.offline_min_ms, opt.offline_max_ms));
      r.cache.push_back({t, noisy(truth_point)});
      return;
    }
    if (!must && rng.chance(opt.drop_rate)) {
      ++counters.dropped_fixes;
      return;
    }
    if (!must && normal_trip && rng.chance(opt.late_fix_rate)) {
      // Arrives after the next report, which is therefore forced through.
      r.force_report = true;
      const std::uint32_t slot = emit_position(
          r, t, truth_point,
          t + opt.report_interval_ms + opt.queue_latency_max_ms + 1 + rng.between(0, 5'000));
      items[slot].tag = item_tag::late_fix;
      return;
    }
    emit_position(r, t, truth_point, t + latency());
  }

  std::uint32_t emit_position(rider_rec& r, timestamp_ms t, geo_point p, timestamp_ms at) {
    const std::uint32_t slot = acquire_item();
    queued& q = items[slot];
    q.time = t;
    q.event_no = ++event_seq;
    q.point = noisy(p);
    q.rider = r.id;
    enqueue(slot, at);
    return slot;
  }

  timestamp_ms tick_time() const {
    const auto n = static_cast<timestamp_ms>(riders.size());
    if (n == 0) return kNever;
    // Phases spread the riders evenly over the interval, all in [1, interval].
    return opt.start + static_cast<timestamp_ms>(tick_cycle) * opt.report_interval_ms + 1 +
           (tick_rider * opt.report_interval_ms) / n;
  }

  void tick(std::uint32_t ri, timestamp_ms t) {
    rider_rec& r = riders[ri];
    const bool was_idle = r.idle;
    advance(ri, r, t);
    r.last_tick = t;
    report(r, t);
    if (r.idle && !was_idle) dispatch(r.warehouse, t);
  }

  void step(duration_ms dt, std::vector<sim_event>& out) {
    const timestamp_ms end = now + dt;
    // Everything in time order, a millisecond at a time; within one: jobs
    // (those from beyond the ring were scheduled first), promise checks,
    // then rider reports. Nothing schedules into the millisecond it runs in.
    timestamp_ms tt = tick_time();
    for (timestamp_ms ms = now + 1; ms <= end; ++ms) {
      clock_ms = ms;
      while (!jobs.empty() && jobs.front().at <= ms) {
        std::pop_heap(jobs.begin(), jobs.end(), job_later{});
        const job j = jobs.back();
        jobs.pop_back();
        run(j);
      }
      auto& bucket = job_ring[static_cast<std::size_t>(ms & (kRingMs - 1))];
      for (std::size_t k = 0; k < bucket.size(); ++k) run(job(bucket[k]));
      bucket.clear();
      while (!promises.empty() && promises.front().at <= ms) {
        std::pop_heap(promises.begin(), promises.end(), job_later{});
        const job j = promises.back();
        promises.pop_back();
        run(j);
      }
      while (tt <= ms) {
        tick(tick_rider, tt);
        if (++tick_rider == riders.size()) {
          tick_rider = 0;
          ++tick_cycle;
        }
        tt = tick_time();
      }
    }
    flush(end, out);
    now = end;
  }
};

const char* anomaly_kind_name(alert_kind k) noexcept {
  switch (k) {
    case alert_kind::route_deviation: return "route_deviation";
    case alert_kind::standstill: return "standstill";
    case alert_kind::delivery_timeout: return "delivery_timeout";
    case alert_kind::rider_silent: return "rider_silent";
  }
  return "unknown";
}

void append_jsonl(const sim_event& item, std::string& out) {
  const std::size_t start = out.size();
  event_to_json(item.ev, out);
  // Splice the queue time in as the first key: {"deliveredAt":N,"type":...
  char buf[40] = "{\"deliveredAt\":";
  const std::size_t prefix = std::strlen(buf);
  const auto end = std::to_chars(buf + prefix, buf + sizeof buf - 1, item.delivered_at).ptr;
  *end = ',';
  out.replace(start, 1, buf, static_cast<std::size_t>(end + 1 - buf));
  out += '\n';
}

void append_ground_truth_csv(const std::vector<anomaly_truth>& truth, std::string& out) {
  out += "order_id,rider_id,kind,start_ms,end_ms\n";
  for (const anomaly_truth& row : truth) {
    out += row.order.view();
    out += ',';
    out += row.rider.view();
    out += ',';
    out += anomaly_kind_name(row.kind);
    out += ',';
    out += std::to_string(row.start_ms);
    out += ',';
    if (row.end_ms >= 0) out += std::to_string(row.end_ms);
    out += '\n';
  }
}

simulation::simulation(const sim_options& options) : impl_(std::make_unique<impl>(options)) {}
simulation::~simulation() = default;
simulation::simulation(simulation&&) noexcept = default;
simulation& simulation::operator=(simulation&&) noexcept = default;

bool simulation::step(duration_ms dt, std::vector<sim_event>& out) {
  assert(dt > 0);
  impl_->step(dt, out);
  return true;
}

const sim_options& simulation::options() const noexcept { return impl_->opt; }
const city_map& simulation::city() const noexcept { return impl_->city; }
const std::vector<anomaly_truth>& simulation::ground_truth() const noexcept { return impl_->truth; }
const sim_counters& simulation::counters() const noexcept { return impl_->counters; }
timestamp_ms simulation::now() const noexcept { return impl_->now; }
rider_id simulation::rider_name(std::size_t index) const { return impl_->riders.at(index).id; }

}  // namespace xiaoxiang
