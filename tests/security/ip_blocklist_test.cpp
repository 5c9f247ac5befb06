#include "xiaoxiang/security/ip_blocklist.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace xiaoxiang {
namespace {

TEST(IpBlocklist, ParsesV4AndV6RangesAndAddresses) {
  auto r = parse_ip_range("10.1.2.3/8");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->prefix_bits, 104u);
  EXPECT_EQ(*r, *parse_ip_range("10.0.0.0/8"));  // host bits cleared
  auto single = parse_ip_range("192.0.2.7");
  ASSERT_TRUE(single);
  EXPECT_EQ(single->prefix_bits, 128u);
  auto v6 = parse_ip_range(" 2001:db8::/32 ");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->prefix_bits, 32u);
  EXPECT_TRUE(range_contains(*v6, *parse_ip_address("2001:db8:ffff::1")));
  EXPECT_FALSE(range_contains(*v6, *parse_ip_address("2001:db9::1")));
  // An IPv4 range matches the IPv4-mapped form a dual-stack socket reports.
  EXPECT_TRUE(range_contains(*r, *parse_ip_address("::ffff:10.9.9.9")));
  auto all = parse_ip_range("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(range_contains(*all, *parse_ip_address("8.8.8.8")));
  EXPECT_FALSE(range_contains(*all, *parse_ip_address("2001:db8::1")));  // IPv4 only
}

TEST(IpBlocklist, RejectsBadRangesWithField) {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "10.0.0/8",
                          "::/129", "hello", "10.0.0.0/8/8", "1.2.3.4 /8", "10.0.0.0/0008"}) {
    const auto r = parse_ip_range(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), errc::invalid_field) << bad;
    EXPECT_STREQ(r.field(), "cidr") << bad;
  }
  const auto a = parse_ip_address("300.1.1.1");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error(), errc::invalid_field);
  EXPECT_STREQ(a.field(), "address");
}

TEST(IpBlocklist, FileFormatWithCommentsAndBadLine) {
  auto list = ip_blocklist::parse("# bad actors\n127.0.0.0/8\n\n  2001:db8::/32  # lab\r\n10.0.0.1\n");
  ASSERT_TRUE(list) << list.message();
  EXPECT_EQ(list->size(), 3u);
  EXPECT_TRUE(list->contains("127.0.0.1"));
  EXPECT_TRUE(list->contains("::ffff:127.1.2.3"));
  EXPECT_TRUE(list->contains("2001:db8::5"));
  EXPECT_TRUE(list->contains("10.0.0.1"));
  EXPECT_FALSE(list->contains("10.0.0.2"));
  EXPECT_FALSE(list->contains("not an address"));
  EXPECT_TRUE(ip_blocklist::parse("")->empty());

  std::size_t line = 0;
  const auto bad = ip_blocklist::parse("10.0.0.0/8\n# ok\n10.0.0.0/40\n", &line);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), errc::invalid_field);
  EXPECT_STREQ(bad.field(), "cidr");
  EXPECT_EQ(line, 3u);
}

ip_address random_address(std::mt19937_64& rng, const std::vector<ip_range>& near) {
  ip_address a{};
  if (!near.empty() && rng() % 2 == 0) {
    // Close to a range: its network with a few random low bits.
    a = near[rng() % near.size()].network;
    const unsigned flip = static_cast<unsigned>(rng() % 128);
    a[flip / 8] = static_cast<std::uint8_t>(a[flip / 8] ^ (0x80u >> (flip % 8)));
    if (rng() % 2 == 0) a[15] = static_cast<std::uint8_t>(rng());
    return a;
  }
  for (auto& b : a) b = static_cast<std::uint8_t>(rng());
  if (rng() % 2 == 0) {  // IPv4-mapped
    for (int i = 0; i < 10; ++i) a[static_cast<std::size_t>(i)] = 0;
    a[10] = a[11] = 0xFF;
  }
  return a;
}

TEST(IpBlocklist, RandomizedAgainstLinearScan) {
  std::mt19937_64 rng(9);
  for (int round = 0; round < 50; ++round) {
    ip_blocklist list;
    std::vector<ip_range> ranges;
    const int n = std::uniform_int_distribution<int>(0, 40)(rng);
    for (int i = 0; i < n; ++i) {
      const bool v4 = rng() % 2 == 0;
      const auto addr = random_address(rng, {});
      std::string text;
      if (v4) {
        text = std::to_string(addr[12]) + "." + std::to_string(addr[13]) + "." +
               std::to_string(addr[14]) + "." + std::to_string(addr[15]) + "/" +
               std::to_string(rng() % 33);
      } else {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%x:%x:%x:%x::/%u", addr[0] << 8 | addr[1],
                      addr[2] << 8 | addr[3], addr[4] << 8 | addr[5], addr[6] << 8 | addr[7],
                      static_cast<unsigned>(rng() % 65));
        text = buf;
      }
      auto r = parse_ip_range(text);
      ASSERT_TRUE(r) << text;
      list.add(*r);
      ranges.push_back(*r);
    }
    for (int q = 0; q < 2000; ++q) {
      const auto a = random_address(rng, ranges);
      bool expected = false;
      for (const auto& r : ranges) expected = expected || range_contains(r, a);
      ASSERT_EQ(list.contains(a), expected) << "round " << round << " query " << q;
    }
  }
}

}  // namespace
}  // namespace xiaoxiang
