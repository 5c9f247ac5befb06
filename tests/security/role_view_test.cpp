#include "xiaoxiang/security/role_view.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang {
namespace {

tracking_state full_state(order_status st) {
  tracking_state s;
  s.order = *id::make("O1");
  s.version = 7;
  s.status = st;
  s.position = {116.4, 39.9};
  s.has_position = true;
  s.address = "Chaoyang 1";
  s.operator_id = *id::make("R1");
  s.op_type = operator_type::rider;
  s.create_time = 1000;
  s.eta_seconds = 300;
  s.eta_p90_seconds = 420;
  s.alerts[0] = {true, 900, 250.0};
  s.rider = *id::make("R1");
  s.stage = picking_stage::packed;
  s.user = *id::make("u1");
  s.warehouse = *id::make("W1");
  return s;
}

decoded_update project(const std::string& message, role r, order_status current) {
  std::string out;
  EXPECT_TRUE(project_update(message, r, current, out).ok());
  auto d = decode_update_json(out);
  EXPECT_TRUE(d.ok()) << out;
  return *d;
}

TEST(role_view, fields_by_role) {
  EXPECT_EQ(view_fields(role::admin, order_status::paid), field::all);
  EXPECT_FALSE(view_fields(role::customer, order_status::paid) & field::position);
  EXPECT_TRUE(view_fields(role::customer, order_status::delivering) & field::position);
  EXPECT_FALSE(view_fields(role::customer, order_status::delivering) & field::operator_info);
  EXPECT_FALSE(view_fields(role::rider, order_status::delivering) & field::user);
  EXPECT_TRUE(view_fields(role::rider, order_status::delivering) & field::address);
  EXPECT_TRUE(view_fields(role::warehouse, order_status::paid) & field::picking);
  EXPECT_FALSE(view_fields(role::warehouse, order_status::paid) & field::position);
}

TEST(role_view, customer_sees_position_only_while_delivering_and_no_operator) {
  const auto s = full_state(order_status::delivering);
  std::string delta;
  encode_delta(s, field::position | field::operator_info | field::eta, delta);
  auto d = project(delta, role::customer, order_status::delivering);
  EXPECT_EQ(d.kind, message_kind::delta);
  EXPECT_EQ(d.changed, field::position | field::eta);
  EXPECT_EQ(d.state.version, 7u);
  auto paid = project(delta, role::customer, order_status::paid);
  EXPECT_EQ(paid.changed, field::eta);
  // The status in the message wins over the caller's idea of it.
  std::string with_status;
  encode_delta(full_state(order_status::completed), field::status | field::position, with_status);
  EXPECT_EQ(project(with_status, role::customer, order_status::delivering).changed, field::status);
  EXPECT_EQ(with_status.find("operatorId"), std::string::npos);
}

TEST(role_view, snapshot_keeps_every_key_with_masked_ones_reset) {
  std::string snap;
  encode_snapshot(full_state(order_status::delivering), snap);
  auto c = project(snap, role::customer, order_status::paid);  // the snapshot says Delivering
  EXPECT_EQ(c.kind, message_kind::snapshot);
  EXPECT_TRUE(c.state.has_position);
  EXPECT_TRUE(c.state.operator_id.empty());
  EXPECT_EQ(c.state.op_type, operator_type::none);
  EXPECT_TRUE(c.state.rider.empty());
  EXPECT_FALSE(c.state.alerts[0].active);
  EXPECT_EQ(c.state.user.view(), "u1");
  auto r = project(snap, role::rider, order_status::delivering);
  EXPECT_TRUE(r.state.user.empty());
  EXPECT_TRUE(r.state.warehouse.empty());
  EXPECT_EQ(r.state.address, "Chaoyang 1");
  EXPECT_EQ(r.state.operator_id.view(), "R1");
  auto w = project(snap, role::warehouse, order_status::delivering);
  EXPECT_FALSE(w.state.has_position);
  EXPECT_TRUE(w.state.address.empty());
  EXPECT_EQ(w.state.stage, picking_stage::packed);
  std::string admin;
  ASSERT_TRUE(project_update(snap, role::admin, order_status::paid, admin).ok());
  EXPECT_EQ(admin, snap);
}

TEST(role_view, bad_message_is_an_error) {
  std::string out;
  auto r = project_update("{not json", role::customer, order_status::paid, out);
  EXPECT_EQ(r.code, make_error_code(errc::malformed_json));
}

TEST(role_view_cache, one_projection_per_message_and_role) {
  role_view_cache cache;
  std::string delta;
  encode_delta(full_state(order_status::delivering), field::position | field::operator_info, delta);
  int status_asked = 0;
  const auto status_of = [&] {
    ++status_asked;
    return order_status::delivering;
  };
  constexpr int kSubscribers = 50;
  std::string first;
  for (int i = 0; i < kSubscribers; ++i) {
    for (role r : {role::customer, role::rider, role::warehouse, role::admin}) {
      const std::string_view v = cache.project(delta, r, status_of);
      if (r == role::admin) { EXPECT_EQ(v.data(), delta.data()); }
      if (r == role::customer && i == 0) first.assign(v);
      if (r == role::customer) { EXPECT_EQ(v, first); }
    }
  }
  const auto m = cache.metrics();
  EXPECT_EQ(m.projections, 3u);  // customer, rider, warehouse; admin is the source
  EXPECT_EQ(m.hits, 3u * (kSubscribers - 1));
  EXPECT_EQ(status_asked, 3);
  // The next version is a new message: projected again.
  auto next = full_state(order_status::delivering);
  next.version = 8;
  std::string delta2;
  encode_delta(next, field::position, delta2);
  (void)cache.project(delta2, role::customer, status_of);
  EXPECT_EQ(cache.metrics().projections, 4u);
  // A message that does not decode: an empty view, counted.
  EXPECT_TRUE(cache.project("garbage", role::customer, status_of).empty());
  EXPECT_TRUE(cache.project("garbage", role::customer, status_of).empty());
  EXPECT_EQ(cache.metrics().failures, 1u);
}

TEST(role_view_cache, caches_do_not_share_slots_and_threads_are_independent) {
  role_view_cache a, b;
  std::string delta;
  encode_delta(full_state(order_status::delivering), field::position, delta);
  const auto status_of = [] { return order_status::delivering; };
  (void)a.project(delta, role::customer, status_of);
  (void)b.project(delta, role::customer, status_of);
  EXPECT_EQ(a.metrics().projections, 1u);
  EXPECT_EQ(b.metrics().projections, 1u);
  std::thread t([&] { (void)a.project(delta, role::customer, status_of); });
  t.join();
  EXPECT_EQ(a.metrics().projections, 2u);
}

}  // namespace
}  // namespace xiaoxiang
