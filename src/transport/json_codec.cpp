#include "xiaoxiang/transport/json_codec.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "detail/wire_fields.hpp"

namespace xiaoxiang {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_literal(std::string& out, std::string_view text) { out.append(text); }

template <class Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// `v` with `digits` decimals from integer arithmetic (exact text, no
// locale); `trim` drops trailing zeros of the fraction (4.5, not 4.500).
// Requires: |v| * 10^digits fits in a long long.
void append_fixed(std::string& out, double v, int digits, bool trim) {
  unsigned long long scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  const long long scaled = std::llround(v * static_cast<double>(scale));
  const unsigned long long mag = scaled < 0 ? 0ull - static_cast<unsigned long long>(scaled)
                                            : static_cast<unsigned long long>(scaled);
  if (scaled < 0) out.push_back('-');
  append_int(out, mag / scale);
  char frac[20];
  unsigned long long rest = mag % scale;
  for (int i = digits - 1; i >= 0; --i) {
    frac[i] = static_cast<char>('0' + rest % 10);
    rest /= 10;
  }
  auto n = static_cast<std::size_t>(digits);
  if (trim)
    while (n > 0 && frac[n - 1] == '0') --n;
  if (n == 0) return;
  out.push_back('.');
  out.append(frac, n);
}

// Coordinates with 6 decimals, as the DECIMAL(10,6) columns store them.
void append_micro_degrees(std::string& out, double degrees) {
  if (!std::isfinite(degrees) || std::abs(degrees) > 1e6) {
    out.append("null");
    return;
  }
  append_fixed(out, degrees, 6, false);
}

// Alert values (metres, minutes) with 3 decimals: fixed precision keeps the
// text stable through a decode/encode round trip (Boost.JSON 1.81 may parse
// a double 1 ulp off, which would change a shortest-form text). Values
// outside +-kMaxAlertValue (and NaN) are written as null.
void append_alert_value(std::string& out, double v) {
  if (!(v >= -kMaxAlertValue && v <= kMaxAlertValue)) {
    out.append("null");
    return;
  }
  append_fixed(out, v, 3, true);
}


void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one append.
    std::size_t run = i;
    while (run < s.size()) {
      const auto c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out.append("\\ufffd");
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, 6);
      }
    }
    ++i;
  }
  out.push_back('"');
}

void append_id(std::string& out, const id& v) {
  if (v.empty()) {
    out.append("null");
  } else {
    // Ids hold only [A-Za-z0-9_.:-]: nothing to escape.
    out.push_back('"');
    out.append(v.view());
    out.push_back('"');
  }
}

void append_key(std::string& out, std::string_view key) {
  out.append(",\"");
  out.append(key);
  out.append("\":");
}

}  // namespace

void apply_delta(tracking_state& base, const tracking_state& delta, std::uint32_t changed) {
  base.order = delta.order;
  base.version = delta.version;
  if (changed & field::status) base.status = delta.status;
  if (changed & field::position) {
    base.position = delta.position;
    base.has_position = delta.has_position;
  }
  if (changed & field::address) base.address = delta.address;
  if (changed & field::operator_info) {
    base.operator_id = delta.operator_id;
    base.op_type = delta.op_type;
  }
  if (changed & field::create_time) base.create_time = delta.create_time;
  if (changed & field::eta) {
    base.eta_seconds = delta.eta_seconds;
    base.eta_p90_seconds = delta.eta_p90_seconds;
  }
  if (changed & field::alerts) base.alerts = delta.alerts;
  if (changed & field::rider) base.rider = delta.rider;
  if (changed & field::picking) base.stage = delta.stage;
  if (changed & field::user) {
    base.user = delta.user;
    base.warehouse = delta.warehouse;
  }
}

const char* message_kind_name(message_kind k) noexcept {
  return k == message_kind::snapshot ? "snapshot" : "delta";
}

void encode_update(const tracking_state& s, std::uint32_t changed, message_kind kind,
                   std::string& out) {
  if (kind == message_kind::snapshot) changed = field::all;
  append_literal(out, kind == message_kind::snapshot ? "{\"type\":\"snapshot\",\"orderId\":"
                                                     : "{\"type\":\"delta\",\"orderId\":");
  append_id(out, s.order);
  append_key(out, "version");
  append_int(out, s.version);
  if (changed & field::status) {
    append_key(out, "status");
    append_int(out, to_code(s.status));
  }
  if (changed & field::position) {
    append_key(out, "longitude");
    if (s.has_position) append_micro_degrees(out, s.position.lon); else out.append("null");
    append_key(out, "latitude");
    if (s.has_position) append_micro_degrees(out, s.position.lat); else out.append("null");
  }
  if (changed & field::address) {
    append_key(out, "address");
    append_string(out, s.address);
  }
  if (changed & field::operator_info) {
    append_key(out, "operatorId");
    append_id(out, s.operator_id);
    append_key(out, "operatorType");
    append_int(out, to_code(s.op_type));
  }
  if (changed & field::create_time) {
    append_key(out, "createTime");
    append_int(out, s.create_time);
  }
  if (changed & field::eta) {
    append_key(out, "etaSeconds");
    append_int(out, s.eta_seconds);
    append_key(out, "etaP90Seconds");
    append_int(out, s.eta_p90_seconds);
  }
  if (changed & field::alerts) {
    append_key(out, "alerts");
    out.push_back('[');
    bool first = true;
    for (std::size_t k = 0; k < alert_kind_count; ++k) {
      const alert& a = s.alerts[k];
      if (!a.active) continue;
      if (!first) out.push_back(',');
      first = false;
      out.append("{\"kind\":\"");
      out.append(alert_kind_name(static_cast<alert_kind>(k)));
      out.append("\",\"since\":");
      append_int(out, a.since);
      out.append(",\"value\":");
      append_alert_value(out, a.value);
      out.push_back('}');
    }
    out.push_back(']');
  }
  if (changed & field::rider) {
    append_key(out, "riderId");
    append_id(out, s.rider);
  }
  if (changed & field::picking) {
    append_key(out, "pickingStage");
    append_int(out, to_code(s.stage));
  }
  if (changed & field::user) {
    append_key(out, "userId");
    append_id(out, s.user);
    append_key(out, "warehouseId");
    append_id(out, s.warehouse);
  }
  out.push_back('}');
}

void encode_delta(const tracking_state& s, std::uint32_t changed, std::string& out) {
  encode_update(s, changed, message_kind::delta, out);
}

void encode_snapshot(const tracking_state& s, std::string& out) {
  encode_update(s, field::all, message_kind::snapshot, out);
}

void encode_rider_position(const rider_id& rider, const position_fix& fix, std::string& out) {
  out.append("{\"type\":\"riderPosition\",\"riderId\":");
  append_id(out, rider);
  append_key(out, "longitude");
  append_micro_degrees(out, fix.point.lon);
  append_key(out, "latitude");
  append_micro_degrees(out, fix.point.lat);
  append_key(out, "time");
  append_int(out, fix.time);
  out.push_back('}');
}

// ---------------------------------------------------------------------------
// Decoding

namespace {

namespace json = boost::json;
using status = status_result;

// An integer key in [lo, hi]; doubles (even 3.0) are wrong_type because the
// encoder never writes integers with a fraction.
status read_int(const json::value& v, const char* name, std::int64_t lo, std::int64_t hi,
                std::int64_t& out) {
  if (v.is_int64()) {
    out = v.get_int64();
  } else if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return {errc::invalid_field, name};
    out = static_cast<std::int64_t>(v.get_uint64());
  } else {
    return {errc::wrong_type, name};
  }
  if (out < lo || out > hi) return {errc::invalid_field, name};
  return {};
}

status read_id(const json::value& v, const char* name, bool nullable, id& out) {
  if (v.is_null()) {
    if (!nullable) return {errc::wrong_type, name};
    out = id{};
    return {};
  }
  if (!v.is_string()) return {errc::wrong_type, name};
  const json::string& s = v.get_string();
  auto made = id::make(std::string_view(s.data(), s.size()), name);
  if (!made) return {errc::invalid_field, name};
  out = *made;
  return {};
}

status read_number(const json::value& v, const char* name, double& out) {
  if (v.is_double()) out = v.get_double();
  else if (v.is_int64()) out = static_cast<double>(v.get_int64());
  else if (v.is_uint64()) out = static_cast<double>(v.get_uint64());
  else return {errc::wrong_type, name};
  return {};
}

// Finds a key that must be there when the message carries its field.
const json::value* find(const json::object& o, std::string_view key) {
  const auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

// Reads one field group (the keys of one field:: bit). `present` is whether
// the message carries the group; a snapshot must carry every group.
status read_group(const json::object& o, std::uint32_t bit, tracking_state& s, bool& present) {
  const wire_group& g = wire_group_of(bit);
  const json::value* a = find(o, g.first_key);
  const json::value* b = g.second_key ? find(o, g.second_key) : nullptr;
  present = a != nullptr || b != nullptr;
  if (!present) return {};
  if (a == nullptr) return {errc::missing_field, g.first_key};
  if (g.second_key && b == nullptr) return {errc::missing_field, g.second_key};
  std::int64_t n = 0;
  switch (bit) {
    case field::status:
      if (auto r = read_int(*a, "status", 1, 5, n); !r) return r;
      s.status = static_cast<order_status>(n);
      return {};
    case field::position: {
      if (a->is_null() != b->is_null()) {
        return a->is_null() ? status{errc::wrong_type, "longitude"}
                            : status{errc::wrong_type, "latitude"};
      }
      if (a->is_null()) {
        s.has_position = false;
        s.position = {};
        return {};
      }
      geo_point p;
      if (auto r = read_number(*a, "longitude", p.lon); !r) return r;
      if (auto r = read_number(*b, "latitude", p.lat); !r) return r;
      if (const errc e = check_point(p); e != errc::ok)
        return {errc::invalid_field, e == errc::invalid_longitude ? "longitude" : "latitude"};
      s.position = p;
      s.has_position = true;
      return {};
    }
    case field::address: {
      if (!a->is_string()) return {errc::wrong_type, "address"};
      const json::string& t = a->get_string();
      if (t.size() > kMaxAddressBytes) return {errc::invalid_field, "address"};
      s.address.assign(t.data(), t.size());
      return {};
    }
    case field::operator_info:
      if (auto r = read_id(*a, "operatorId", true, s.operator_id); !r) return r;
      if (auto r = read_int(*b, "operatorType", 0, 2, n); !r) return r;
      s.op_type = static_cast<operator_type>(n);
      return {};
    case field::create_time:
      if (auto r = read_int(*a, "createTime", 0, kMaxTimestampMs, n); !r) return r;
      s.create_time = n;
      return {};
    case field::eta:
      if (auto r = read_int(*a, "etaSeconds", -1, std::numeric_limits<std::int32_t>::max(), n); !r)
        return r;
      s.eta_seconds = static_cast<std::int32_t>(n);
      if (auto r = read_int(*b, "etaP90Seconds", -1, std::numeric_limits<std::int32_t>::max(), n);
          !r)
        return r;
      s.eta_p90_seconds = static_cast<std::int32_t>(n);
      return {};
    case field::alerts: {
      if (!a->is_array()) return {errc::wrong_type, "alerts"};
      s.alerts = {};
      for (const json::value& item : a->get_array()) {
        if (!item.is_object()) return {errc::wrong_type, "alerts"};
        const json::object& ao = item.get_object();
        const json::value* kind = find(ao, "kind");
        const json::value* since = find(ao, "since");
        const json::value* value = find(ao, "value");
        if (kind == nullptr) return {errc::missing_field, "alerts.kind"};
        if (since == nullptr) return {errc::missing_field, "alerts.since"};
        if (value == nullptr) return {errc::missing_field, "alerts.value"};
        if (!kind->is_string()) return {errc::wrong_type, "alerts.kind"};
        const json::string& kname = kind->get_string();
        std::size_t k = 0;
        while (k < alert_kind_count &&
               std::string_view(kname.data(), kname.size()) !=
                   alert_kind_name(static_cast<alert_kind>(k)))
          ++k;
        if (k == alert_kind_count) return {errc::invalid_field, "alerts.kind"};
        if (s.alerts[k].active) return {errc::invalid_field, "alerts.kind"};
        alert& al = s.alerts[k];
        al.active = true;
        if (auto r = read_int(*since, "alerts.since", 0, kMaxTimestampMs, n); !r) return r;
        al.since = n;
        if (value->is_null()) {
          al.value = std::numeric_limits<double>::quiet_NaN();
        } else {
          if (auto r = read_number(*value, "alerts.value", al.value); !r) return r;
          if (!(std::abs(al.value) <= kMaxAlertValue)) return {errc::invalid_field, "alerts.value"};
        }
      }
      return {};
    }
    case field::rider:
      return read_id(*a, "riderId", true, s.rider);
    case field::picking:
      if (auto r = read_int(*a, "pickingStage", 0, 5, n); !r) return r;
      s.stage = static_cast<picking_stage>(n);
      return {};
    case field::user:
      if (auto r = read_id(*a, "userId", true, s.user); !r) return r;
      return read_id(*b, "warehouseId", true, s.warehouse);
    default:
      return {errc::invalid_field, "changed"};
  }
}

}  // namespace

result<decoded_update> decode_update_json(std::string_view text) {
  if (text.size() > kMaxUpdateJsonBytes) return {errc::too_large, "message"};
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 8;  // a message nests two levels; deeper input is hostile
  const json::value root = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) return {errc::malformed_json, "message"};
  if (!root.is_object()) return {errc::wrong_type, "message"};
  const json::object& o = root.get_object();

  decoded_update out;
  const json::value* type = find(o, "type");
  if (type == nullptr) return {errc::missing_field, "type"};
  if (!type->is_string()) return {errc::wrong_type, "type"};
  const json::string& tname = type->get_string();
  if (tname == "delta") out.kind = message_kind::delta;
  else if (tname == "snapshot") out.kind = message_kind::snapshot;
  else return {errc::invalid_field, "type"};

  const json::value* order = find(o, "orderId");
  if (order == nullptr) return {errc::missing_field, "orderId"};
  if (auto r = read_id(*order, "orderId", false, out.state.order); !r) return {r.code, r.field};
  const json::value* version = find(o, "version");
  if (version == nullptr) return {errc::missing_field, "version"};
  std::int64_t v = 0;
  if (auto r = read_int(*version, "version", 1, static_cast<std::int64_t>(kMaxVersion), v); !r)
    return {r.code, r.field};
  out.state.version = static_cast<std::uint64_t>(v);

  for (std::uint32_t bit = 1; bit & field::all; bit <<= 1) {
    bool present = false;
    if (auto r = read_group(o, bit, out.state, present); !r) return {r.code, r.field};
    if (present) {
      out.changed |= bit;
    } else if (out.kind == message_kind::snapshot) {
      return {errc::missing_field, wire_group_of(bit).first_key};
    }
  }
  return out;
}

}  // namespace xiaoxiang
