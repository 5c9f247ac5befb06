#include "xiaoxiang/order/event_json.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace xiaoxiang {
namespace {

// ------------------------------------------------------------ round trips

class event_gen {
 public:
  explicit event_gen(std::uint64_t seed) : rng_(seed) {}

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  id make_id(const char* prefix) {
    static constexpr char kChars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-";
    std::string s = prefix;
    const int n = pick(0, 31 - static_cast<int>(s.size()));
    for (int i = 0; i < n; ++i) s += kChars[pick(0, static_cast<int>(sizeof kChars) - 2)];
    return *id::make(s);
  }

  double coord(double limit) {
    // Mix "nice" decimals, full-precision doubles, integers and the bounds.
    switch (pick(0, 5)) {
      case 0: return limit;
      case 1: return -limit;
      case 2: return static_cast<double>(pick(-static_cast<int>(limit), static_cast<int>(limit)));
      case 3: return std::round(std::uniform_real_distribution<double>(-limit, limit)(rng_) * 1e6) / 1e6;
      default: return std::uniform_real_distribution<double>(-limit, limit)(rng_);
    }
  }
  geo_point point() { return {coord(180), coord(90)}; }
  timestamp_ms time() { return std::uniform_int_distribution<timestamp_ms>(0, 16'725'225'600'000)(rng_); }

  std::string address() {
    static const char* kParts[] = {"朝阳区建国路88号", "Flat 3, \"Rose\" Court", "back\\slash",
                                   "tab\there", "line\nbreak", "\x01\x1f ctrl", "plain"};
    std::string s;
    const int n = pick(0, 3);
    for (int i = 0; i < n; ++i) s += kParts[pick(0, 6)];
    return s;
  }

  event make(event_kind kind) {
    event e;
    e.kind = kind;
    e.id = make_id("E");
    e.time = time();
    switch (kind) {
      case event_kind::order_created:
        e.order = make_id("O");
        e.user = make_id("U");
        e.warehouse = make_id("W");
        e.amount = std::uniform_int_distribution<amount_cents>(0, max_amount_cents)(rng_);
        e.origin = point();
        e.destination = point();
        e.address = address();
        e.promised_time = pick(0, 1) ? time() : 0;
        break;
      case event_kind::order_paid: e.order = make_id("O"); break;
      case event_kind::picking_stage:
        e.order = make_id("O");
        e.warehouse = make_id("W");
        e.stage = static_cast<picking_stage>(pick(1, 5));
        break;
      case event_kind::rider_assigned: {
        e.order = make_id("O");
        e.rider = make_id("R");
        const int n = pick(0, 20);
        for (int i = 0; i < n; ++i) e.route.push_back(point());
        break;
      }
      case event_kind::rider_position:
        e.rider = make_id("R");
        e.position = point();
        e.has_position = true;
        break;
      case event_kind::order_delivered:
        e.order = make_id("O");
        e.rider = make_id("R");
        if (pick(0, 1)) {
          e.position = point();
          e.has_position = true;
        }
        break;
      case event_kind::order_cancelled:
        e.order = make_id("O");
        e.address = address();
        break;
      case event_kind::position_batch: {
        e.rider = make_id("R");
        const int n = pick(0, 30);
        for (int i = 0; i < n; ++i) e.fixes.push_back({time(), point()});
        break;
      }
    }
    return e;
  }

 private:
  std::mt19937_64 rng_;
};

TEST(EventJson, RoundTripsSeededRandomEventsOfEveryKind) {
  event_gen gen(20261125);
  std::string text;
  for (int i = 0; i < 4000; ++i) {
    const auto kind = static_cast<event_kind>(1 + i % 8);
    const event e = gen.make(kind);
    text.clear();
    event_to_json(e, text);
    const auto back = event_from_json(text);
    ASSERT_TRUE(back.ok()) << back.message() << "\n" << text;
    ASSERT_EQ(*back, e) << text;
    // Encoding is a function of the event: the same bytes again.
    ASSERT_EQ(event_to_json(*back), text);
  }
}

TEST(EventJson, EncodesTheDocumentedWireFormat) {
  event e;
  e.kind = event_kind::rider_position;
  e.id = *id::make("E123");
  e.time = 1764071100000;
  e.rider = *id::make("R7");
  e.position = {116.39747, 39.908823};
  e.has_position = true;
  EXPECT_EQ(event_to_json(e),
            R"({"type":"rider_position","eventId":"E123","time":1764071100000,"riderId":"R7",)"
            R"("longitude":116.39747,"latitude":39.908823})");

  event c;
  c.kind = event_kind::order_created;
  c.id = *id::make("E1");
  c.time = 5;
  c.order = *id::make("O1");
  c.user = *id::make("U1");
  c.warehouse = *id::make("W1");
  c.amount = 1250;
  c.origin = {116.4, 39.9};
  c.destination = {116.41, 39.91};
  c.address = "A \"b\"";
  c.promised_time = 1800005;
  EXPECT_EQ(event_to_json(c),
            R"({"type":"order_created","eventId":"E1","time":5,"orderId":"O1","userId":"U1",)"
            R"("warehouseId":"W1","totalAmount":12.50,"origin":{"longitude":116.4,"latitude":39.9},)"
            R"("destination":{"longitude":116.41,"latitude":39.91},"address":"A \"b\"",)"
            R"("promisedTime":1800005})");
}

TEST(EventJson, DecodesTheDocumentedExample) {
  const auto e = event_from_json(
      R"({"type":"rider_position","eventId":"E123","time":1764071100000,"riderId":"R7","longitude":116.39747,"latitude":39.908823})");
  ASSERT_TRUE(e.ok()) << e.message();
  EXPECT_EQ(e->kind, event_kind::rider_position);
  EXPECT_EQ(e->id.view(), "E123");
  EXPECT_EQ(e->time, 1764071100000);
  EXPECT_EQ(e->rider.view(), "R7");
  EXPECT_TRUE(e->has_position);
  EXPECT_EQ(e->position.lon, 116.39747);
  EXPECT_EQ(e->position.lat, 39.908823);
}

// ------------------------------------------------------------ lenient inputs

constexpr const char* kCreatedHead =
    R"({"type":"order_created","eventId":"E1","time":1,"orderId":"O1","userId":"U1",)"
    R"("warehouseId":"W1","origin":{"longitude":1,"latitude":2},)"
    R"("destination":{"longitude":3,"latitude":4},)";

result<event> created_with(const std::string& tail) {
  return event_from_json(std::string(kCreatedHead) + tail + "}");
}

TEST(EventJson, AmountsAreExactDecimalsFromNumbersOrStrings) {
  const std::pair<const char*, amount_cents> cases[] = {
      {R"("totalAmount":12.34)", 1234},       {R"("totalAmount":"12.34")", 1234},
      {R"("totalAmount":12.3)", 1230},        {R"("totalAmount":12)", 1200},
      {R"("totalAmount":"0.07")", 7},         {R"("totalAmount":0.1)", 10},
      {R"("totalAmount":12.500)", 1250},      {R"("totalAmount":99999999.99)", max_amount_cents},
      {R"("totalAmount":"19.99")", 1999},
  };
  for (const auto& [tail, cents] : cases) {
    const auto e = created_with(tail);
    ASSERT_TRUE(e.ok()) << tail << ": " << e.message();
    EXPECT_EQ(e->amount, cents) << tail;
  }
}

TEST(EventJson, StageByCodeOrName) {
  const auto a = event_from_json(
      R"({"type":"picking_stage","eventId":"E","time":1,"orderId":"O","warehouseId":"W","stage":"packed"})");
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->stage, picking_stage::packed);
  const auto b = event_from_json(
      R"({"type":"picking_stage","eventId":"E","time":1,"orderId":"O","warehouseId":"W","stage":2})");
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(b->stage, picking_stage::picking);
}

TEST(EventJson, IgnoresUnknownKeysAndNulls) {
  const auto e = event_from_json(
      R"({"deliveredAt":99,"type":"rider_position","x":{"a":[1,{"b":null}],"longitude":"no"},)"
      R"("eventId":"E","time":1,"riderId":"R","orderId":null,"longitude":1.5,"latitude":-2,)"
      R"("future":[[["deep"]]],"flag":true})");
  ASSERT_TRUE(e.ok()) << e.message();
  EXPECT_TRUE(e->order.empty());
  EXPECT_EQ(e->position, (geo_point{1.5, -2}));
  const auto f = event_from_json(
      R"({"type":"position_batch","eventId":"E","time":1,"riderId":"R",)"
      R"("fixes":[{"time":3,"longitude":1,"latitude":2,"accuracy":5.5,"extra":{"k":[]}}]})");
  ASSERT_TRUE(f.ok()) << f.message();
  ASSERT_EQ(f->fixes.size(), 1u);
  EXPECT_EQ(f->fixes[0], (position_fix{3, {1, 2}}));
}

TEST(EventJson, EscapedStringsDecode) {
  const auto e = event_from_json(
      R"({"type":"order_cancelled","eventId":"E","time":1,"orderId":"O","address":"a\"b\\c\u00e9\n"})");
  ASSERT_TRUE(e.ok()) << e.message();
  EXPECT_EQ(e->address, "a\"b\\c\xc3\xa9\n");
}

// ------------------------------------------------------------ error paths

struct bad_case {
  const char* text;
  errc code;
  const char* field;  // nullptr: no field
};

void expect_rejected(const bad_case& c, const event_json_limits& limits = {}) {
  const auto r = event_from_json(c.text, limits);
  ASSERT_FALSE(r.ok()) << c.text;
  EXPECT_EQ(r.error(), make_error_code(c.code)) << c.text << " -> " << r.message();
  if (c.field == nullptr) {
    EXPECT_EQ(r.field(), nullptr) << c.text << " -> " << r.message();
  } else {
    ASSERT_NE(r.field(), nullptr) << c.text;
    EXPECT_STREQ(r.field(), c.field) << c.text;
  }
}

#define POS R"("type":"rider_position","eventId":"E","time":1,"riderId":"R")"
#define BATCH R"("type":"position_batch","eventId":"E","time":1,"riderId":"R")"
#define ASSIGN R"("type":"rider_assigned","eventId":"E","time":1,"orderId":"O","riderId":"R")"
#define CREATED                                                                        \
  R"("type":"order_created","eventId":"E","time":1,"orderId":"O","userId":"U",)"     \
  R"("warehouseId":"W","totalAmount":1)"

TEST(EventJson, RejectsMalformedText) {
  const bad_case cases[] = {
      {"", errc::malformed_json, nullptr},
      {"{", errc::malformed_json, nullptr},
      {"not json", errc::malformed_json, nullptr},
      {"[1,2]", errc::malformed_json, nullptr},
      {"\"text\"", errc::malformed_json, nullptr},
      {"42", errc::malformed_json, nullptr},
      {"null", errc::malformed_json, nullptr},
      {"true", errc::malformed_json, nullptr},
      {"{" POS ",\"longitude\":1,\"latitude\":2} {}", errc::malformed_json, nullptr},
      {"{" POS ",\"longitude\":1,\"latitude\":2,}", errc::malformed_json, nullptr},
      {"{\"type\":\"order_paid\",\"eventId\":\"E\xff\"}", errc::malformed_json, nullptr},
  };
  for (const auto& c : cases) expect_rejected(c);
}

TEST(EventJson, RejectsMissingFields) {
  const bad_case cases[] = {
      {"{}", errc::missing_field, "type"},
      {R"({"type":"order_paid"})", errc::missing_field, "eventId"},
      {R"({"type":"order_paid","eventId":"E"})", errc::missing_field, "time"},
      {R"({"type":"order_paid","eventId":"E","time":1})", errc::missing_field, "orderId"},
      {R"({"type":"order_paid","eventId":"E","time":1,"orderId":null})", errc::missing_field,
       "orderId"},
      {R"({"type":"order_created","eventId":"E","time":1,"orderId":"O"})", errc::missing_field,
       "userId"},
      {R"({"type":"order_created","eventId":"E","time":1,"orderId":"O","userId":"U"})",
       errc::missing_field, "warehouseId"},
      {"{" CREATED "}", errc::missing_field, "origin"},
      {R"({"type":"order_created","eventId":"E","time":1,"orderId":"O","userId":"U","warehouseId":"W"})",
       errc::missing_field, "totalAmount"},
      {"{" CREATED ",\"origin\":{\"longitude\":1,\"latitude\":2}}", errc::missing_field,
       "destination"},
      {"{" CREATED ",\"origin\":{\"latitude\":2}}", errc::missing_field, "origin.longitude"},
      {"{" CREATED ",\"destination\":{\"longitude\":2}}", errc::missing_field,
       "destination.latitude"},
      {R"({"type":"picking_stage","eventId":"E","time":1,"orderId":"O","warehouseId":"W"})",
       errc::missing_field, "stage"},
      {R"({"type":"picking_stage","eventId":"E","time":1,"orderId":"O","stage":1})",
       errc::missing_field, "warehouseId"},
      {R"({"type":"rider_assigned","eventId":"E","time":1,"orderId":"O"})", errc::missing_field,
       "riderId"},
      {R"({"type":"rider_position","eventId":"E","time":1,"longitude":1,"latitude":2})",
       errc::missing_field, "riderId"},
      {"{" POS "}", errc::missing_field, "longitude"},
      {"{" POS ",\"longitude\":1}", errc::missing_field, "latitude"},
      {R"({"type":"order_delivered","eventId":"E","time":1,"orderId":"O"})", errc::missing_field,
       "riderId"},
      {R"({"type":"order_delivered","eventId":"E","time":1,"orderId":"O","riderId":"R","latitude":1})",
       errc::missing_field, "longitude"},
      {R"({"type":"order_cancelled","eventId":"E","time":1})", errc::missing_field, "orderId"},
      {"{" BATCH "}", errc::missing_field, "fixes"},
      {"{" BATCH ",\"fixes\":[{\"longitude\":1,\"latitude\":2}]}", errc::missing_field,
       "fixes[].time"},
      {"{" BATCH ",\"fixes\":[{\"time\":1,\"latitude\":2}]}", errc::missing_field,
       "fixes[].longitude"},
      {"{" BATCH ",\"fixes\":[{\"time\":1,\"longitude\":2}]}", errc::missing_field,
       "fixes[].latitude"},
  };
  for (const auto& c : cases) expect_rejected(c);
}

TEST(EventJson, RejectsWrongTypes) {
  const bad_case cases[] = {
      {R"({"type":5})", errc::wrong_type, "type"},
      {R"({"type":["order_paid"]})", errc::wrong_type, "type"},
      {R"({"eventId":12})", errc::wrong_type, "eventId"},
      {R"({"time":"1"})", errc::wrong_type, "time"},
      {R"({"time":1.5})", errc::wrong_type, "time"},
      {R"({"time":1e3})", errc::wrong_type, "time"},
      {R"({"time":true})", errc::wrong_type, "time"},
      {R"({"orderId":{}})", errc::wrong_type, "orderId"},
      {R"({"userId":1})", errc::wrong_type, "userId"},
      {R"({"warehouseId":false})", errc::wrong_type, "warehouseId"},
      {R"({"riderId":[]})", errc::wrong_type, "riderId"},
      {R"({"totalAmount":true})", errc::wrong_type, "totalAmount"},
      {R"({"longitude":"116.3"})", errc::wrong_type, "longitude"},
      {R"({"latitude":[1]})", errc::wrong_type, "latitude"},
      {R"({"origin":[1,2]})", errc::wrong_type, "origin"},
      {R"({"origin":{"longitude":"1"}})", errc::wrong_type, "origin.longitude"},
      {R"({"destination":{"latitude":{}}})", errc::wrong_type, "destination.latitude"},
      {R"({"destination":5})", errc::wrong_type, "destination"},
      {R"({"address":5})", errc::wrong_type, "address"},
      {R"({"promisedTime":"5"})", errc::wrong_type, "promisedTime"},
      {R"({"stage":2.5})", errc::wrong_type, "stage"},
      {R"({"stage":{}})", errc::wrong_type, "stage"},
      {R"({"route":{}})", errc::wrong_type, "route"},
      {R"({"route":[1,2]})", errc::wrong_type, "route"},
      {R"({"route":[[1,"2"]]})", errc::wrong_type, "route"},
      {R"({"route":[[1,[2]]]})", errc::wrong_type, "route"},
      {R"({"route":[{"longitude":1}]})", errc::wrong_type, "route"},
      {R"({"route":[null]})", errc::wrong_type, "route"},
      {R"({"fixes":{}})", errc::wrong_type, "fixes"},
      {R"({"fixes":[1]})", errc::wrong_type, "fixes"},
      {R"({"fixes":[[1,2]]})", errc::wrong_type, "fixes"},
      {R"({"fixes":[null]})", errc::wrong_type, "fixes"},
      {R"({"fixes":[{"time":"1"}]})", errc::wrong_type, "fixes[].time"},
      {R"({"fixes":[{"time":1.0}]})", errc::wrong_type, "fixes[].time"},
      {R"({"fixes":[{"longitude":[]}]})", errc::wrong_type, "fixes[].longitude"},
      {R"({"fixes":[{"latitude":true}]})", errc::wrong_type, "fixes[].latitude"},
  };
  for (const auto& c : cases) expect_rejected(c);
}

TEST(EventJson, RejectsBadValuesNamingTheField) {
  const bad_case cases[] = {
      {R"({"type":"order_shipped"})", errc::unknown_event_type, "type"},
      {R"({"type":"unknown"})", errc::unknown_event_type, "type"},
      {R"({"type":""})", errc::unknown_event_type, "type"},
      {R"({"eventId":""})", errc::empty_id, "eventId"},
      {R"({"orderId":"123456789012345678901234567890123"})", errc::id_too_long, "orderId"},
      {R"({"riderId":"R 7"})", errc::invalid_id_character, "riderId"},
      {R"({"userId":"u/1"})", errc::invalid_id_character, "userId"},
      {R"({"warehouseId":""})", errc::empty_id, "warehouseId"},
      {R"({"time":-1})", errc::invalid_timestamp, "time"},
      {R"({"time":16725225600001})", errc::invalid_timestamp, "time"},
      {R"({"time":18446744073709551615})", errc::invalid_timestamp, "time"},
      {R"({"promisedTime":-5})", errc::invalid_timestamp, "promisedTime"},
      {R"({"longitude":180.0000001})", errc::invalid_longitude, "longitude"},
      {R"({"longitude":-181})", errc::invalid_longitude, "longitude"},
      {R"({"longitude":1e400})", errc::invalid_longitude, "longitude"},
      {R"({"latitude":90.5})", errc::invalid_latitude, "latitude"},
      {R"({"origin":{"longitude":200,"latitude":0}})", errc::invalid_longitude,
       "origin.longitude"},
      {R"({"destination":{"longitude":0,"latitude":-91}})", errc::invalid_latitude,
       "destination.latitude"},
      {R"({"route":[[1,2],[181,0]]})", errc::invalid_longitude, "route[].longitude"},
      {R"({"route":[[1,-90.1]]})", errc::invalid_latitude, "route[].latitude"},
      {R"({"route":[[1]]})", errc::invalid_field, "route"},
      {R"({"route":[[1,2,3]]})", errc::invalid_field, "route"},
      {R"({"route":[[]]})", errc::invalid_field, "route"},
      {R"({"fixes":[{"time":1,"longitude":-180.5,"latitude":0}]})", errc::invalid_longitude,
       "fixes[].longitude"},
      {R"({"fixes":[{"time":1,"longitude":0,"latitude":95}]})", errc::invalid_latitude,
       "fixes[].latitude"},
      {R"({"fixes":[{"time":-3,"longitude":0,"latitude":0}]})", errc::invalid_timestamp,
       "fixes[].time"},
      {R"({"totalAmount":-1})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":"-1.00"})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":12.345})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":"12.345"})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":12.3400000000000001})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":1e2})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":100000000})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":"1,5"})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":"12."})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":""})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":" 1"})", errc::invalid_amount, "totalAmount"},
      {R"({"totalAmount":99999999999999999999999})", errc::invalid_amount, "totalAmount"},
      {R"({"stage":0})", errc::invalid_picking_stage, "stage"},
      {R"({"stage":6})", errc::invalid_picking_stage, "stage"},
      {R"({"stage":"none"})", errc::invalid_picking_stage, "stage"},
      {R"({"stage":"shipping"})", errc::invalid_picking_stage, "stage"},
      {R"({"stage":18446744073709551615})", errc::invalid_picking_stage, "stage"},
  };
  for (const auto& c : cases) expect_rejected(c);

  const std::string long_address =
      R"({"type":"order_cancelled","eventId":"E","time":1,"orderId":"O","address":")" +
      std::string(256, 'a') + "\"}";
  expect_rejected({long_address.c_str(), errc::invalid_address, "address"});
  const std::string max_address =
      R"({"type":"order_cancelled","eventId":"E","time":1,"orderId":"O","address":")" +
      std::string(255, 'a') + "\"}";
  EXPECT_TRUE(event_from_json(max_address).ok());
}

TEST(EventJson, EnforcesSizeLimits) {
  event_json_limits limits;
  limits.max_text_bytes = 64;
  limits.max_array_items = 3;
  limits.max_depth = 4;
  const std::string big(65, ' ');
  expect_rejected({big.c_str(), errc::too_large, nullptr}, limits);
  expect_rejected({R"({"route":[[1,2],[1,2],[1,2],[1,2]]})", errc::too_large, "route"}, limits);
  expect_rejected({R"({"fixes":[{"time":1,"longitude":1,"latitude":1},{"time":1,"longitude":1,"latitude":1},{"time":1,"longitude":1,"latitude":1},{"time":1,"longitude":1,"latitude":1}]})",
                   errc::too_large, "fixes"},
                  event_json_limits{1 << 10, 3, 4});
  expect_rejected({R"({"x":[[[[[1]]]]]})", errc::too_large, nullptr}, limits);
  EXPECT_TRUE(event_from_json("{" POS R"(,"route":[[1,2],[1,2],[1,2]],"longitude":1,"latitude":2})",
                              event_json_limits{1 << 10, 3, 4})
                  .ok());
  // Defaults accept a text of exactly the limit and reject one byte more.
  std::string padded = "{" POS R"(,"longitude":1,"latitude":2})";
  padded.resize(event_json_limits{}.max_text_bytes, ' ');
  EXPECT_TRUE(event_from_json(padded).ok());
  padded += ' ';
  expect_rejected({padded.c_str(), errc::too_large, nullptr});
}

TEST(EventJson, FirstErrorInTheTextWins) {
  // Value errors are reported where they occur, before missing keys.
  expect_rejected({R"({"riderId":"","type":"nope"})", errc::empty_id, "riderId"});
  expect_rejected({R"({"type":"nope","riderId":""})", errc::unknown_event_type, "type"});
}

}  // namespace
}  // namespace xiaoxiang
