#include "xiaoxiang/transport/binary_codec.hpp"

#include <cereal/archives/portable_binary.hpp>

#include <cmath>
#include <istream>
#include <ostream>
#include <streambuf>

#include "detail/wire_fields.hpp"

namespace xiaoxiang {
namespace {

// A streambuf that appends to a caller's string, so encoding reuses its
// capacity instead of building a std::ostringstream per message.
class string_sink final : public std::streambuf {
 public:
  explicit string_sink(std::string& out) : out_(out) {}

 protected:
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) out_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }

 private:
  std::string& out_;
};

// A read-only streambuf over the caller's bytes (no copy); cereal reads
// through sgetn and throws when fewer bytes than asked are left.
class view_source final : public std::streambuf {
 public:
  explicit view_source(std::string_view bytes) {
    // streambuf wants char*, but get areas are never written through.
    char* p = const_cast<char*>(bytes.data());
    setg(p, p, p + bytes.size());
  }
  std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
};

using out_archive = cereal::PortableBinaryOutputArchive;
using in_archive = cereal::PortableBinaryInputArchive;

void write_id(out_archive& ar, const id& v) {
  const auto n = static_cast<std::uint8_t>(v.size());
  ar(n);
  if (n != 0) ar(cereal::binary_data(v.view().data(), n));
}

}  // namespace

void encode_update_binary(const tracking_state& s, std::uint32_t changed, message_kind kind,
                          std::string& out) {
  if (kind == message_kind::snapshot) changed = field::all;
  changed &= field::all;
  out.push_back(static_cast<char>(kBinaryFormatVersion));
  string_sink sink(out);
  std::ostream os(&sink);
  out_archive ar(os, out_archive::Options::LittleEndian());
  ar(static_cast<std::uint8_t>(kind), changed);
  write_id(ar, s.order);
  ar(s.version);
  if (changed & field::status) ar(static_cast<std::uint8_t>(to_code(s.status)));
  if (changed & field::position) {
    ar(static_cast<std::uint8_t>(s.has_position ? 1 : 0));
    if (s.has_position) ar(s.position.lon, s.position.lat);
  }
  if (changed & field::address) {
    const auto n = static_cast<std::uint16_t>(s.address.size());
    ar(n);
    if (n != 0) ar(cereal::binary_data(s.address.data(), n));
  }
  if (changed & field::operator_info) {
    write_id(ar, s.operator_id);
    ar(static_cast<std::uint8_t>(to_code(s.op_type)));
  }
  if (changed & field::create_time) ar(s.create_time);
  if (changed & field::eta) ar(s.eta_seconds, s.eta_p90_seconds);
  if (changed & field::alerts) {
    std::uint8_t mask = 0;
    for (std::size_t k = 0; k < alert_kind_count; ++k)
      if (s.alerts[k].active) mask = static_cast<std::uint8_t>(mask | (1u << k));
    ar(mask);
    for (std::size_t k = 0; k < alert_kind_count; ++k)
      if (s.alerts[k].active) ar(s.alerts[k].since, s.alerts[k].value);
  }
  if (changed & field::rider) write_id(ar, s.rider);
  if (changed & field::picking) ar(static_cast<std::uint8_t>(to_code(s.stage)));
  if (changed & field::user) {
    write_id(ar, s.user);
    write_id(ar, s.warehouse);
  }
}

void encode_delta_binary(const tracking_state& s, std::uint32_t changed, std::string& out) {
  encode_update_binary(s, changed, message_kind::delta, out);
}

void encode_snapshot_binary(const tracking_state& s, std::string& out) {
  encode_update_binary(s, field::all, message_kind::snapshot, out);
}

// ---------------------------------------------------------------------------
// Decoding: cereal throws when the input ends early; everything it reads is
// checked here before it lands in the state.

namespace {

status_result read_id(in_archive& ar, const char* name, bool nullable, id& out) {
  std::uint8_t n = 0;
  ar(n);
  if (n > id::max_size) return {errc::invalid_field, name};
  char text[id::max_size];
  if (n != 0) ar(cereal::binary_data(text, n));
  if (n == 0) {
    if (!nullable) return {errc::invalid_field, name};
    out = id{};
    return {};
  }
  auto made = id::make(std::string_view(text, n), name);
  if (!made) return {errc::invalid_field, name};
  out = *made;
  return {};
}

status_result read_group(in_archive& ar, std::uint32_t bit, tracking_state& s) {
  std::uint8_t b = 0;
  switch (bit) {
    case field::status:
      ar(b);
      if (b < 1 || b > 5) return {errc::invalid_field, "status"};
      s.status = static_cast<order_status>(b);
      return {};
    case field::position: {
      ar(b);
      if (b > 1) return {errc::invalid_field, "longitude"};
      s.has_position = b == 1;
      s.position = {};
      if (!s.has_position) return {};
      geo_point p;
      ar(p.lon, p.lat);
      if (const errc e = check_point(p); e != errc::ok)
        return {errc::invalid_field, e == errc::invalid_longitude ? "longitude" : "latitude"};
      s.position = p;
      return {};
    }
    case field::address: {
      std::uint16_t n = 0;
      ar(n);
      if (n > kMaxAddressBytes) return {errc::invalid_field, "address"};
      char text[kMaxAddressBytes];
      if (n != 0) ar(cereal::binary_data(text, n));
      if (!is_valid_utf8(std::string_view(text, n))) return {errc::invalid_field, "address"};
      s.address.assign(text, n);
      return {};
    }
    case field::operator_info:
      if (auto r = read_id(ar, "operatorId", true, s.operator_id); !r) return r;
      ar(b);
      if (b > 2) return {errc::invalid_field, "operatorType"};
      s.op_type = static_cast<operator_type>(b);
      return {};
    case field::create_time:
      ar(s.create_time);
      if (s.create_time < 0 || s.create_time > kMaxTimestampMs)
        return {errc::invalid_field, "createTime"};
      return {};
    case field::eta:
      ar(s.eta_seconds, s.eta_p90_seconds);
      if (s.eta_seconds < -1) return {errc::invalid_field, "etaSeconds"};
      if (s.eta_p90_seconds < -1) return {errc::invalid_field, "etaP90Seconds"};
      return {};
    case field::alerts: {
      ar(b);
      if (b >> alert_kind_count) return {errc::invalid_field, "alerts"};
      s.alerts = {};
      for (std::size_t k = 0; k < alert_kind_count; ++k) {
        if (!(b & (1u << k))) continue;
        alert& a = s.alerts[k];
        a.active = true;
        ar(a.since, a.value);
        if (a.since < 0 || a.since > kMaxTimestampMs) return {errc::invalid_field, "alerts.since"};
      }
      return {};
    }
    case field::rider:
      return read_id(ar, "riderId", true, s.rider);
    case field::picking:
      ar(b);
      if (b > 5) return {errc::invalid_field, "pickingStage"};
      s.stage = static_cast<picking_stage>(b);
      return {};
    case field::user:
      if (auto r = read_id(ar, "userId", true, s.user); !r) return r;
      return read_id(ar, "warehouseId", true, s.warehouse);
    default:
      return {errc::invalid_field, "changed"};
  }
}

result<decoded_update> decode_body(in_archive& ar) {
  decoded_update out;
  std::uint8_t kind = 0;
  ar(kind, out.changed);
  if (kind > 1) return {errc::invalid_field, "type"};
  out.kind = static_cast<message_kind>(kind);
  if (out.changed & ~field::all) return {errc::invalid_field, "changed"};
  if (out.kind == message_kind::snapshot && out.changed != field::all)
    return {errc::invalid_field, "changed"};
  if (auto r = read_id(ar, "orderId", false, out.state.order); !r) return {r.code, r.field};
  ar(out.state.version);
  if (out.state.version == 0 || out.state.version > kMaxVersion)
    return {errc::invalid_field, "version"};
  for (std::uint32_t bit = 1; bit & field::all; bit <<= 1) {
    if (!(out.changed & bit)) continue;
    if (auto r = read_group(ar, bit, out.state); !r) return {r.code, r.field};
  }
  return out;
}

}  // namespace

result<decoded_update> decode_update_binary(std::string_view bytes) noexcept {
  if (bytes.empty()) return {errc::truncated, "formatVersion"};
  if (static_cast<std::uint8_t>(bytes[0]) != kBinaryFormatVersion)
    return {errc::unsupported_format_version, "formatVersion"};
  // cereal's portable archive starts with its endianness byte: we always
  // write little-endian (1); anything but 0/1 is not our output.
  if (bytes.size() < 2) return {errc::truncated, "endianness"};
  if (static_cast<std::uint8_t>(bytes[1]) > 1) return {errc::invalid_field, "endianness"};
  try {
    view_source source(bytes.substr(1));
    std::istream is(&source);
    in_archive ar(is);
    auto decoded = decode_body(ar);
    if (decoded && source.remaining() != 0) return {errc::trailing_bytes, "message"};
    return decoded;
  } catch (const cereal::Exception&) {
    return {errc::truncated, "message"};
  } catch (const std::exception&) {
    // Nothing else is expected (no allocation depends on the input); map
    // anything to a rejection rather than let it escape a noexcept decoder.
    return {errc::truncated, "message"};
  }
}

}  // namespace xiaoxiang
