#include "xiaoxiang/order/event_json.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

// Boost.JSON compiled header-only, once for the order layer. Only its SAX
// parser is used: it validates the grammar and UTF-8 and hands every number
// over with its text, which the decoder re-parses itself — Boost 1.81 parses
// doubles with up to 1 ulp of error and would break exact round trips, and
// amounts must come from the decimal text, never from a double.
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/src.hpp>

namespace xiaoxiang {
namespace {

// Year 2500 in ms: later device times are garbage, as errc::invalid_timestamp says.
constexpr timestamp_ms kMaxTimestamp = 16'725'225'600'000;
constexpr std::size_t kMaxAddressBytes = 255;

// ---------------------------------------------------------------- encoding

void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {  // only in an invalid event; keep the output JSON
    out += "null";
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_amount(std::string& out, amount_cents cents) {
  // Unsigned magnitude so that the minimum int64 cannot overflow.
  std::uint64_t magnitude = cents < 0 ? 0 - static_cast<std::uint64_t>(cents)
                                      : static_cast<std::uint64_t>(cents);
  if (cents < 0) out += '-';
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, magnitude / 100);
  out.append(buf, r.ptr);
  magnitude %= 100;
  out += '.';
  out += static_cast<char>('0' + magnitude / 10);
  out += static_cast<char>('0' + magnitude % 10);
}

void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_key(std::string& out, const char* key) {
  out += ",\"";
  out += key;
  out += "\":";
}

void append_id(std::string& out, const char* key, const id& v) {
  if (v.empty()) return;
  append_key(out, key);
  // Ids are restricted to [A-Za-z0-9_.:-]: nothing to escape.
  out += '"';
  out += v.view();
  out += '"';
}

void append_point_object(std::string& out, const char* key, const geo_point& p) {
  append_key(out, key);
  out += "{\"longitude\":";
  append_double(out, p.lon);
  out += ",\"latitude\":";
  append_double(out, p.lat);
  out += '}';
}

// ---------------------------------------------------------------- decoding

// The keys the decoder knows; the order is the order of the checks.
enum class key : std::uint8_t {
  unknown,
  type,
  event_id,
  time,
  order_id,
  user_id,
  warehouse_id,
  rider_id,
  total_amount,
  longitude,
  latitude,
  origin,
  destination,
  address,
  promised_time,
  stage,
  route,
  fixes,
  count
};

constexpr std::array<const char*, static_cast<std::size_t>(key::count)> kKeyNames = {
    "",          "type",     "eventId", "time",        "orderId",      "userId",
    "warehouseId", "riderId", "totalAmount", "longitude", "latitude",   "origin",
    "destination", "address", "promisedTime", "stage",    "route",       "fixes"};

constexpr const char* name_of(key k) { return kKeyNames[static_cast<std::size_t>(k)]; }
constexpr std::uint32_t bit(key k) { return 1u << static_cast<unsigned>(k); }

key top_key(std::string_view s) {
  for (std::size_t i = 1; i < kKeyNames.size(); ++i)
    if (s == kKeyNames[i]) return static_cast<key>(i);
  return key::unknown;
}

// Keys inside origin/destination objects and fix objects.
key sub_key(std::string_view s, bool with_time) {
  if (s == "longitude") return key::longitude;
  if (s == "latitude") return key::latitude;
  if (with_time && s == "time") return key::time;
  return key::unknown;
}

// Where in the document the parser is.
enum class place : std::uint8_t {
  root,         // before the top-level object
  top,          // in the event object
  point_object, // in "origin" or "destination"
  route_array,  // in "route"
  route_point,  // in one [lon, lat] of "route"
  fixes_array,  // in "fixes"
  fix_object,   // in one fix
};

// Exact cents from decimal text: digits, optionally '.', then digits of which
// only the first two may be non-zero. No sign, no exponent: an amount is
// written as people write money.
bool parse_amount(std::string_view s, amount_cents& out) {
  std::size_t i = 0;
  std::int64_t units = 0;
  if (s.empty() || !(s[0] >= '0' && s[0] <= '9')) return false;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    units = units * 10 + (s[i] - '0');
    if (units > max_amount_cents / 100) return false;
  }
  std::int64_t cents = 0;
  if (i < s.size()) {
    if (s[i] != '.' || i + 1 == s.size()) return false;
    ++i;
    for (std::size_t d = 0; i < s.size(); ++i, ++d) {
      if (!(s[i] >= '0' && s[i] <= '9')) return false;
      if (d < 2) {
        cents += (s[i] - '0') * (d == 0 ? 10 : 1);
      } else if (s[i] != '0') {
        return false;  // a third decimal that is not zero: not an amount in cents
      }
    }
  }
  out = units * 100 + cents;
  return out <= max_amount_cents;
}

bool parse_double_text(std::string_view s, double& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

class handler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit handler(std::size_t max_items) : max_items_(max_items) {}

  event ev;
  errc err = errc::ok;
  const char* field = nullptr;
  std::uint32_t seen = 0;  // bit(key) of every top-level key with a value

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }

  bool on_object_begin(boost::json::error_code& ec) {
    if (skip_ > 0) return ++skip_, true;
    switch (where_) {
      case place::root:
        where_ = place::top;
        return true;
      case place::top:
        if (key_ == key::origin || key_ == key::destination) {
          where_ = place::point_object;
          sub_seen_ = 0;
          return true;
        }
        return unexpected_at_top(ec);
      case place::fixes_array:
        if (ev.fixes.size() >= max_items_) return fail(ec, errc::too_large, "fixes");
        ev.fixes.emplace_back();
        where_ = place::fix_object;
        sub_seen_ = 0;
        return true;
      case place::point_object:
      case place::fix_object:
        return unexpected_in_sub(ec);
      case place::route_array:
      case place::route_point:
        return fail(ec, errc::wrong_type, "route");
    }
    return true;
  }

  bool on_object_end(std::size_t, boost::json::error_code& ec) {
    if (skip_ > 0) return --skip_, true;
    if (where_ == place::point_object) {
      const bool is_origin = key_ == key::origin;
      if (!(sub_seen_ & bit(key::longitude)))
        return fail(ec, errc::missing_field, is_origin ? "origin.longitude" : "destination.longitude");
      if (!(sub_seen_ & bit(key::latitude)))
        return fail(ec, errc::missing_field, is_origin ? "origin.latitude" : "destination.latitude");
      (is_origin ? ev.origin : ev.destination) = point_;
      seen |= bit(key_);
      where_ = place::top;
    } else if (where_ == place::fix_object) {
      if (!(sub_seen_ & bit(key::time))) return fail(ec, errc::missing_field, "fixes[].time");
      if (!(sub_seen_ & bit(key::longitude)))
        return fail(ec, errc::missing_field, "fixes[].longitude");
      if (!(sub_seen_ & bit(key::latitude)))
        return fail(ec, errc::missing_field, "fixes[].latitude");
      ev.fixes.back().point = point_;
      where_ = place::fixes_array;
    }
    return true;
  }

  bool on_array_begin(boost::json::error_code& ec) {
    if (skip_ > 0) return ++skip_, true;
    switch (where_) {
      case place::root:
        return fail(ec, errc::malformed_json, nullptr);
      case place::top:
        if (key_ == key::route) {
          ev.route.clear();
          where_ = place::route_array;
          return true;
        }
        if (key_ == key::fixes) {
          ev.fixes.clear();
          where_ = place::fixes_array;
          return true;
        }
        return unexpected_at_top(ec);
      case place::route_array:
        if (ev.route.size() >= max_items_) return fail(ec, errc::too_large, "route");
        where_ = place::route_point;
        route_items_ = 0;
        return true;
      case place::route_point:
        return fail(ec, errc::wrong_type, "route");
      case place::fixes_array:
        return fail(ec, errc::wrong_type, "fixes");
      case place::point_object:
      case place::fix_object:
        return unexpected_in_sub(ec);
    }
    return true;
  }

  bool on_array_end(std::size_t, boost::json::error_code& ec) {
    if (skip_ > 0) return --skip_, true;
    if (where_ == place::route_point) {
      if (route_items_ != 2) return fail(ec, errc::invalid_field, "route");
      ev.route.push_back(point_);
      where_ = place::route_array;
    } else if (where_ == place::route_array) {
      seen |= bit(key::route);
      where_ = place::top;
    } else if (where_ == place::fixes_array) {
      seen |= bit(key::fixes);
      where_ = place::top;
    }
    return true;
  }

  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    if (skip_ == 0) buf_.append(s.data(), s.size());
    return true;
  }

  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    if (skip_ > 0) return true;
    const std::string_view text = joined(s);
    if (where_ == place::top) {
      key_ = top_key(text);
    } else {
      sub_key_ = sub_key(text, where_ == place::fix_object);
    }
    buf_.clear();
    return true;
  }

  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    if (skip_ == 0) buf_.append(s.data(), s.size());
    return true;
  }

  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code& ec) {
    if (skip_ > 0) return true;
    const std::string_view text = joined(s);
    const bool ok = string_value(text, ec);
    buf_.clear();
    return ok;
  }

  bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
    if (skip_ == 0) buf_.append(s.data(), s.size());
    return true;
  }

  bool on_int64(std::int64_t v, boost::json::string_view s, boost::json::error_code& ec) {
    return number(ec, s, true, v);
  }
  bool on_uint64(std::uint64_t v, boost::json::string_view s, boost::json::error_code& ec) {
    // Beyond int64: an integer, but no valid time, stage or amount.
    const bool fits = v <= static_cast<std::uint64_t>(INT64_MAX);
    return number(ec, s, true, fits ? static_cast<std::int64_t>(v) : INT64_MAX);
  }
  bool on_double(double, boost::json::string_view s, boost::json::error_code& ec) {
    return number(ec, s, false, 0);
  }

  bool on_bool(bool, boost::json::error_code& ec) { return scalar_of_wrong_type(ec); }
  bool on_null(boost::json::error_code& ec) {
    if (skip_ > 0) return true;
    // null is "absent" for a key; inside an array it is a bad element.
    if (where_ == place::route_array || where_ == place::route_point)
      return fail(ec, errc::wrong_type, "route");
    if (where_ == place::fixes_array) return fail(ec, errc::wrong_type, "fixes");
    if (where_ == place::root) return fail(ec, errc::malformed_json, nullptr);
    return true;
  }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

 private:
  bool fail(boost::json::error_code& ec, errc e, const char* f) {
    err = e;
    field = f;
    ec = boost::json::error::exception;  // any code: stops the parser
    return false;
  }

  std::string_view joined(boost::json::string_view s) {
    if (buf_.empty()) return {s.data(), s.size()};
    buf_.append(s.data(), s.size());
    return buf_;
  }

  // An object or array where the top-level key wants something else.
  bool unexpected_at_top(boost::json::error_code& ec) {
    if (key_ == key::unknown) return skip_ = 1, true;
    return fail(ec, errc::wrong_type, name_of(key_));
  }

  bool unexpected_in_sub(boost::json::error_code& ec) {
    if (sub_key_ == key::unknown) return skip_ = 1, true;
    return fail(ec, errc::wrong_type, sub_field(sub_key_));
  }

  bool scalar_of_wrong_type(boost::json::error_code& ec) {
    if (skip_ > 0) return true;
    switch (where_) {
      case place::root: return fail(ec, errc::malformed_json, nullptr);
      case place::top:
        return key_ == key::unknown ? true : fail(ec, errc::wrong_type, name_of(key_));
      case place::point_object:
      case place::fix_object:
        return sub_key_ == key::unknown ? true : fail(ec, errc::wrong_type, sub_field(sub_key_));
      case place::route_array:
      case place::route_point: return fail(ec, errc::wrong_type, "route");
      case place::fixes_array: return fail(ec, errc::wrong_type, "fixes");
    }
    return true;
  }

  // The field name of a key inside a sub-object, static so results can hold it.
  const char* sub_field(key k) const {
    if (where_ == place::fix_object)
      return k == key::time ? "fixes[].time"
             : k == key::longitude ? "fixes[].longitude" : "fixes[].latitude";
    if (where_ == place::route_point) return k == key::longitude ? "route[].longitude" : "route[].latitude";
    if (key_ == key::origin) return k == key::longitude ? "origin.longitude" : "origin.latitude";
    return k == key::longitude ? "destination.longitude" : "destination.latitude";
  }

  bool coordinate(boost::json::error_code& ec, std::string_view text, key k) {
    double v = 0;
    const bool parsed = parse_double_text(text, v);
    const bool is_lon = k == key::longitude;
    const bool in_range = is_lon ? (v >= -180.0 && v <= 180.0) : (v >= -90.0 && v <= 90.0);
    if (!parsed || !in_range) {
      const char* f = where_ == place::top ? name_of(k) : sub_field(k);
      return fail(ec, is_lon ? errc::invalid_longitude : errc::invalid_latitude, f);
    }
    (is_lon ? point_.lon : point_.lat) = v;
    return true;
  }

  bool timestamp(boost::json::error_code& ec, bool integral, std::int64_t v, timestamp_ms& out,
                 const char* f) {
    if (!integral) return fail(ec, errc::wrong_type, f);
    if (v < 0 || v > kMaxTimestamp) return fail(ec, errc::invalid_timestamp, f);
    out = v;
    return true;
  }

  bool number(boost::json::error_code& ec, boost::json::string_view s, bool integral,
              std::int64_t v) {
    if (skip_ > 0) return true;
    const std::string_view text = joined(s);
    const bool ok = number_value(ec, text, integral, v);
    buf_.clear();
    return ok;
  }

  bool number_value(boost::json::error_code& ec, std::string_view text, bool integral,
                    std::int64_t v) {
    switch (where_) {
      case place::root: return fail(ec, errc::malformed_json, nullptr);
      case place::route_array: return fail(ec, errc::wrong_type, "route");
      case place::fixes_array: return fail(ec, errc::wrong_type, "fixes");
      case place::route_point:
        if (route_items_ >= 2) return ++route_items_, true;  // reported at the array's end
        if (!coordinate(ec, text, route_items_ == 0 ? key::longitude : key::latitude)) return false;
        ++route_items_;
        return true;
      case place::point_object:
        if (sub_key_ == key::unknown) return true;
        sub_seen_ |= bit(sub_key_);
        return coordinate(ec, text, sub_key_);
      case place::fix_object:
        if (sub_key_ == key::unknown) return true;
        sub_seen_ |= bit(sub_key_);
        if (sub_key_ == key::time)
          return timestamp(ec, integral, v, ev.fixes.back().time, "fixes[].time");
        return coordinate(ec, text, sub_key_);
      case place::top: break;
    }
    switch (key_) {
      case key::unknown: return true;
      case key::time:
        seen |= bit(key_);
        return timestamp(ec, integral, v, ev.time, "time");
      case key::promised_time:
        seen |= bit(key_);
        return timestamp(ec, integral, v, ev.promised_time, "promisedTime");
      case key::total_amount:
        seen |= bit(key_);
        if (!parse_amount(text, ev.amount)) return fail(ec, errc::invalid_amount, "totalAmount");
        return true;
      case key::longitude:
      case key::latitude:
        seen |= bit(key_);
        if (!coordinate(ec, text, key_)) return false;
        (key_ == key::longitude ? ev.position.lon : ev.position.lat) =
            key_ == key::longitude ? point_.lon : point_.lat;
        return true;
      case key::stage: {
        if (!integral) return fail(ec, errc::wrong_type, "stage");
        if (v < 1 || v > 5) return fail(ec, errc::invalid_picking_stage, "stage");
        ev.stage = static_cast<picking_stage>(v);
        seen |= bit(key_);
        return true;
      }
      default: return fail(ec, errc::wrong_type, name_of(key_));
    }
  }

  bool set_id(boost::json::error_code& ec, std::string_view text, id& out) {
    const char* f = name_of(key_);
    auto made = id::make(text, f);
    if (!made) return fail(ec, static_cast<errc>(made.error().value()), f);
    out = *made;
    seen |= bit(key_);
    return true;
  }

  bool string_value(std::string_view text, boost::json::error_code& ec) {
    if (where_ != place::top) return scalar_of_wrong_type(ec);
    switch (key_) {
      case key::unknown: return true;
      case key::type: {
        const auto kind = event_kind_from_name(text);
        if (!kind) return fail(ec, errc::unknown_event_type, "type");
        ev.kind = *kind;
        seen |= bit(key_);
        return true;
      }
      case key::event_id: return set_id(ec, text, ev.id);
      case key::order_id: return set_id(ec, text, ev.order);
      case key::user_id: return set_id(ec, text, ev.user);
      case key::warehouse_id: return set_id(ec, text, ev.warehouse);
      case key::rider_id: return set_id(ec, text, ev.rider);
      case key::total_amount:
        if (!parse_amount(text, ev.amount)) return fail(ec, errc::invalid_amount, "totalAmount");
        seen |= bit(key_);
        return true;
      case key::address:
        if (text.size() > kMaxAddressBytes) return fail(ec, errc::invalid_address, "address");
        ev.address.assign(text);
        seen |= bit(key_);
        return true;
      case key::stage:
        for (int code = 1; code <= 5; ++code) {
          const auto p = static_cast<picking_stage>(code);
          if (text == picking_stage_name(p)) {
            ev.stage = p;
            seen |= bit(key_);
            return true;
          }
        }
        return fail(ec, errc::invalid_picking_stage, "stage");
      default: return fail(ec, errc::wrong_type, name_of(key_));
    }
  }

  std::size_t max_items_;
  place where_ = place::root;
  key key_ = key::unknown;      // the current key of the event object
  key sub_key_ = key::unknown;  // the current key of a point or fix object
  std::uint32_t sub_seen_ = 0;
  int route_items_ = 0;
  int skip_ = 0;  // > 0 while inside the value of an unknown key: its depth
  geo_point point_;
  std::string buf_;  // parts of a key, string or number split by the parser
};

// The keys each kind requires (event.hpp), in the order they are checked.
std::uint32_t required_keys(event_kind k) {
  switch (k) {
    case event_kind::order_created:
      return bit(key::order_id) | bit(key::user_id) | bit(key::warehouse_id) |
             bit(key::total_amount) | bit(key::origin) | bit(key::destination);
    case event_kind::order_paid: return bit(key::order_id);
    case event_kind::picking_stage:
      return bit(key::order_id) | bit(key::warehouse_id) | bit(key::stage);
    case event_kind::rider_assigned: return bit(key::order_id) | bit(key::rider_id);
    case event_kind::rider_position:
      return bit(key::rider_id) | bit(key::longitude) | bit(key::latitude);
    case event_kind::order_delivered: return bit(key::order_id) | bit(key::rider_id);
    case event_kind::order_cancelled: return bit(key::order_id);
    case event_kind::position_batch: return bit(key::rider_id) | bit(key::fixes);
  }
  return 0;
}

}  // namespace

void event_to_json(const event& e, std::string& out) {
  out += "{\"type\":\"";
  out += event_kind_name(e.kind);
  out += '"';
  append_id(out, "eventId", e.id);
  append_key(out, "time");
  append_int(out, e.time);
  append_id(out, "orderId", e.order);
  append_id(out, "userId", e.user);
  append_id(out, "warehouseId", e.warehouse);
  append_id(out, "riderId", e.rider);
  if (e.kind == event_kind::order_created || e.amount != 0) {
    append_key(out, "totalAmount");
    append_amount(out, e.amount);
  }
  if (e.has_position) {
    append_key(out, "longitude");
    append_double(out, e.position.lon);
    append_key(out, "latitude");
    append_double(out, e.position.lat);
  }
  const bool created = e.kind == event_kind::order_created;
  if (created || e.origin != geo_point{}) append_point_object(out, "origin", e.origin);
  if (created || e.destination != geo_point{})
    append_point_object(out, "destination", e.destination);
  if (!e.address.empty()) {
    append_key(out, "address");
    append_string(out, e.address);
  }
  if (e.promised_time != 0) {
    append_key(out, "promisedTime");
    append_int(out, e.promised_time);
  }
  if (e.stage != picking_stage::none) {
    append_key(out, "stage");
    append_int(out, to_code(e.stage));
  }
  if (!e.route.empty()) {
    append_key(out, "route");
    out += '[';
    for (std::size_t i = 0; i < e.route.size(); ++i) {
      if (i) out += ',';
      out += '[';
      append_double(out, e.route[i].lon);
      out += ',';
      append_double(out, e.route[i].lat);
      out += ']';
    }
    out += ']';
  }
  if (e.kind == event_kind::position_batch || !e.fixes.empty()) {
    append_key(out, "fixes");
    out += '[';
    for (std::size_t i = 0; i < e.fixes.size(); ++i) {
      if (i) out += ',';
      out += "{\"time\":";
      append_int(out, e.fixes[i].time);
      out += ",\"longitude\":";
      append_double(out, e.fixes[i].point.lon);
      out += ",\"latitude\":";
      append_double(out, e.fixes[i].point.lat);
      out += '}';
    }
    out += ']';
  }
  out += '}';
}

std::string event_to_json(const event& e) {
  std::string out;
  event_to_json(e, out);
  return out;
}

result<event> event_from_json(std::string_view text, const event_json_limits& limits) {
  if (text.size() > limits.max_text_bytes) return {errc::too_large, nullptr};
  boost::json::parse_options options;
  options.max_depth = limits.max_depth;
  boost::json::basic_parser<handler> parser(options, limits.max_array_items);
  boost::json::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  handler& h = parser.handler();
  if (h.err != errc::ok) return {h.err, h.field};
  if (ec == boost::json::error::too_deep) return {errc::too_large, nullptr};
  // used < size: a second document or garbage after the object.
  if (ec || used != text.size()) return {errc::malformed_json, nullptr};

  // Common keys first, then the kind's own, in a fixed order so that a
  // document missing several keys always names the same one.
  if (!(h.seen & bit(key::type))) return {errc::missing_field, "type"};
  if (!(h.seen & bit(key::event_id))) return {errc::missing_field, "eventId"};
  if (!(h.seen & bit(key::time))) return {errc::missing_field, "time"};
  const std::uint32_t required = required_keys(h.ev.kind);
  for (std::size_t k = 0; k < kKeyNames.size(); ++k)
    if ((required & (1u << k)) && !(h.seen & (1u << k))) return {errc::missing_field, kKeyNames[k]};
  // A position needs both halves even where it is optional.
  const bool lon = h.seen & bit(key::longitude), lat = h.seen & bit(key::latitude);
  if (lon != lat) return {errc::missing_field, lon ? "latitude" : "longitude"};
  h.ev.has_position = lon;
  return std::move(h.ev);
}

}  // namespace xiaoxiang
