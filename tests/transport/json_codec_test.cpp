#include "xiaoxiang/transport/json_codec.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <random>
#include <string>

#include "transport_test_util.hpp"

namespace xiaoxiang {
namespace {

using testing::full_state;
using testing::make_id;

TEST(JsonCodec, SnapshotHasEveryKeyInCamelCase) {
  std::string out;
  encode_snapshot(full_state(), out);
  EXPECT_EQ(out,
            "{\"type\":\"snapshot\",\"orderId\":\"O20261125-000001\",\"version\":7,\"status\":3,"
            "\"longitude\":116.397128,\"latitude\":39.916527,"
            "\"address\":\"北京市东城区景山前街4号 \\\"Gate\\\" 2\","
            "\"operatorId\":\"R42\",\"operatorType\":1,\"createTime\":1764071100000,"
            "\"etaSeconds\":420,\"etaP90Seconds\":600,"
            "\"alerts\":[{\"kind\":\"standstill\",\"since\":1764071000000,\"value\":4.5}],"
            "\"riderId\":\"R42\",\"pickingStage\":5,\"userId\":\"U1\",\"warehouseId\":\"W7\"}");
}

TEST(JsonCodec, DeltaCarriesOnlyChangedKeys) {
  std::string out;
  encode_delta(full_state(), field::position, out);
  EXPECT_EQ(out,
            "{\"type\":\"delta\",\"orderId\":\"O20261125-000001\",\"version\":7,"
            "\"longitude\":116.397128,\"latitude\":39.916527}");
  out.clear();
  encode_delta(full_state(), 0, out);
  EXPECT_EQ(out, "{\"type\":\"delta\",\"orderId\":\"O20261125-000001\",\"version\":7}");
  out.clear();
  encode_delta(full_state(), field::status | field::eta, out);
  EXPECT_EQ(out,
            "{\"type\":\"delta\",\"orderId\":\"O20261125-000001\",\"version\":7,\"status\":3,"
            "\"etaSeconds\":420,\"etaP90Seconds\":600}");
}

TEST(JsonCodec, TopLevelKeysAreWhatTheFrontEndReads) {
  std::string out;
  encode_delta(full_state(), field::status | field::position, out);
  const auto v = boost::json::parse(out);
  EXPECT_EQ(v.at("status").as_int64(), 3);
  EXPECT_NEAR(v.at("longitude").as_double(), 116.397128, 1e-9);
  EXPECT_NEAR(v.at("latitude").as_double(), 39.916527, 1e-9);
}

TEST(JsonCodec, AppendsIntoTheBuffer) {
  std::string out = "prefix:";
  encode_delta(full_state(), 0, out);
  EXPECT_EQ(out.rfind("prefix:{\"type\"", 0), 0u);
}

TEST(JsonCodec, CoordinatesHaveSixDecimalsRounded) {
  tracking_state s = full_state();
  s.position = {-0.0000004, -12.3456785};
  std::string out;
  encode_delta(s, field::position, out);
  EXPECT_NE(out.find("\"longitude\":0.000000,\"latitude\":-12.345679"), std::string::npos) << out;
  s.position = {-179.9999999, 5};
  out.clear();
  encode_delta(s, field::position, out);
  EXPECT_NE(out.find("\"longitude\":-180.000000,\"latitude\":5.000000"), std::string::npos) << out;
}

TEST(JsonCodec, NoPositionIsNull) {
  tracking_state s = full_state();
  s.has_position = false;
  std::string out;
  encode_delta(s, field::position, out);
  EXPECT_NE(out.find("\"longitude\":null,\"latitude\":null"), std::string::npos);
  const auto d = decode_update_json(out);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_FALSE(d->state.has_position);
  EXPECT_EQ(d->changed, field::position);
}

TEST(JsonCodec, EmptyIdsAreNull) {
  tracking_state s = full_state();
  s.rider = id{};
  s.operator_id = id{};
  std::string out;
  encode_delta(s, field::rider | field::operator_info, out);
  EXPECT_NE(out.find("\"operatorId\":null,\"operatorType\":1"), std::string::npos);
  EXPECT_NE(out.find("\"riderId\":null"), std::string::npos);
  const auto d = decode_update_json(out);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_TRUE(d->state.rider.empty());
}

TEST(JsonCodec, EscapesStringsAndRepairsInvalidUtf8) {
  tracking_state s = full_state();
  s.address = std::string("a\"b\\c\n\t\r\b\f\x01\x1f", 13) + "中" + "\xff" + "\xe4\xb8" + "z";
  std::string out;
  encode_delta(s, field::address, out);
  EXPECT_NE(out.find(R"("address":"a\"b\\c\n\t\r\b\f\u0001\u001f\u0000中\ufffd\ufffd\ufffdz")"),
            std::string::npos)
      << out;
  // Whatever the bytes, the output is JSON that a strict parser accepts.
  boost::system::error_code ec;
  (void)boost::json::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  const auto d = decode_update_json(out);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->state.address, std::string("a\"b\\c\n\t\r\b\f\x01\x1f", 13) +
                                  "中\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
}

TEST(JsonCodec, SurrogatesAndOverlongFormsAreRepaired) {
  tracking_state s = full_state();
  s.address = "\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80|\xf0\x9f\x9a\x80";
  std::string out;
  encode_delta(s, field::address, out);
  boost::system::error_code ec;
  (void)boost::json::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  EXPECT_NE(out.find("\xf0\x9f\x9a\x80"), std::string::npos);  // valid 4-byte kept
}

TEST(JsonCodec, AlertValuesHaveAtMostThreeDecimals) {
  tracking_state s = full_state();
  auto& a = s.alerts[static_cast<std::size_t>(alert_kind::route_deviation)];
  a = {true, 10, 212.34567};
  std::string out;
  encode_delta(s, field::alerts, out);
  EXPECT_NE(out.find("\"value\":212.346}"), std::string::npos) << out;
  a.value = -3;
  out.clear();
  encode_delta(s, field::alerts, out);
  EXPECT_NE(out.find("\"value\":-3}"), std::string::npos) << out;
  a.value = 5e9;  // not a measurement: null, decoded as NaN
  out.clear();
  encode_delta(s, field::alerts, out);
  EXPECT_NE(out.find("\"value\":null}"), std::string::npos) << out;
  const auto d = decode_update_json(out);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_TRUE(std::isnan(d->state.alerts[0].value));
}

TEST(JsonCodec, ApplyDeltaCopiesOnlyTheChangedGroups) {
  tracking_state base = full_state();
  tracking_state delta;
  delta.order = base.order;
  delta.version = 8;
  delta.status = order_status::completed;
  delta.address = "changed but not flagged";
  apply_delta(base, delta, field::status);
  EXPECT_EQ(base.version, 8u);
  EXPECT_EQ(base.status, order_status::completed);
  EXPECT_EQ(base.address, full_state().address);
  EXPECT_EQ(base.rider, full_state().rider);
}

TEST(JsonCodec, RiderPosition) {
  std::string out;
  encode_rider_position(make_id("R7"), {1764071100123, {116.4, 39.9}}, out);
  EXPECT_EQ(out,
            "{\"type\":\"riderPosition\",\"riderId\":\"R7\",\"longitude\":116.400000,"
            "\"latitude\":39.900000,\"time\":1764071100123}");
}

TEST(JsonCodec, RoundTripsSnapshot) {
  const tracking_state s = full_state();
  std::string out;
  encode_snapshot(s, out);
  const auto d = decode_update_json(out);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->kind, message_kind::snapshot);
  EXPECT_EQ(d->changed, field::all);
  EXPECT_TRUE(testing::same_fields(s, d->state, field::all, true));
}

TEST(JsonCodec, SeededRandomDeltasRoundTripWithExactlyTheChangedKeys) {
  std::mt19937_64 rng(20261125);
  tracking_state s = full_state();
  std::string out;
  for (int i = 0; i < 5000; ++i) {
    const auto changed = static_cast<std::uint32_t>(rng() & field::all);
    testing::randomize_fields(s, changed, rng);
    s.version = 1 + rng() % 1000000;
    out.clear();
    encode_delta(s, changed, out);
    const auto d = decode_update_json(out);
    ASSERT_TRUE(d.ok()) << d.message() << " in " << out;
    ASSERT_EQ(d->kind, message_kind::delta);
    ASSERT_EQ(d->changed, changed) << out;
    ASSERT_TRUE(testing::same_fields(s, d->state, changed, true)) << out;
  }
}

TEST(JsonCodec, NoAllocationOnceTheBufferHasCapacity) {
  std::string out;
  out.reserve(4096);
  const char* data = out.data();
  for (int i = 0; i < 100; ++i) {
    out.clear();
    encode_snapshot(full_state(), out);
  }
  EXPECT_EQ(out.data(), data);  // never reallocated
}

// ---------------------------------------------------------------- errors

struct bad_json {
  std::string text;
  errc code;
  const char* field;
};

void expect_rejected(const bad_json& c) {
  const auto d = decode_update_json(c.text);
  ASSERT_FALSE(d.ok()) << c.text;
  EXPECT_EQ(d.error(), c.code) << c.text << " -> " << d.message();
  ASSERT_NE(d.field(), nullptr) << c.text;
  EXPECT_STREQ(d.field(), c.field) << c.text;
}

const std::string kHead = R"({"type":"delta","orderId":"O1","version":3)";

TEST(JsonCodecErrors, EnvelopeErrors) {
  const bad_json cases[] = {
      {std::string(kMaxUpdateJsonBytes + 1, ' '), errc::too_large, "message"},
      {"", errc::malformed_json, "message"},
      {"{\"type\":", errc::malformed_json, "message"},
      {"{\"a\":1} x", errc::malformed_json, "message"},
      {"[1,2]", errc::wrong_type, "message"},
      {R"({"orderId":"O1","version":3})", errc::missing_field, "type"},
      {R"({"type":1,"orderId":"O1","version":3})", errc::wrong_type, "type"},
      {R"({"type":"riderPosition","orderId":"O1","version":3})", errc::invalid_field, "type"},
      {R"({"type":"delta","version":3})", errc::missing_field, "orderId"},
      {R"({"type":"delta","orderId":null,"version":3})", errc::wrong_type, "orderId"},
      {R"({"type":"delta","orderId":7,"version":3})", errc::wrong_type, "orderId"},
      {R"({"type":"delta","orderId":"","version":3})", errc::invalid_field, "orderId"},
      {R"({"type":"delta","orderId":"bad id","version":3})", errc::invalid_field, "orderId"},
      {R"({"type":"delta","orderId":"O1"})", errc::missing_field, "version"},
      {R"({"type":"delta","orderId":"O1","version":0})", errc::invalid_field, "version"},
      {R"({"type":"delta","orderId":"O1","version":-4})", errc::invalid_field, "version"},
      {R"({"type":"delta","orderId":"O1","version":3.5})", errc::wrong_type, "version"},
      {R"({"type":"delta","orderId":"O1","version":"3"})", errc::wrong_type, "version"},
      {R"({"type":"delta","orderId":"O1","version":18446744073709551615})", errc::invalid_field,
       "version"},
      {R"({"type":"delta","orderId":"O1","version":9007199254740992})", errc::invalid_field,
       "version"},
  };
  for (const auto& c : cases) expect_rejected(c);
}

TEST(JsonCodecErrors, FieldErrors) {
  const bad_json cases[] = {
      {kHead + R"(,"status":0})", errc::invalid_field, "status"},
      {kHead + R"(,"status":6})", errc::invalid_field, "status"},
      {kHead + R"(,"status":"3"})", errc::wrong_type, "status"},
      {kHead + R"(,"status":3.0})", errc::wrong_type, "status"},
      {kHead + R"(,"longitude":116.4})", errc::missing_field, "latitude"},
      {kHead + R"(,"latitude":39.9})", errc::missing_field, "longitude"},
      {kHead + R"(,"longitude":null,"latitude":39.9})", errc::wrong_type, "longitude"},
      {kHead + R"(,"longitude":116.4,"latitude":null})", errc::wrong_type, "latitude"},
      {kHead + R"(,"longitude":"116.4","latitude":39.9})", errc::wrong_type, "longitude"},
      {kHead + R"(,"longitude":116.4,"latitude":true})", errc::wrong_type, "latitude"},
      {kHead + R"(,"longitude":181,"latitude":39.9})", errc::invalid_field, "longitude"},
      {kHead + R"(,"longitude":116.4,"latitude":-90.5})", errc::invalid_field, "latitude"},
      {kHead + R"(,"address":5})", errc::wrong_type, "address"},
      {kHead + R"(,"address":")" + std::string(256, 'a') + "\"}", errc::invalid_field, "address"},
      {kHead + R"(,"operatorId":"R1"})", errc::missing_field, "operatorType"},
      {kHead + R"(,"operatorType":1})", errc::missing_field, "operatorId"},
      {kHead + R"(,"operatorId":"R 1","operatorType":1})", errc::invalid_field, "operatorId"},
      {kHead + R"(,"operatorId":[],"operatorType":1})", errc::wrong_type, "operatorId"},
      {kHead + R"(,"operatorId":"R1","operatorType":3})", errc::invalid_field, "operatorType"},
      {kHead + R"(,"createTime":-1})", errc::invalid_field, "createTime"},
      {kHead + R"(,"createTime":99999999999999999})", errc::invalid_field, "createTime"},
      {kHead + R"(,"etaSeconds":5})", errc::missing_field, "etaP90Seconds"},
      {kHead + R"(,"etaSeconds":-2,"etaP90Seconds":5})", errc::invalid_field, "etaSeconds"},
      {kHead + R"(,"etaSeconds":5,"etaP90Seconds":2147483648})", errc::invalid_field,
       "etaP90Seconds"},
      {kHead + R"(,"alerts":{}})", errc::wrong_type, "alerts"},
      {kHead + R"(,"alerts":[1]})", errc::wrong_type, "alerts"},
      {kHead + R"(,"alerts":[{"since":1,"value":1}]})", errc::missing_field, "alerts.kind"},
      {kHead + R"(,"alerts":[{"kind":"standstill","value":1}]})", errc::missing_field,
       "alerts.since"},
      {kHead + R"(,"alerts":[{"kind":"standstill","since":1}]})", errc::missing_field,
       "alerts.value"},
      {kHead + R"(,"alerts":[{"kind":3,"since":1,"value":1}]})", errc::wrong_type, "alerts.kind"},
      {kHead + R"(,"alerts":[{"kind":"fire","since":1,"value":1}]})", errc::invalid_field,
       "alerts.kind"},
      {kHead + R"(,"alerts":[{"kind":"standstill","since":1,"value":1},)"
                   R"({"kind":"standstill","since":2,"value":1}]})",
       errc::invalid_field, "alerts.kind"},
      {kHead + R"(,"alerts":[{"kind":"standstill","since":-1,"value":1}]})", errc::invalid_field,
       "alerts.since"},
      {kHead + R"(,"alerts":[{"kind":"standstill","since":1,"value":"x"}]})", errc::wrong_type,
       "alerts.value"},
      {kHead + R"(,"alerts":[{"kind":"standstill","since":1,"value":2e9}]})", errc::invalid_field,
       "alerts.value"},
      {kHead + R"(,"riderId":12})", errc::wrong_type, "riderId"},
      {kHead + R"(,"riderId":"12345678901234567890123456789012X"})", errc::invalid_field,
       "riderId"},
      {kHead + R"(,"pickingStage":6})", errc::invalid_field, "pickingStage"},
      {kHead + R"(,"userId":"U1"})", errc::missing_field, "warehouseId"},
      {kHead + R"(,"userId":"U1","warehouseId":"W/1"})", errc::invalid_field, "warehouseId"},
  };
  for (const auto& c : cases) expect_rejected(c);
}

TEST(JsonCodecErrors, SnapshotMustCarryEveryKey) {
  std::string full;
  encode_snapshot(full_state(), full);
  // Remove one key group at a time: the decoder names the first key of it.
  const std::pair<std::string, const char*> cuts[] = {
      {",\"status\":3", "status"},
      {",\"createTime\":1764071100000", "createTime"},
      {",\"pickingStage\":5", "pickingStage"},
      {",\"riderId\":\"R42\"", "riderId"},
  };
  for (const auto& [cut, name] : cuts) {
    std::string text = full;
    const auto at = text.find(cut);
    ASSERT_NE(at, std::string::npos) << cut;
    text.erase(at, cut.size());
    expect_rejected({text, errc::missing_field, name});
  }
}

TEST(JsonCodecErrors, UnknownKeysAreIgnored) {
  const auto d = decode_update_json(kHead + R"(,"status":2,"futureKey":{"x":[1,2]}})");
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->changed, field::status);
}

}  // namespace
}  // namespace xiaoxiang
