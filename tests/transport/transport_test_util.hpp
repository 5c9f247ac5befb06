// Helpers shared by the transport tests: building states and checking that
// a decoded message carries what the state says.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "xiaoxiang/order/tracking_state.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang::testing {

inline id make_id(std::string_view text) { return *id::make(text); }

// A state with every field set to something other than its default.
inline tracking_state full_state() {
  tracking_state s;
  s.order = make_id("O20261125-000001");
  s.version = 7;
  s.status = order_status::delivering;
  s.position = {116.397128, 39.916527};
  s.has_position = true;
  s.address = "北京市东城区景山前街4号 \"Gate\" 2";
  s.operator_id = make_id("R42");
  s.op_type = operator_type::rider;
  s.create_time = 1764071100000;
  s.eta_seconds = 420;
  s.eta_p90_seconds = 600;
  s.alerts[static_cast<std::size_t>(alert_kind::standstill)] = {true, 1764071000000, 4.5};
  s.rider = make_id("R42");
  s.stage = picking_stage::handed_over;
  s.user = make_id("U1");
  s.warehouse = make_id("W7");
  return s;
}

// Coordinates travel in JSON with 6 decimals.
inline double round6(double v) { return std::round(v * 1e6) / 1e6; }

// Whether the keys of `changed` in `got` equal those of `want` (positions
// compared after rounding to 6 decimals when `json`).
inline ::testing::AssertionResult same_fields(const tracking_state& want, const tracking_state& got,
                                              std::uint32_t changed, bool json) {
  auto fail = [](const char* what) { return ::testing::AssertionFailure() << what << " differs"; };
  if (want.order != got.order) return fail("orderId");
  if (want.version != got.version) return fail("version");
  if ((changed & field::status) && want.status != got.status) return fail("status");
  if (changed & field::position) {
    if (want.has_position != got.has_position) return fail("has_position");
    if (want.has_position) {
      const double lon = json ? round6(want.position.lon) : want.position.lon;
      const double lat = json ? round6(want.position.lat) : want.position.lat;
      if (json ? std::abs(lon - got.position.lon) > 1e-9 : lon != got.position.lon)
        return fail("longitude");
      if (json ? std::abs(lat - got.position.lat) > 1e-9 : lat != got.position.lat)
        return fail("latitude");
    }
  }
  if ((changed & field::address) && want.address != got.address) return fail("address");
  if ((changed & field::operator_info) &&
      (want.operator_id != got.operator_id || want.op_type != got.op_type))
    return fail("operator");
  if ((changed & field::create_time) && want.create_time != got.create_time)
    return fail("createTime");
  if ((changed & field::eta) &&
      (want.eta_seconds != got.eta_seconds || want.eta_p90_seconds != got.eta_p90_seconds))
    return fail("eta");
  if (changed & field::alerts) {
    for (std::size_t k = 0; k < alert_kind_count; ++k) {
      const alert& a = want.alerts[k];
      const alert& b = got.alerts[k];
      if (a.active != b.active) return fail("alerts.active");
      if (a.active && (a.since != b.since || std::abs(a.value - b.value) > 1e-9))
        return fail("alerts");
    }
  }
  if ((changed & field::rider) && want.rider != got.rider) return fail("riderId");
  if ((changed & field::picking) && want.stage != got.stage) return fail("pickingStage");
  if ((changed & field::user) && (want.user != got.user || want.warehouse != got.warehouse))
    return fail("user");
  return ::testing::AssertionSuccess();
}

// Changes the fields of `changed` in `s` to random valid values.
inline void randomize_fields(tracking_state& s, std::uint32_t changed, std::mt19937_64& rng) {
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  if (changed & field::status) s.status = static_cast<order_status>(uni(1, 5));
  if (changed & field::position) {
    s.has_position = uni(0, 9) != 0;
    s.position = {116.2 + uni(0, 400000) * 1e-6 + 3e-7, 39.8 + uni(0, 300000) * 1e-6};
  }
  if (changed & field::address) {
    static const char* kAddr[] = {"", "Room 1", "朝阳区 \"A\"\n", "tab\there\\", "\x01\x7f ok"};
    s.address = kAddr[uni(0, 4)];
  }
  if (changed & field::operator_info) {
    s.operator_id = uni(0, 3) ? make_id("OP" + std::to_string(uni(0, 99))) : id{};
    s.op_type = static_cast<operator_type>(uni(0, 2));
  }
  if (changed & field::create_time) s.create_time = 1764000000000 + uni(0, 1000000);
  if (changed & field::eta) {
    s.eta_seconds = uni(-1, 3600);
    s.eta_p90_seconds = uni(-1, 5400);
  }
  if (changed & field::alerts) {
    for (auto& a : s.alerts) a = uni(0, 2) ? alert{} : alert{true, 1764000000000 + uni(0, 999), uni(0, 400) * 0.5};
  }
  if (changed & field::rider) s.rider = uni(0, 3) ? make_id("R" + std::to_string(uni(0, 999))) : id{};
  if (changed & field::picking) s.stage = static_cast<picking_stage>(uni(0, 5));
  if (changed & field::user) {
    s.user = make_id("U" + std::to_string(uni(0, 999)));
    s.warehouse = uni(0, 3) ? make_id("W" + std::to_string(uni(0, 9))) : id{};
  }
}

}  // namespace xiaoxiang::testing
