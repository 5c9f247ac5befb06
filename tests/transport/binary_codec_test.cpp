#include "xiaoxiang/transport/binary_codec.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "transport_test_util.hpp"

namespace xiaoxiang {
namespace {

using testing::full_state;

TEST(BinaryCodec, StartsWithTheFormatVersion) {
  std::string out;
  encode_delta_binary(full_state(), field::position, out);
  ASSERT_GE(out.size(), 2u);
  EXPECT_EQ(static_cast<std::uint8_t>(out[0]), kBinaryFormatVersion);
  EXPECT_EQ(static_cast<std::uint8_t>(out[1]), 1);  // little-endian marker
}

TEST(BinaryCodec, RoundTripsSnapshotExactly) {
  const tracking_state s = full_state();
  std::string out;
  encode_snapshot_binary(s, out);
  const auto d = decode_update_binary(out);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->kind, message_kind::snapshot);
  EXPECT_EQ(d->changed, field::all);
  EXPECT_EQ(d->state, s);  // exact: doubles are not rounded
}

TEST(BinaryCodec, PositionDeltaIsSmall) {
  std::string out;
  encode_delta_binary(full_state(), field::position, out);
  // version byte, endianness, kind, changed, id (1+16), version, has, 2 doubles
  EXPECT_EQ(out.size(), 1u + 1 + 1 + 4 + 17 + 8 + 1 + 16);
}

TEST(BinaryCodec, SeededRandomDeltasRoundTripExactly) {
  std::mt19937_64 rng(42);
  tracking_state s = full_state();
  std::string out;
  for (int i = 0; i < 5000; ++i) {
    const auto changed = static_cast<std::uint32_t>(rng() & field::all);
    testing::randomize_fields(s, changed, rng);
    s.version = 1 + rng() % 1000000;
    out.clear();
    encode_delta_binary(s, changed, out);
    const auto d = decode_update_binary(out);
    ASSERT_TRUE(d.ok()) << d.message();
    ASSERT_EQ(d->changed, changed);
    ASSERT_TRUE(testing::same_fields(s, d->state, changed, false));
  }
}

TEST(BinaryCodec, NaNAlertValueSurvives) {
  tracking_state s = full_state();
  s.alerts[0] = {true, 5, std::numeric_limits<double>::quiet_NaN()};
  std::string out;
  encode_delta_binary(s, field::alerts, out);
  const auto d = decode_update_binary(out);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_TRUE(std::isnan(d->state.alerts[0].value));
}

// ---------------------------------------------------------------- errors

// Little-endian writer for hand-made messages.
struct bytes {
  std::string b;
  bytes& u8(unsigned v) { b.push_back(static_cast<char>(v)); return *this; }
  bytes& u16(unsigned v) { return u8(v & 0xFF).u8((v >> 8) & 0xFF); }
  bytes& u32(std::uint32_t v) { for (int i = 0; i < 4; ++i) u8((v >> (8 * i)) & 0xFF); return *this; }
  bytes& u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<unsigned>((v >> (8 * i)) & 0xFF));
    return *this;
  }
  bytes& f64(double v) { std::uint64_t x; std::memcpy(&x, &v, 8); return u64(x); }
  bytes& str8(std::string_view s) { u8(static_cast<unsigned>(s.size())); b.append(s); return *this; }
  // Header of a delta of order "O1" version 3 carrying `changed`.
  static bytes delta(std::uint32_t changed, unsigned kind = 0) {
    bytes x;
    x.u8(kBinaryFormatVersion).u8(1).u8(kind).u32(changed).str8("O1").u64(3);
    return x;
  }
};

void expect_rejected(const std::string& in, errc code, const char* name) {
  const auto d = decode_update_binary(in);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), code) << d.message();
  ASSERT_NE(d.field(), nullptr);
  EXPECT_STREQ(d.field(), name);
}

TEST(BinaryCodecErrors, HandMadeDeltaIsAccepted) {
  const auto d = decode_update_binary(bytes::delta(field::status).u8(3).b);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->state.status, order_status::delivering);
  EXPECT_EQ(d->state.version, 3u);
}

TEST(BinaryCodecErrors, Envelope) {
  expect_rejected("", errc::truncated, "formatVersion");
  expect_rejected(std::string(1, '\x02'), errc::unsupported_format_version, "formatVersion");
  expect_rejected(std::string(1, '\x00'), errc::unsupported_format_version, "formatVersion");
  expect_rejected(std::string(1, '\x01'), errc::truncated, "endianness");
  expect_rejected(std::string("\x01\x02", 2), errc::invalid_field, "endianness");
  expect_rejected(bytes::delta(0).u8(0).b, errc::trailing_bytes, "message");
  expect_rejected(bytes::delta(0, 2).b, errc::invalid_field, "type");
  expect_rejected(bytes::delta(1u << 10).b, errc::invalid_field, "changed");
  expect_rejected(bytes::delta(field::status, 1).u8(3).b, errc::invalid_field, "changed");
  bytes empty_order;
  empty_order.u8(1).u8(1).u8(0).u32(0).str8("").u64(3);
  expect_rejected(empty_order.b, errc::invalid_field, "orderId");
  bytes long_order;
  long_order.u8(1).u8(1).u8(0).u32(0).str8(std::string(33, 'a')).u64(3);
  expect_rejected(long_order.b, errc::invalid_field, "orderId");
  bytes bad_order;
  bad_order.u8(1).u8(1).u8(0).u32(0).str8("O 1").u64(3);
  expect_rejected(bad_order.b, errc::invalid_field, "orderId");
  bytes zero_version;
  zero_version.u8(1).u8(1).u8(0).u32(0).str8("O1").u64(0);
  expect_rejected(zero_version.b, errc::invalid_field, "version");
  bytes huge_version;  // beyond 2^53 - 1: not exact in a JavaScript client
  huge_version.u8(1).u8(1).u8(0).u32(0).str8("O1").u64(1ull << 53);
  expect_rejected(huge_version.b, errc::invalid_field, "version");
}

// An address must be valid UTF-8, as in JSON: otherwise the JSON form of a
// binary message (bad bytes widened to U+FFFD) could exceed 255 bytes and be
// refused by the JSON decoder (found by fuzz_binary_codec).
TEST(BinaryCodecErrors, AddressMustBeUtf8) {
  const std::string bad = "x\xff\xfe";
  std::string in = bytes::delta(field::address).u16(static_cast<unsigned>(bad.size())).b + bad;
  expect_rejected(in, errc::invalid_field, "address");
  const std::string good = "朝阳区";
  in = bytes::delta(field::address).u16(static_cast<unsigned>(good.size())).b + good;
  const auto d = decode_update_binary(in);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->state.address, good);
}

TEST(BinaryCodecErrors, EveryPrefixIsTruncated) {
  std::string full;
  encode_snapshot_binary(full_state(), full);
  for (std::size_t n = 2; n < full.size(); ++n)
    expect_rejected(full.substr(0, n), errc::truncated, n < 2 ? "endianness" : "message");
}

TEST(BinaryCodecErrors, Fields) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  expect_rejected(bytes::delta(field::status).u8(0).b, errc::invalid_field, "status");
  expect_rejected(bytes::delta(field::status).u8(6).b, errc::invalid_field, "status");
  expect_rejected(bytes::delta(field::position).u8(2).b, errc::invalid_field, "longitude");
  expect_rejected(bytes::delta(field::position).u8(1).f64(180.5).f64(39).b, errc::invalid_field,
                  "longitude");
  expect_rejected(bytes::delta(field::position).u8(1).f64(nan).f64(39).b, errc::invalid_field,
                  "longitude");
  expect_rejected(bytes::delta(field::position).u8(1).f64(116).f64(nan).b, errc::invalid_field,
                  "latitude");
  expect_rejected(bytes::delta(field::address).u16(256).b, errc::invalid_field, "address");
  expect_rejected(bytes::delta(field::operator_info).str8("R/1").u8(1).b, errc::invalid_field,
                  "operatorId");
  expect_rejected(bytes::delta(field::operator_info).str8("R1").u8(3).b, errc::invalid_field,
                  "operatorType");
  expect_rejected(bytes::delta(field::create_time).u64(static_cast<std::uint64_t>(-1)).b,
                  errc::invalid_field, "createTime");
  expect_rejected(bytes::delta(field::eta).u32(static_cast<std::uint32_t>(-2)).u32(5).b,
                  errc::invalid_field, "etaSeconds");
  expect_rejected(bytes::delta(field::eta).u32(5).u32(static_cast<std::uint32_t>(-7)).b,
                  errc::invalid_field, "etaP90Seconds");
  expect_rejected(bytes::delta(field::alerts).u8(0x10).b, errc::invalid_field, "alerts");
  expect_rejected(bytes::delta(field::alerts).u8(0x1).u64(static_cast<std::uint64_t>(-1)).f64(1).b,
                  errc::invalid_field, "alerts.since");
  expect_rejected(bytes::delta(field::rider).str8(std::string(40, 'r')).b, errc::invalid_field,
                  "riderId");
  expect_rejected(bytes::delta(field::picking).u8(6).b, errc::invalid_field, "pickingStage");
  expect_rejected(bytes::delta(field::user).str8("U1").str8("W 1").b, errc::invalid_field,
                  "warehouseId");
  expect_rejected(bytes::delta(field::user).str8("U#").str8("W1").b, errc::invalid_field, "userId");
}

TEST(BinaryCodecErrors, RandomBytesNeverCrash) {
  std::mt19937_64 rng(7);
  std::string valid;
  encode_snapshot_binary(full_state(), valid);
  for (int i = 0; i < 20000; ++i) {
    std::string in = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) in[rng() % in.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) in.resize(rng() % in.size());
    const auto d = decode_update_binary(in);
    if (d.ok()) {
      // Whatever decodes must re-encode to the same bytes.
      std::string again;
      encode_update_binary(d->state, d->changed, d->kind, again);
      if (in[1] == 1) {
        ASSERT_EQ(again.size(), in.size());
      }
    }
  }
}

}  // namespace
}  // namespace xiaoxiang
