#include "xiaoxiang/queue/event_router.hpp"

#include <gtest/gtest.h>

#include "event_builder.hpp"
#include "xiaoxiang/redis/partition.hpp"

namespace xiaoxiang {
namespace {

using testing::event_builder;

std::uint32_t p(const char* key, std::uint32_t n) { return partition_of(key, n); }

// Two orders whose partitions differ among 8.
std::pair<std::string, std::string> orders_in_two_partitions() {
  for (int i = 1;; ++i) {
    const std::string a = "O" + std::to_string(i), b = "O" + std::to_string(i + 1);
    if (partition_of(a, 8) != partition_of(b, 8)) return {a, b};
  }
}

TEST(EventRouter, OrderEventsGoToTheOrdersPartition) {
  event_builder b;
  event_router r(8);
  std::vector<std::uint32_t> out;
  for (const event& e : {b.created("O7"), b.paid("O7"), b.picking("O7", picking_stage::picking),
                         b.assigned("O7", "R1"), b.delivered("O7", "R1"), b.cancelled("O7")}) {
    r.route(e, out);
    ASSERT_EQ(out.size(), 1u) << event_kind_name(e.kind);
    EXPECT_EQ(out[0], p("O7", 8)) << event_kind_name(e.kind);
  }
}

TEST(EventRouter, IdleRiderGoesHome) {
  event_builder b;
  event_router r(8);
  std::vector<std::uint32_t> out;
  r.route(b.position("R9", {116.4, 39.9}), out);
  EXPECT_EQ(out, std::vector<std::uint32_t>{p("R9", 8)});
  r.route(b.batch("R9", {{1, {116.4, 39.9}}}), out);
  EXPECT_EQ(out, std::vector<std::uint32_t>{p("R9", 8)});
}

TEST(EventRouter, PositionsFollowTheRidersActiveOrdersAcrossPartitions) {
  const auto [a, bo] = orders_in_two_partitions();
  event_builder b;
  event_router r(8);
  std::vector<std::uint32_t> out;
  r.route(b.assigned(a, "R1"), out);
  r.route(b.assigned(bo, "R1"), out);
  EXPECT_EQ(r.active_assignments(), 2u);
  r.route(b.position("R1", {116.4, 39.9}), out);
  std::vector<std::uint32_t> both{p(a.c_str(), 8), p(bo.c_str(), 8)};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(out, both);
  // Delivered: that partition no longer gets the rider's positions.
  r.route(b.delivered(a, "R1"), out);
  r.route(b.position("R1", {116.4, 39.9}), out);
  EXPECT_EQ(out, std::vector<std::uint32_t>{p(bo.c_str(), 8)});
  // Cancelled (no rider on the event): forgotten too; the rider goes home.
  r.route(b.cancelled(bo), out);
  EXPECT_EQ(r.active_assignments(), 0u);
  r.route(b.position("R1", {116.4, 39.9}), out);
  EXPECT_EQ(out, std::vector<std::uint32_t>{p("R1", 8)});
}

TEST(EventRouter, ReassignmentMovesTheOrderToTheNewRider) {
  event_builder b;
  event_router r(4);
  std::vector<std::uint32_t> out;
  r.route(b.assigned("O1", "R1"), out);
  r.route(b.assigned("O1", "R2"), out);
  EXPECT_EQ(r.active_assignments(), 1u);
  r.route(b.position("R1", {116.4, 39.9}), out);
  EXPECT_EQ(out, std::vector<std::uint32_t>{p("R1", 4)});
  r.route(b.position("R2", {116.4, 39.9}), out);
  EXPECT_EQ(out, std::vector<std::uint32_t>{p("O1", 4)});
}

TEST(EventRouter, ZeroPartitionsMeansOne) {
  event_builder b;
  event_router r(0);
  std::vector<std::uint32_t> out;
  r.route(b.created("O1"), out);
  EXPECT_EQ(out, std::vector<std::uint32_t>{0});
}

}  // namespace
}  // namespace xiaoxiang
