// engine: Tracker (with memory / SQLite / no storage, and an in-process
// broker for subscriptions), ingest of single events and of bulk arrays,
// subscriptions with Python callbacks, snapshots, nearby riders and replay
// queries.
//
// The GIL: every call into the engine or the broker releases it, because
// the engine delivers subscription callbacks synchronously on the ingesting
// thread while holding an order's (or rider's) lock, and a callback takes
// the GIL back to run Python. If a Python thread held the GIL while waiting
// for such a lock, the two would wait for each other forever. Calls that
// would take an engine lock from inside a callback raise RuntimeError.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/sim/simulation.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang::python {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Depth of subscription callbacks running on this thread.
thread_local int t_in_callback = 0;

void forbid_in_callback(const char* what) {
  if (t_in_callback > 0)
    throw py::value_error(std::string("callback: Tracker.") + what +
                          " cannot be called from a subscription callback (the engine holds the "
                          "order's lock while delivering); collect what you need and call it after");
}

// ---- messages as dicts -----------------------------------------------------

py::object state_dict(const tracking_state& s, std::uint32_t changed, message_kind kind) {
  py::dict d;
  if (kind == message_kind::snapshot) changed = field::all;
  d["type"] = message_kind_name(kind);
  d["orderId"] = id_or_none(s.order);
  d["version"] = s.version;
  if (changed & field::status) d["status"] = to_code(s.status);
  if (changed & field::position) {
    d["longitude"] = s.has_position ? py::object(py::float_(s.position.lon)) : py::object(py::none());
    d["latitude"] = s.has_position ? py::object(py::float_(s.position.lat)) : py::object(py::none());
  }
  if (changed & field::address) d["address"] = s.address;
  if (changed & field::operator_info) {
    d["operatorId"] = id_or_none(s.operator_id);
    d["operatorType"] = to_code(s.op_type);
  }
  if (changed & field::create_time) d["createTime"] = s.create_time;
  if (changed & field::eta) {
    d["etaSeconds"] = s.eta_seconds;
    d["etaP90Seconds"] = s.eta_p90_seconds;
  }
  if (changed & field::alerts) {
    py::list alerts;
    for (std::size_t k = 0; k < alert_kind_count; ++k) {
      const alert& a = s.alerts[k];
      if (!a.active) continue;
      py::dict item;
      item["kind"] = alert_kind_name(static_cast<alert_kind>(k));
      item["since"] = a.since;
      item["value"] = a.value;
      alerts.append(item);
    }
    d["alerts"] = alerts;
  }
  if (changed & field::rider) d["riderId"] = id_or_none(s.rider);
  if (changed & field::picking) d["pickingStage"] = to_code(s.stage);
  if (changed & field::user) {
    d["userId"] = id_or_none(s.user);
    d["warehouseId"] = id_or_none(s.warehouse);
  }
  return d;
}

py::object json_loads(std::string_view text) {
  return py::module_::import("json").attr("loads")(py::str(text.data(), text.size()));
}

// ---- subscriptions ---------------------------------------------------------

// What a broker callback holds: the Python callable. Destroyed on whatever
// thread drops the last reference, so it takes the GIL to release it.
struct callback_state {
  py::object fn;
  bool raw = false;
  bool order_topic = true;
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<std::uint64_t> failures{0};

  ~callback_state() {
    if (!Py_IsInitialized()) {
      fn.release();  // the interpreter is gone: nothing to give back
      return;
    }
    py::gil_scoped_acquire gil;
    fn = py::object();
  }

  void deliver(const message_view& m) {
    py::gil_scoped_acquire gil;
    ++t_in_callback;
    try {
      py::object arg;
      if (raw) {
        arg = py::str(m.body.data(), m.body.size());
      } else if (order_topic) {
        auto decoded = decode_update_json(m.body);
        arg = decoded.ok() ? state_dict(decoded->state, decoded->changed, decoded->kind)
                           : json_loads(m.body);
      } else {
        arg = json_loads(m.body);
      }
      fn(arg);
    } catch (py::error_already_set& e) {
      // As an exception in a thread: reported, not propagated into the engine.
      failures.fetch_add(1, std::memory_order_relaxed);
      e.discard_as_unraisable("xiaoxiang subscription callback");
    } catch (const std::exception& e) {
      failures.fetch_add(1, std::memory_order_relaxed);
      PyErr_SetString(PyExc_RuntimeError, e.what());
      PyErr_WriteUnraisable(fn.ptr());
    }
    deliveries.fetch_add(1, std::memory_order_relaxed);
    --t_in_callback;
  }
};

// A subscription and its callback. The Tracker keeps it alive until
// unsubscribe(), so that `tracker.subscribe(order, print)` works without
// holding on to the handle, as Python users expect.
struct subscription_box {
  subscription sub;
  std::shared_ptr<callback_state> state;
  std::string topic;

  void unsubscribe() {
    py::gil_scoped_release unlocked;  // waits for a running callback, which needs the GIL
    sub.unsubscribe();
  }
};

// The Python handle: a shared reference to the box.
struct py_subscription {
  std::shared_ptr<subscription_box> box;
};

// ---- the tracker -----------------------------------------------------------

struct py_tracker {
  std::string storage_kind;
  std::unique_ptr<manual_clock> clock;
  std::unique_ptr<storage> store;
  std::unique_ptr<broker> hub;
  std::unique_ptr<tracker> engine;
  std::mutex subscriptions_mu;  // guards subscriptions (subscribe may run on several threads)
  std::vector<std::shared_ptr<subscription_box>> subscriptions;

  ~py_tracker() {
    {
      py::gil_scoped_release unlocked;  // the destructor flushes the write-behind queue
      for (auto& box : subscriptions) box->sub.unsubscribe();
      engine.reset();
      hub.reset();
      store.reset();
    }
    subscriptions.clear();  // drops the callbacks, with the GIL
  }

  void keep(std::shared_ptr<subscription_box> box) {
    std::lock_guard lock(subscriptions_mu);
    std::erase_if(subscriptions, [](const auto& b) { return !b->sub.active(); });
    subscriptions.push_back(std::move(box));
  }

  std::size_t unsubscribe_all() {
    std::vector<std::shared_ptr<subscription_box>> all;
    {
      std::lock_guard lock(subscriptions_mu);
      all.swap(subscriptions);
    }
    std::size_t active = 0;
    {
      py::gil_scoped_release unlocked;
      for (auto& box : all) {
        active += box->sub.active() ? 1 : 0;
        box->sub.unsubscribe();
      }
    }
    return active;
  }

  void advance_to(timestamp_ms t) const noexcept {
    if (clock && t > clock->now()) clock->set(t);
  }

  // ingest() as a host's queue consumer does it: when the write-behind
  // queue is full, wait for the writer and retry (back-pressure), so bulk
  // loads into SQLite lose nothing. Call without the GIL.
  ingest_result ingest(const event& e) {
    ingest_result r = engine->ingest(e);
    while (r.code == errc::queue_full) {
      engine->flush();
      r = engine->ingest(e);
    }
    return r;
  }
};

struct py_ingest_result {
  ingest_result r;
};

// Per-row outcome of a bulk ingest.
struct py_bulk_result {
  py::array_t<std::uint8_t> status;
  py::array_t<std::int32_t> code;
  py::array_t<std::uint64_t> version;
  std::uint64_t accepted = 0, duplicates = 0, rejected = 0;
};

id require_id(py::handle h, const char* argument) {
  if (h.is_none()) throw_value_error(argument, "an id is required, got None");
  if (!py::isinstance<py::str>(h)) throw_value_error(argument, "expected a str id");
  auto r = id::make(h.cast<std::string>(), argument);
  return value_or_throw(std::move(r), argument);
}

geo_point pair_point(py::handle h, const char* argument) {
  try {
    auto seq = py::reinterpret_borrow<py::sequence>(h);
    if (seq.size() != 2) throw_value_error(argument, "expected (lon, lat)");
    return {seq[0].cast<double>(), seq[1].cast<double>()};
  } catch (py::cast_error&) {
    throw_value_error(argument, "expected (lon, lat) numbers");
  } catch (py::error_already_set&) {
    throw_value_error(argument, "expected (lon, lat)");
  }
}

template <class T>
T cast_arg(py::handle h, const char* argument, const char* expected) {
  try {
    return h.cast<T>();
  } catch (py::cast_error&) {
    throw_value_error(argument, std::string("expected ") + expected);
  }
}

event_kind kind_from(py::handle h) {
  if (py::isinstance<py::str>(h)) {
    auto r = event_kind_from_name(h.cast<std::string>());
    return value_or_throw(std::move(r), "kind");
  }
  const int code = cast_arg<int>(h, "kind", "an event kind name or code");
  if (code < 1 || code > 8) throw_rejection(make_error_code(errc::unknown_event_type), "kind");
  return static_cast<event_kind>(code);
}

event event_from_kwargs(const py::dict& fields) {
  event e;
  bool has_kind = false;
  for (const auto& [key_h, value] : fields) {
    const std::string key = py::str(key_h);
    const char* k = key.c_str();
    if (key == "kind") {
      e.kind = kind_from(value);
      has_kind = true;
    } else if (key == "id" || key == "event_id") {
      e.id = require_id(value, k);
    } else if (key == "time") {
      e.time = cast_arg<std::int64_t>(value, k, "milliseconds since the epoch (int)");
    } else if (key == "order" || key == "order_id") {
      e.order = require_id(value, k);
    } else if (key == "user" || key == "user_id") {
      e.user = require_id(value, k);
    } else if (key == "warehouse" || key == "warehouse_id") {
      e.warehouse = require_id(value, k);
    } else if (key == "rider" || key == "rider_id") {
      e.rider = require_id(value, k);
    } else if (key == "amount_cents") {
      e.amount = cast_arg<std::int64_t>(value, k, "int cents");
    } else if (key == "lon") {
      e.position.lon = cast_arg<double>(value, k, "a number");
      e.has_position = true;
    } else if (key == "lat") {
      e.position.lat = cast_arg<double>(value, k, "a number");
      e.has_position = true;
    } else if (key == "origin") {
      e.origin = pair_point(value, k);
    } else if (key == "destination") {
      e.destination = pair_point(value, k);
    } else if (key == "address") {
      e.address = cast_arg<std::string>(value, k, "a str");
    } else if (key == "promised_time") {
      e.promised_time = cast_arg<std::int64_t>(value, k, "milliseconds since the epoch (int)");
    } else if (key == "stage") {
      const int code = cast_arg<int>(value, k, "a picking stage code 1..5");
      auto r = picking_stage_from_code(code);
      e.stage = value_or_throw(std::move(r), k);
    } else if (key == "route") {
      for (py::handle p : cast_arg<py::sequence>(value, k, "a sequence of (lon, lat)"))
        e.route.push_back(pair_point(p, k));
    } else if (key == "fixes") {
      for (py::handle f : cast_arg<py::sequence>(value, k, "a sequence of (time_ms, lon, lat)")) {
        auto seq = cast_arg<py::sequence>(f, k, "(time_ms, lon, lat)");
        if (seq.size() != 3) throw_value_error(k, "expected (time_ms, lon, lat)");
        e.fixes.push_back({cast_arg<std::int64_t>(seq[0], k, "int milliseconds"),
                           {cast_arg<double>(seq[1], k, "a number"),
                            cast_arg<double>(seq[2], k, "a number")}});
      }
    } else {
      throw_value_error(key, "not a field of an event");
    }
  }
  if (!has_kind) throw_value_error("kind", "the event kind is required ('rider_position', ...)");
  return e;
}

ingest_result rejected_result(errc code, const char* field) {
  ingest_result r;
  r.status = ingest_status::rejected;
  r.code = make_error_code(code);
  r.field = field;
  return r;
}

py_ingest_result ingest_one(py_tracker& t, py::object json, bool advance_clock, const py::kwargs& fields) {
  forbid_in_callback("ingest");
  event e;
  if (!json.is_none()) {
    if (fields.size() != 0)
      throw_value_error("json", "give either a JSON text or keyword fields, not both");
    std::string text;
    if (py::isinstance<py::bytes>(json)) {
      text = json.cast<std::string>();
    } else if (py::isinstance<py::str>(json)) {
      text = json.cast<std::string>();
    } else if (py::isinstance<py::dict>(json)) {
      e = event_from_kwargs(json.cast<py::dict>());
    } else {
      throw_value_error("json", "expected a JSON str or bytes, or a dict of event fields");
    }
    if (!py::isinstance<py::dict>(json)) {
      auto decoded = event_from_json(text);
      if (!decoded.ok()) {
        ingest_result r;
        r.status = ingest_status::rejected;
        r.code = decoded.error();
        r.field = decoded.field();
        return {r};
      }
      e = std::move(decoded).value();
    }
  } else {
    e = event_from_kwargs(fields);
  }
  py::gil_scoped_release unlocked;
  if (advance_clock) t.advance_to(e.time);
  return {t.ingest(e)};
}

// Raw pointers into a py_bulk_result's arrays, taken with the GIL held so
// the loop can fill them without it.
struct bulk_writer {
  explicit bulk_writer(py_bulk_result& r)
      : out(r), status(r.status.mutable_data()), code(r.code.mutable_data()),
        version(r.version.mutable_data()) {}
  py_bulk_result& out;
  std::uint8_t* status;
  std::int32_t* code;
  std::uint64_t* version;
};

void record_row(bulk_writer& w, std::size_t i, const ingest_result& r) {
  py_bulk_result& out = w.out;
  w.status[i] = static_cast<std::uint8_t>(r.status);
  w.code[i] = r.code ? r.code.value() : 0;
  w.version[i] = r.version;
  switch (r.status) {
    case ingest_status::accepted: ++out.accepted; break;
    case ingest_status::duplicate: ++out.duplicates; break;
    case ingest_status::rejected: ++out.rejected; break;
  }
}

py_bulk_result make_bulk(std::size_t n) {
  const auto sn = static_cast<py::ssize_t>(n);
  return {py::array_t<std::uint8_t>(sn), py::array_t<std::int32_t>(sn),
          py::array_t<std::uint64_t>(sn)};
}

// The event id of a generated position: the rider's hash and the time, so
// that the same fix ingested twice is recognised as a duplicate.
id position_event_id(const id& rider, timestamp_ms time) {
  char text[40];
  const auto t = static_cast<unsigned long long>(time) & 0xffffffffffffull;
  const int n = std::snprintf(text, sizeof text, "P%016llx-%llx",
                              static_cast<unsigned long long>(rider.hash()), t);
  return *id::make(std::string_view(text, static_cast<std::size_t>(n)));
}

py_bulk_result ingest_positions(py_tracker& t, py::handle riders, py::handle times, py::handle lon,
                                py::handle lat, py::handle orders, py::handle event_ids,
                                bool advance_clock) {
  forbid_in_callback("ingest_positions");
  const id_column rider_ids = to_ids(riders, "rider_ids");
  const i64_array tm = to_time_ms(times, "t");
  const f64_array x = to_f64(lon, "lon");
  const f64_array y = to_f64(lat, "lat");
  std::optional<id_column> order_ids, given_ids;
  if (!orders.is_none()) order_ids = to_ids(orders, "order_ids");
  if (!event_ids.is_none()) given_ids = to_ids(event_ids, "event_ids");
  const std::size_t n = common_length(
      {{"rider_ids", rider_ids.ids.size()},
       {"t", static_cast<std::size_t>(tm.size())},
       {"lon", static_cast<std::size_t>(x.size())},
       {"lat", static_cast<std::size_t>(y.size())},
       {"order_ids", order_ids ? order_ids->ids.size() : rider_ids.ids.size()},
       {"event_ids", given_ids ? given_ids->ids.size() : rider_ids.ids.size()}},
      false);
  py_bulk_result out = make_bulk(n);
  bulk_writer w(out);
  {
    py::gil_scoped_release unlocked;
    event e;
    e.kind = event_kind::rider_position;
    e.has_position = true;
    for (std::size_t i = 0; i < n; ++i) {
      if (rider_ids.codes[i] != errc::ok) {
        record_row(w, i, rejected_result(rider_ids.codes[i], "riderId"));
        continue;
      }
      if (order_ids && order_ids->codes[i] != errc::ok) {
        record_row(w, i, rejected_result(order_ids->codes[i], "orderId"));
        continue;
      }
      if (given_ids && given_ids->codes[i] != errc::ok) {
        record_row(w, i, rejected_result(given_ids->codes[i], "eventId"));
        continue;
      }
      e.rider = rider_ids.ids[i];
      e.time = tm.data()[i];
      e.position = {x.data()[i], y.data()[i]};
      if (order_ids) e.order = order_ids->ids[i];
      e.id = given_ids ? given_ids->ids[i] : position_event_id(e.rider, e.time);
      if (advance_clock) t.advance_to(e.time);
      record_row(w, i, t.ingest(e));
    }
  }
  return out;
}

py_bulk_result ingest_jsonl(py_tracker& t, py::handle lines, bool advance_clock) {
  forbid_in_callback("ingest_jsonl");
  std::vector<std::string> texts;
  if (py::isinstance<py::str>(lines) || py::isinstance<py::bytes>(lines)) {
    // One text of newline-separated events (a whole events.jsonl).
    std::string all = lines.cast<std::string>();
    std::size_t start = 0;
    while (start < all.size()) {
      std::size_t end = all.find('\n', start);
      if (end == std::string::npos) end = all.size();
      if (end > start) texts.emplace_back(all, start, end - start);
      start = end + 1;
    }
  } else {
    try {
      for (py::handle line : py::reinterpret_borrow<py::iterable>(lines)) {
        if (py::isinstance<py::str>(line) || py::isinstance<py::bytes>(line)) {
          texts.push_back(line.cast<std::string>());
        } else {
          texts.emplace_back();  // not text: rejected as malformed below
        }
      }
    } catch (py::cast_error&) {
      throw_value_error("lines", "expected an iterable of JSON texts");
    }
  }
  py_bulk_result out = make_bulk(texts.size());
  bulk_writer w(out);
  py::gil_scoped_release unlocked;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto decoded = event_from_json(texts[i]);
    if (!decoded.ok()) {
      ingest_result r;
      r.status = ingest_status::rejected;
      r.code = decoded.error();
      r.field = decoded.field();
      record_row(w, i, r);
      continue;
    }
    if (advance_clock) t.advance_to(decoded->time);
    record_row(w, i, t.ingest(*decoded));
  }
  return out;
}

storage& require_store(py_tracker& t) {
  if (!t.store) throw_value_error("storage", "this Tracker has no storage (storage='none')");
  return *t.store;
}

py::object records_table(const std::vector<tracking_record>& rows) {
  const auto n = static_cast<py::ssize_t>(rows.size());
  py::list record_id, order_id, address, operator_id, source_event, kind;
  py::array_t<std::int64_t> status(n), op_type(n), create_time(n), stage(n);
  py::array_t<std::uint64_t> version(n);
  f64_array lon(n), lat(n);
  static const char* kKinds[] = {"", "status_change", "position", "picking", "rider_assigned"};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const tracking_record& r = rows[i];
    record_id.append(id_or_none(r.record_id));
    order_id.append(id_or_none(r.order));
    status.mutable_data()[i] = to_code(r.status);
    lon.mutable_data()[i] = r.has_position ? r.position.lon : kNaN;
    lat.mutable_data()[i] = r.has_position ? r.position.lat : kNaN;
    address.append(r.address);
    operator_id.append(id_or_none(r.operator_id));
    op_type.mutable_data()[i] = to_code(r.op_type);
    create_time.mutable_data()[i] = r.create_time;
    version.mutable_data()[i] = r.version;
    source_event.append(id_or_none(r.source_event));
    const auto k = static_cast<std::size_t>(r.kind);
    kind.append(k < 5 ? kKinds[k] : "unknown");
    stage.mutable_data()[i] = to_code(r.stage);
  }
  auto objects = [](const py::list& l) {
    return py::module_::import("numpy").attr("array")(l, "dtype"_a = "object");
  };
  return make_table({{"record_id", objects(record_id)}, {"order_id", objects(order_id)},
                     {"version", version}, {"status", status}, {"kind", objects(kind)},
                     {"lon", lon}, {"lat", lat}, {"address", objects(address)},
                     {"operator_id", objects(operator_id)}, {"operator_type", op_type},
                     {"create_time", create_time}, {"source_event", objects(source_event)},
                     {"stage", stage}});
}

py::dict order_dict(const order& o) {
  py::dict d;
  d["order_id"] = id_or_none(o.id);
  d["user_id"] = id_or_none(o.user);
  d["warehouse_id"] = id_or_none(o.warehouse);
  d["status"] = to_code(o.status);
  d["status_name"] = status_name(o.status);
  d["total_amount_cents"] = o.total_amount;
  d["create_time"] = o.create_time;
  d["update_time"] = o.update_time;
  d["version"] = o.version;
  d["rider_id"] = id_or_none(o.rider);
  d["origin_lon"] = o.origin.lon;
  d["origin_lat"] = o.origin.lat;
  d["destination_lon"] = o.destination.lon;
  d["destination_lat"] = o.destination.lat;
  d["address"] = o.address;
  d["promised_time"] = o.promised_time;
  d["picking_stage"] = to_code(o.stage);
  return d;
}

py::object orders_table(const std::vector<order>& rows) {
  py::module_ np = py::module_::import("numpy");
  py::dict first = order_dict(order{});
  std::vector<std::pair<std::string, py::list>> columns;
  for (const auto& item : first) columns.emplace_back(py::str(item.first), py::list());
  for (const order& o : rows) {
    py::dict d = order_dict(o);
    for (auto& [name, list] : columns) list.append(d[py::str(name)]);
  }
  std::vector<std::pair<std::string, py::object>> out;
  for (auto& [name, list] : columns) {
    const bool text = name == "order_id" || name == "user_id" || name == "warehouse_id" ||
                      name == "rider_id" || name == "address" || name == "status_name";
    out.emplace_back(name, text ? np.attr("array")(list, "dtype"_a = "object")
                          : (name.find("_lon") != std::string::npos ||
                             name.find("_lat") != std::string::npos)
                              ? np.attr("array")(list, "dtype"_a = "float64")
                              : np.attr("array")(list, "dtype"_a = "int64"));
  }
  return make_table(out);
}

py::dict metrics_dict(const tracker_metrics& m) {
  py::dict d;
  d["events"] = m.events;
  d["accepted"] = m.accepted;
  d["duplicates"] = m.duplicates;
  d["rejected"] = m.rejected;
  d["positions"] = m.positions;
  d["order_updates"] = m.order_updates;
  d["records"] = m.records;
  d["published"] = m.published;
  d["fixes_rejected"] = m.fixes_rejected;
  d["stale_fixes"] = m.stale_fixes;
  d["evicted"] = m.evicted;
  d["storage_backlog"] = m.storage_backlog;
  d["durable_sequence"] = m.durable_sequence;
  py::dict by_code;
  for (const auto& [code, count] : m.rejected_by_code) by_code[errc_name(code)] = count;
  d["rejected_by_code"] = by_code;
  return d;
}

std::unique_ptr<py_tracker> make_tracker(const std::string& storage_kind, std::optional<std::string> path,
                                         std::optional<std::int64_t> clock_ms, double max_speed_kmh,
                                         std::int64_t max_future_skew_ms,
                                         std::int64_t max_position_age_ms,
                                         std::int64_t terminal_retention_ms,
                                         std::int64_t dedup_window_ms, std::size_t history_messages,
                                         std::size_t history_bytes, bool synchronous_full,
                                         bool publish) {
  if (!(max_speed_kmh > 0)) throw_value_error("max_speed_kmh", "must be > 0");
  if (max_future_skew_ms < 0) throw_value_error("max_future_skew_ms", "must be >= 0");
  if (max_position_age_ms <= 0) throw_value_error("max_position_age_ms", "must be > 0");
  if (terminal_retention_ms < 0) throw_value_error("terminal_retention_ms", "must be >= 0");
  if (dedup_window_ms < 0) throw_value_error("dedup_window_ms", "must be >= 0");
  auto t = std::make_unique<py_tracker>();
  t->storage_kind = storage_kind;
  if (clock_ms) t->clock = std::make_unique<manual_clock>(*clock_ms);
  if (storage_kind == "memory") {
    if (path) throw_value_error("path", "only storage='sqlite' takes a path");
    t->store = std::make_unique<memory_storage>();
  } else if (storage_kind == "sqlite") {
    if (!path) throw_value_error("path", "storage='sqlite' needs a path (or ':memory:')");
    sqlite_options so;
    so.synchronous_full = synchronous_full;
    py::gil_scoped_release unlocked;
    t->store = std::make_unique<sqlite_storage>(*path, so);
  } else if (storage_kind == "none") {
    if (path) throw_value_error("path", "only storage='sqlite' takes a path");
  } else {
    throw_value_error("storage", "expected 'memory', 'sqlite' or 'none', got '" + storage_kind + "'");
  }
  broker_options bo;
  bo.history_messages = history_messages;
  bo.history_bytes = history_bytes;
  bo.time_source = t->clock.get();
  if (publish) t->hub = std::make_unique<broker>(bo);
  tracker_options to;
  to.max_speed_kmh = max_speed_kmh;
  to.max_future_skew_ms = max_future_skew_ms;
  to.max_position_age_ms = max_position_age_ms;
  to.terminal_retention_ms = terminal_retention_ms;
  to.dedup_window_ms = dedup_window_ms;
  py::gil_scoped_release unlocked;  // recovery reads the whole store
  t->engine = std::make_unique<tracker>(to, t->store.get(), t->hub.get(), t->clock.get());
  return t;
}

broker& require_hub(py_tracker& t) {
  if (!t.hub) throw_value_error("publish", "this Tracker was made with publish=False: no subscriptions");
  return *t.hub;
}

py_subscription subscribe(py_tracker& t, std::string topic, py::function callback,
                          std::optional<std::uint64_t> since_version, bool raw, bool order) {
  auto state = std::make_shared<callback_state>();
  state->fn = std::move(callback);
  state->raw = raw;
  state->order_topic = order;
  auto box = std::make_shared<subscription_box>();
  box->state = state;
  box->topic = topic;
  result<subscription> r = [&] {
    py::gil_scoped_release unlocked;  // replays run the callback, which takes the GIL
    return require_hub(t).subscribe(topic, since_version,
                            [state](const message_view& m) { state->deliver(m); });
  }();
  if (!r.ok()) throw_rejection(r.error(), r.field(), order ? "order_id" : "topic");
  box->sub = std::move(r).value();
  t.keep(box);
  return py_subscription{box};
}

}  // namespace

bool ingest_into(py::handle tracker_handle, const std::vector<sim_event>& items,
                 std::vector<ingest_result>& results) {
  if (!py::isinstance<py_tracker>(tracker_handle))
    throw_value_error("tracker", "expected a xiaoxiang.Tracker");
  forbid_in_callback("ingest");
  py_tracker& t = tracker_handle.cast<py_tracker&>();
  if (!t.clock)
    throw_value_error("tracker", "a simulation needs a Tracker with a manual clock (clock_ms=...)");
  results.clear();
  results.reserve(items.size());
  py::gil_scoped_release unlocked;
  for (const sim_event& item : items) {
    t.clock->set(item.delivered_at);
    results.push_back(t.ingest(item.ev));
  }
  return true;
}

void bind_engine(py::module_& m) {
  py::class_<py_ingest_result>(m, "IngestResult",
                               "What ingest() did with one event: accepted, duplicate or rejected "
                               "(with the error code's name and the field).")
      .def_property_readonly("status", [](const py_ingest_result& r) { return ingest_status_name(r.r.status); },
                             "'accepted', 'duplicate' or 'rejected'.")
      .def_property_readonly("accepted", [](const py_ingest_result& r) { return r.r.accepted(); })
      .def_property_readonly("code", [](const py_ingest_result& r) { return code_name(r.r.code); },
                             "Error code name ('ok', 'invalid_latitude', 'duplicate_event', ...).")
      .def_property_readonly("code_value", [](const py_ingest_result& r) { return r.r.code.value(); })
      .def_property_readonly("field",
                             [](const py_ingest_result& r) -> py::object {
                               return r.r.field ? py::object(py::str(r.r.field)) : py::object(py::none());
                             },
                             "The field a rejection concerns ('latitude', 'riderId'), or None.")
      .def_property_readonly("message", [](const py_ingest_result& r) { return r.r.message(); })
      .def_property_readonly("version", [](const py_ingest_result& r) { return r.r.version; },
                             "The order's new version (positions: of the last order updated).")
      .def_property_readonly("orders_updated", [](const py_ingest_result& r) { return r.r.orders_updated; })
      .def_property_readonly("fixes_rejected", [](const py_ingest_result& r) { return r.r.fixes_rejected; })
      .def_property_readonly("durable_ticket", [](const py_ingest_result& r) { return r.r.durable_ticket; })
      .def("__bool__", [](const py_ingest_result& r) { return r.r.accepted(); })
      .def("__repr__", [](const py_ingest_result& r) { return "IngestResult(" + r.r.message() + ")"; });

  py::class_<py_bulk_result>(m, "BulkResult",
                             "Per-row outcome of a bulk ingest: status (0 accepted, 1 duplicate, "
                             "2 rejected), error code number and version per row, and counts.")
      .def_readonly("status", &py_bulk_result::status)
      .def_readonly("code", &py_bulk_result::code)
      .def_readonly("version", &py_bulk_result::version)
      .def_readonly("accepted", &py_bulk_result::accepted)
      .def_readonly("duplicates", &py_bulk_result::duplicates)
      .def_readonly("rejected", &py_bulk_result::rejected)
      .def_property_readonly(
          "code_names",
          [](const py_bulk_result& b) {
            py::list names;
            for (py::ssize_t i = 0; i < b.code.size(); ++i)
              names.append(errc_name(static_cast<errc>(b.code.data()[i])));
            return py::module_::import("numpy").attr("array")(names, "dtype"_a = "object");
          },
          "The error code name of each row ('ok' for accepted rows).")
      .def_property_readonly(
          "by_code",
          [](const py_bulk_result& b) {
            py::dict counts;
            for (py::ssize_t i = 0; i < b.code.size(); ++i) {
              const int c = b.code.data()[i];
              if (c == 0) continue;
              py::str name(errc_name(static_cast<errc>(c)));
              counts[name] = (counts.contains(name) ? counts[name].cast<std::uint64_t>() : 0) + 1;
            }
            return counts;
          },
          "Counts of the rows not accepted, by error code name.")
      .def("__len__", [](const py_bulk_result& b) { return b.status.size(); })
      .def("__repr__", [](const py_bulk_result& b) {
        return "BulkResult(" + std::to_string(b.status.size()) + " rows: " +
               std::to_string(b.accepted) + " accepted, " + std::to_string(b.duplicates) +
               " duplicates, " + std::to_string(b.rejected) + " rejected)";
      });

  py::class_<py_subscription>(m, "Subscription",
                              "A live subscription, kept by its Tracker until unsubscribe() (or "
                              "the end of a `with` block); after that returns no callback of it "
                              "runs. Dropping the handle does not unsubscribe.")
      .def("unsubscribe", [](py_subscription& s) { s.box->unsubscribe(); })
      .def_property_readonly("active", [](const py_subscription& s) { return s.box->sub.active(); })
      .def_property_readonly("topic", [](const py_subscription& s) { return s.box->topic; })
      .def_property_readonly("deliveries", [](const py_subscription& s) { return s.box->state->deliveries.load(); },
                             "Messages delivered to the callback so far.")
      .def_property_readonly("failures", [](const py_subscription& s) { return s.box->state->failures.load(); },
                             "Callback calls that raised (reported as unraisable, not propagated).")
      .def("__enter__", [](py_subscription& s) -> py_subscription& { return s; },
           py::return_value_policy::reference)
      .def("__exit__", [](py_subscription& s, py::args) { s.box->unsubscribe(); })
      .def("__repr__", [](const py_subscription& s) {
        return "Subscription('" + s.box->topic + "', " + (s.box->sub.active() ? "active" : "inactive") + ")";
      });

  const tracker_options defaults{};
  const broker_options broker_defaults{};
  py::class_<py_tracker>(m, "Tracker",
                         "The engine: ingest events, query live state, subscribe to orders, "
                         "replay history. storage: 'memory', 'sqlite' (with path) or 'none'. "
                         "clock_ms: a manual clock starting there (replays, simulations); "
                         "None reads the system clock. publish=False leaves out the in-process "
                         "broker (no subscriptions; the engine alone, for benchmarks).")
      .def(py::init(&make_tracker), "storage"_a = "memory", "path"_a = py::none(),
           py::kw_only(), "clock_ms"_a = py::none(), "max_speed_kmh"_a = defaults.max_speed_kmh,
           "max_future_skew_ms"_a = defaults.max_future_skew_ms,
           "max_position_age_ms"_a = defaults.max_position_age_ms,
           "terminal_retention_ms"_a = defaults.terminal_retention_ms,
           "dedup_window_ms"_a = defaults.dedup_window_ms,
           "history_messages"_a = broker_defaults.history_messages,
           "history_bytes"_a = broker_defaults.history_bytes, "synchronous_full"_a = false,
           "publish"_a = true)
      .def("ingest", &ingest_one, "json"_a = py::none(), py::kw_only(), "advance_clock"_a = true,
           "One event, from a JSON text (docs/events.md) or from keyword fields (kind, id, time, "
           "order, user, warehouse, rider, amount_cents, lon, lat, origin, destination, address, "
           "promised_time, stage, route, fixes). A JSON text that does not decode gives a "
           "rejected result; keyword fields of the wrong type or an invalid id raise ValueError. "
           "With a manual clock and advance_clock, the clock first moves forward to the event's time.")
      .def("ingest_positions", &ingest_positions, "rider_ids"_a, "t"_a, "lon"_a, "lat"_a,
           "order_ids"_a = py::none(), "event_ids"_a = py::none(), py::kw_only(),
           "advance_clock"_a = true,
           "Bulk rider positions from arrays (t: int64 ms or datetime64). Loops in C++ without the "
           "GIL. Event ids default to one per (rider, t), so re-ingesting is recognised as "
           "duplicates. Rows with invalid ids are rejected, not raised.")
      .def("ingest_jsonl", &ingest_jsonl, "lines"_a, py::kw_only(), "advance_clock"_a = true,
           "Bulk events from JSON texts (an iterable of lines, or one str of newline-separated "
           "lines as in events.jsonl), decoded and ingested in C++ without the GIL.")
      .def(
          "subscribe",
          [](py_tracker& t, py::handle order_id, py::function callback,
             std::optional<std::uint64_t> since_version, bool raw) {
            const id o = require_id(order_id, "order_id");
            return subscribe(t, order_topic(o), std::move(callback), since_version, raw, true);
          },
          "order_id"_a, "callback"_a, "since_version"_a = py::none(), "raw"_a = false,
          "Calls callback(message) for every change of the order: a dict with camelCase keys "
          "('type', 'orderId', 'version' and the changed keys), or the JSON str when raw. "
          "since_version resumes after that version; None starts with a snapshot once the order "
          "is known. Callbacks run on the ingesting thread with the GIL; they must not call "
          "Tracker.ingest*.")
      .def(
          "subscribe_riders",
          [](py_tracker& t, py::function callback, bool raw) {
            return subscribe(t, riders_topic, std::move(callback), std::nullopt, raw, false);
          },
          "callback"_a, "raw"_a = false,
          "Calls callback(message) for every live rider position (riderId, longitude, latitude, time).")
      .def(
          "unsubscribe_all", [](py_tracker& t) { return t.unsubscribe_all(); },
          "Ends every subscription of this Tracker (their callbacks are released); returns how "
          "many were active. Callbacks that refer to the Tracker keep it alive until then.")
      .def(
          "snapshot",
          [](py_tracker& t, py::handle order_id) -> py::object {
            const id o = require_id(order_id, "order_id");
            std::optional<tracking_state> s;
            {
              py::gil_scoped_release unlocked;
              if (t_in_callback > 0) {
                // The engine may hold this order's lock: read the broker's copy.
                auto r = t.hub ? t.hub->snapshot(o) : result<tracking_state>(errc::unknown_order);
                if (r.ok()) s = *r;
              } else {
                s = t.engine->snapshot(o);
              }
            }
            if (!s) return py::none();
            return state_dict(*s, field::all, message_kind::snapshot);
          },
          "order_id"_a, "What a watcher sees now (every key, camelCase), or None for an unknown order.")
      .def(
          "find_order",
          [](py_tracker& t, py::handle order_id) -> py::object {
            forbid_in_callback("find_order");
            const id o = require_id(order_id, "order_id");
            std::optional<order> found;
            {
              py::gil_scoped_release unlocked;
              found = t.engine->find_order(o);
            }
            if (!found) return py::none();
            return order_dict(*found);
          },
          "order_id"_a, "The order's row (snake_case keys), hot state first then storage; None if unknown.")
      .def(
          "orders_of_rider",
          [](py_tracker& t, py::handle rider_id) {
            forbid_in_callback("orders_of_rider");
            const id r = require_id(rider_id, "rider_id");
            std::vector<order_id> ids;
            {
              py::gil_scoped_release unlocked;
              ids = t.engine->orders_of_rider(r);
            }
            py::list out;
            for (const auto& o : ids) out.append(id_or_none(o));
            return out;
          },
          "rider_id"_a, "The orders the rider is delivering now.")
      .def(
          "route",
          [](py_tracker& t, py::handle order_id) {
            forbid_in_callback("route");
            const id o = require_id(order_id, "order_id");
            std::vector<geo_point> points;
            {
              py::gil_scoped_release unlocked;
              points = t.engine->route(o);
            }
            f64_array lon(static_cast<py::ssize_t>(points.size())), lat(static_cast<py::ssize_t>(points.size()));
            for (std::size_t i = 0; i < points.size(); ++i) {
              lon.mutable_data()[i] = points[i].lon;
              lat.mutable_data()[i] = points[i].lat;
            }
            return make_table({{"lon", lon}, {"lat", lat}});
          },
          "order_id"_a, "The planned route of a Delivering order (lon, lat), empty when none was given.")
      .def(
          "nearby_riders",
          [](py_tracker& t, double lon, double lat, double radius_m, std::size_t k) {
            forbid_in_callback("nearby_riders");
            result<std::vector<nearby_rider>> r = [&] {
              py::gil_scoped_release unlocked;
              return t.engine->nearby_riders({lon, lat}, radius_m, k);
            }();
            if (!r.ok()) {
              const char* f = r.field();
              const std::string_view fv = f ? f : "";
              throw_rejection(r.error(), f, fv == "radius" ? "radius_m" : nullptr);
            }
            py::list ids;
            f64_array dist(static_cast<py::ssize_t>(r->size()));
            for (std::size_t i = 0; i < r->size(); ++i) {
              ids.append(id_or_none((*r)[i].rider));
              dist.mutable_data()[i] = (*r)[i].distance_m;
            }
            return make_table({{"rider_id", py::module_::import("numpy").attr("array")(ids, "dtype"_a = "object")},
                               {"distance_m", dist}});
          },
          "lon"_a, "lat"_a, "radius_m"_a, "k"_a = 10,
          "The k nearest live riders within radius_m metres, nearest first (rider_id, distance_m).")
      .def(
          "remove_rider",
          [](py_tracker& t, py::handle rider_id) {
            forbid_in_callback("remove_rider");
            const id r = require_id(rider_id, "rider_id");
            py::gil_scoped_release unlocked;
            return t.engine->remove_rider(r).ok();
          },
          "rider_id"_a, "A rider logged out: leaves the live index. False for an unknown rider.")
      .def(
          "trajectory",
          [](py_tracker& t, py::handle order_id) {
            forbid_in_callback("trajectory");
            const id o = require_id(order_id, "order_id");
            storage& s = require_store(t);
            std::vector<tracking_record> rows;
            {
              py::gil_scoped_release unlocked;
              t.engine->flush();
              rows = s.trajectory(o);
            }
            return records_table(rows);
          },
          "order_id"_a, "Every stored record of the order in device-time order (replay), as a DataFrame.")
      .def(
          "records_since",
          [](py_tracker& t, py::handle order_id, std::uint64_t version) {
            forbid_in_callback("records_since");
            const id o = require_id(order_id, "order_id");
            storage& s = require_store(t);
            std::vector<tracking_record> rows;
            {
              py::gil_scoped_release unlocked;
              t.engine->flush();
              rows = s.records_since(o, version);
            }
            return records_table(rows);
          },
          "order_id"_a, "version"_a, "The order's stored records with version > `version`, in version order.")
      .def(
          "orders_of_user",
          [](py_tracker& t, py::handle user_id) {
            forbid_in_callback("orders_of_user");
            const id u = require_id(user_id, "user_id");
            storage& s = require_store(t);
            std::vector<order> rows;
            {
              py::gil_scoped_release unlocked;
              t.engine->flush();
              rows = s.orders_of_user(u);
            }
            return orders_table(rows);
          },
          "user_id"_a, "A user's stored orders, newest first, as a DataFrame.")
      .def(
          "updates_since",
          [](py_tracker& t, py::handle order_id, std::uint64_t version) -> py::object {
            const id o = require_id(order_id, "order_id");
            std::string text;
            result<update_batch> r = [&] {
              py::gil_scoped_release unlocked;
              return require_hub(t).updates_since(o, version, text);
            }();
            if (!r.ok()) return py::none();
            return json_loads(text);
          },
          "order_id"_a, "version"_a,
          "Long polling: the messages after `version` (deltas, or one snapshot when the history "
          "does not reach back) as a list of dicts; None for an order the broker does not know.")
      .def(
          "flush",
          [](py_tracker& t) {
            forbid_in_callback("flush");
            py::gil_scoped_release unlocked;
            t.engine->flush();
          },
          "Blocks until everything accepted so far is in storage.")
      .def(
          "evict",
          [](py_tracker& t, std::optional<std::int64_t> now) {
            forbid_in_callback("evict");
            py::gil_scoped_release unlocked;
            const timestamp_ms at = now ? *now : (t.clock ? t.clock->now() : now_ms());
            return t.engine->evict(at);
          },
          "now_ms"_a = py::none(), "Drops terminal orders past their retention from memory; returns how many.")
      .def_property(
          "now_ms",
          [](const py_tracker& t) { return t.clock ? t.clock->now() : now_ms(); },
          [](py_tracker& t, std::int64_t v) {
            if (!t.clock) throw_value_error("now_ms", "this Tracker reads the system clock (pass clock_ms= to get a manual one)");
            t.clock->set(v);
          },
          "The engine's now, ms since the epoch; settable with a manual clock.")
      .def_property_readonly("storage", [](const py_tracker& t) { return t.storage_kind; })
      .def_property_readonly("metrics", [](const py_tracker& t) {
        tracker_metrics stats;
        {
          py::gil_scoped_release unlocked;
          stats = t.engine->metrics();
        }
        return metrics_dict(stats);
      }, "The engine's counters (events, accepted, rejected_by_code, ...).")
      .def_property_readonly("broker_metrics", [](const py_tracker& t) {
        broker_metrics b;
        {
          py::gil_scoped_release unlocked;
          if (t.hub) b = t.hub->metrics();
        }
        py::dict d;
        d["published"] = b.published;
        d["rider_published"] = b.rider_published;
        d["deliveries"] = b.deliveries;
        d["snapshots_sent"] = b.snapshots_sent;
        d["subscriptions"] = b.subscriptions;
        d["orders"] = b.orders;
        d["callback_failures"] = b.callback_failures;
        return d;
      }, "The broker's counters (published, deliveries, subscriptions, ...).")
      .def_property_readonly("hot_orders", [](const py_tracker& t) {
        py::gil_scoped_release unlocked;
        return t.engine->hot_orders();
      }, "Orders in the hot cache.")
      .def_property_readonly("active_riders", [](const py_tracker& t) {
        py::gil_scoped_release unlocked;
        return t.engine->active_riders();
      }, "Riders with a live position.")
      .def_property_readonly("durable_sequence", [](const py_tracker& t) { return t.engine->durable_sequence(); })
      .def("__repr__", [](const py_tracker& t) { return "Tracker(storage='" + t.storage_kind + "')"; });
}

}  // namespace xiaoxiang::python
