#include "xiaoxiang/security/access_policy.hpp"

#include <gtest/gtest.h>

#include <random>

namespace xiaoxiang {
namespace {

id make_id(std::string_view s) { return *id::make(s); }

principal as(role r, std::string_view who) {
  principal p;
  p.subject = std::string(who);
  p.who = r;
  if (r == role::customer) p.user = make_id(who);
  if (r == role::rider) p.rider = make_id(who);
  if (r == role::warehouse) p.warehouse = make_id(who);
  return p;
}

tracking_state order_of(std::string_view user, std::string_view rider, std::string_view warehouse) {
  tracking_state s;
  s.order = make_id("O1");
  s.user = make_id(user);
  if (!rider.empty()) s.rider = make_id(rider);
  s.warehouse = make_id(warehouse);
  return s;
}

void expect_denied(status_result r, const char* field) {
  EXPECT_EQ(r.code, make_error_code(errc::access_denied));
  ASSERT_NE(r.field, nullptr);
  EXPECT_STREQ(r.field, field);
}

TEST(access_policy, read_by_role) {
  const auto o = order_of("u1", "R1", "W1");
  EXPECT_TRUE(can_read_order(as(role::customer, "u1"), &o).ok());
  expect_denied(can_read_order(as(role::customer, "u2"), &o), "orderId");
  EXPECT_TRUE(can_read_order(as(role::rider, "R1"), &o).ok());
  expect_denied(can_read_order(as(role::rider, "R2"), &o), "orderId");
  EXPECT_TRUE(can_read_order(as(role::warehouse, "W1"), &o).ok());
  expect_denied(can_read_order(as(role::warehouse, "W2"), &o), "orderId");
  EXPECT_TRUE(can_read_order(as(role::admin, "ops"), &o).ok());
  EXPECT_TRUE(can_read_order(as(role::admin, "ops"), nullptr).ok());
  const auto unassigned = order_of("u1", "", "W1");
  expect_denied(can_read_order(as(role::rider, "R1"), &unassigned), "orderId");
}

TEST(access_policy, unknown_and_not_yours_are_the_same_answer) {
  const auto o = order_of("u1", "R1", "W1");
  for (role r : {role::customer, role::rider, role::warehouse}) {
    const auto other = can_read_order(as(r, "zz"), &o);
    const auto missing = can_read_order(as(r, "zz"), nullptr);
    EXPECT_EQ(other.code, missing.code);
    EXPECT_STREQ(other.field, missing.field);
    EXPECT_EQ(other.message(), missing.message());
  }
}

TEST(access_policy, riders_topic_and_nearby_are_admin_only) {
  for (role r : {role::customer, role::rider, role::warehouse}) {
    expect_denied(can_read_all_riders(as(r, "x")), "destination");
    expect_denied(can_search_nearby(as(r, "x")), "nearby");
  }
  EXPECT_TRUE(can_read_all_riders(as(role::admin, "x")).ok());
  EXPECT_TRUE(can_search_nearby(as(role::admin, "x")).ok());
}

TEST(access_policy, send_rules) {
  const auto o = order_of("u1", "R1", "W1");
  event pos;
  pos.kind = event_kind::rider_position;
  pos.rider = make_id("R1");
  EXPECT_TRUE(can_send(as(role::rider, "R1"), pos, nullptr).ok());
  expect_denied(can_send(as(role::rider, "R2"), pos, nullptr), "riderId");  // as another rider
  pos.kind = event_kind::position_batch;
  expect_denied(can_send(as(role::rider, "R2"), pos, nullptr), "riderId");
  expect_denied(can_send(as(role::customer, "u1"), pos, nullptr), "type");
  EXPECT_TRUE(can_send(as(role::admin, "ops"), pos, nullptr).ok());

  event delivered;
  delivered.kind = event_kind::order_delivered;
  delivered.order = o.order;
  delivered.rider = make_id("R1");
  EXPECT_TRUE(can_send(as(role::rider, "R1"), delivered, &o).ok());
  expect_denied(can_send(as(role::rider, "R1"), delivered, nullptr), "orderId");
  const auto others = order_of("u1", "R9", "W1");
  expect_denied(can_send(as(role::rider, "R1"), delivered, &others), "orderId");

  event pick;
  pick.kind = event_kind::picking_stage;
  pick.order = o.order;
  pick.warehouse = make_id("W1");
  EXPECT_TRUE(can_send(as(role::warehouse, "W1"), pick, &o).ok());
  expect_denied(can_send(as(role::warehouse, "W2"), pick, &o), "warehouseId");
  pick.warehouse = {};
  expect_denied(can_send(as(role::warehouse, "W2"), pick, &o), "orderId");
  expect_denied(can_send(as(role::warehouse, "W1"), pick, nullptr), "orderId");
  expect_denied(can_send(as(role::rider, "R1"), pick, &o), "type");
  event created;
  created.kind = event_kind::order_created;
  expect_denied(can_send(as(role::warehouse, "W1"), created, &o), "type");
  expect_denied(can_send(as(role::customer, "u1"), created, &o), "type");
}

// Seeded random principals and orders against the rule written out plainly.
TEST(access_policy, random_reads_match_the_oracle) {
  std::mt19937 rng(42);
  const char* ids[] = {"a", "b", "c"};
  for (int i = 0; i < 2000; ++i) {
    const auto r = static_cast<role>(rng() % kRoleCount);
    const std::string who = ids[rng() % 3];
    const bool known = rng() % 4 != 0;
    const auto o = order_of(ids[rng() % 3], ids[rng() % 3], ids[rng() % 3]);
    bool expected = r == role::admin;
    if (known && r == role::customer) expected = o.user.view() == who;
    if (known && r == role::rider) expected = o.rider.view() == who;
    if (known && r == role::warehouse) expected = o.warehouse.view() == who;
    EXPECT_EQ(can_read_order(as(r, who), known ? &o : nullptr).ok(), expected);
  }
}

}  // namespace
}  // namespace xiaoxiang
