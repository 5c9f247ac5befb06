#include "xiaoxiang/order/status.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "xiaoxiang/order/event.hpp"
#include "xiaoxiang/order/tracking_record.hpp"
#include "xiaoxiang/order/tracking_state.hpp"

namespace xiaoxiang {
namespace {

// The transitions of DESIGN.md, and nothing else, over every pair of codes.
TEST(OrderStatus, TransitionsAreExactlyTheDesignedOnes) {
  const std::set<std::pair<int, int>> allowed = {{1, 2}, {1, 5}, {2, 3}, {2, 5}, {3, 4}, {3, 5}};
  for (int from = 1; from <= 5; ++from) {
    for (int to = 1; to <= 5; ++to) {
      const auto f = static_cast<order_status>(from);
      const auto t = static_cast<order_status>(to);
      const errc got = check_transition(f, t);
      if (allowed.count({from, to})) {
        EXPECT_EQ(got, errc::ok) << from << "->" << to;
        EXPECT_TRUE(can_transition(f, t));
      } else if (from == 4 || from == 5) {
        EXPECT_EQ(got, errc::order_terminal) << from << "->" << to;
      } else {
        EXPECT_EQ(got, errc::illegal_transition) << from << "->" << to;
      }
    }
  }
  EXPECT_TRUE(is_terminal(order_status::completed));
  EXPECT_TRUE(is_terminal(order_status::cancelled));
  EXPECT_TRUE(is_active(order_status::delivering));
}

TEST(OrderStatus, CodesAreTheWireAndStorageFormat) {
  EXPECT_EQ(to_code(order_status::pending_payment), 1);
  EXPECT_EQ(to_code(order_status::cancelled), 5);
  EXPECT_EQ(to_code(operator_type::rider), 1);
  EXPECT_EQ(to_code(operator_type::warehouse), 2);
  for (int code = 1; code <= 5; ++code) EXPECT_EQ(to_code(*status_from_code(code)), code);
  for (int bad : {0, 6, -1, 255}) {
    const auto s = status_from_code(bad);
    EXPECT_EQ(s.error(), errc::invalid_status);
    EXPECT_STREQ(s.field(), "status");
  }
  EXPECT_EQ(operator_type_from_code(3).error(), errc::invalid_operator_type);
  EXPECT_STREQ(operator_type_from_code(3).field(), "operatorType");
  EXPECT_EQ(picking_stage_from_code(0).error(), errc::invalid_picking_stage);
  EXPECT_EQ(picking_stage_from_code(6).error(), errc::invalid_picking_stage);
  EXPECT_EQ(*picking_stage_from_code(5), picking_stage::handed_over);
}

TEST(OrderStatus, NamesAndTheArticlesClientLabels) {
  EXPECT_STREQ(status_name(order_status::pending_payment), "PendingPayment");
  EXPECT_STREQ(status_label(order_status::pending_payment), "待支付");
  EXPECT_STREQ(status_label(order_status::paid), "仓库处理中");
  EXPECT_STREQ(status_label(order_status::delivering), "配送中");
  EXPECT_STREQ(status_label(order_status::completed), "已送达");
  EXPECT_STREQ(status_label(order_status::cancelled), "已取消");
  EXPECT_STREQ(picking_stage_name(picking_stage::handed_over), "handed_over");
  EXPECT_STREQ(alert_kind_name(alert_kind::route_deviation), "routeDeviation");
}

TEST(EventKind, NamesRoundTrip) {
  for (int k = 1; k <= 8; ++k) {
    const auto kind = static_cast<event_kind>(k);
    const auto back = event_kind_from_name(event_kind_name(kind));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, kind);
  }
  const auto bad = event_kind_from_name("order_teleported");
  EXPECT_EQ(bad.error(), errc::unknown_event_type);
  EXPECT_STREQ(bad.field(), "type");
  EXPECT_STREQ(event_kind_name(static_cast<event_kind>(99)), "unknown");
}

TEST(TrackingRecord, RecordIdIsDeterministicUniquePerVersionAndFitsTheSchema) {
  const order_id a = *id::make("O-1");
  const order_id b = *id::make("O-2");
  EXPECT_EQ(make_record_id(a, 7), make_record_id(a, 7));
  EXPECT_NE(make_record_id(a, 7), make_record_id(a, 8));
  EXPECT_NE(make_record_id(a, 7), make_record_id(b, 7));
  EXPECT_LE(make_record_id(a, ~0ull >> 8).size(), id::max_size);
  EXPECT_EQ(make_record_id(a, 1).view().substr(16), "-1");
  EXPECT_EQ(make_record_id(a, 255).view().substr(16), "-ff");
}

}  // namespace
}  // namespace xiaoxiang
