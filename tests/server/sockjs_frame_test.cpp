#include "xiaoxiang/server/sockjs_frame.hpp"

#include <gtest/gtest.h>

#include <random>

namespace xiaoxiang {
namespace {

TEST(SockjsFrame, DecodesArraysOfStrings) {
  auto r = sockjs_decode_messages(R"( [ "a" , "b\"c" ,"\u00e9\n"] )");
  ASSERT_TRUE(r) << r.message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0], "a");
  EXPECT_EQ((*r)[1], "b\"c");
  EXPECT_EQ((*r)[2], "\xc3\xa9\n");
  auto empty = sockjs_decode_messages("[]");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(SockjsFrame, DecodesSurrogatePairsAndReplacesLoneOnes) {
  auto r = sockjs_decode_messages(R"(["\ud83d\ude00","\ud83d","\ude00x"])");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ((*r)[0], "\xf0\x9f\x98\x80");
  EXPECT_EQ((*r)[1], "\xef\xbf\xbd");
  EXPECT_EQ((*r)[2], "\xef\xbf\xbdx");
}

TEST(SockjsFrame, BareStringOnlyWhenAllowed) {
  EXPECT_EQ(sockjs_decode_messages(R"("a")").error(), errc::malformed_json);
  auto r = sockjs_decode_messages(R"("a")", true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at(0), "a");
}

TEST(SockjsFrame, RejectsBrokenJsonNamingTheBody) {
  for (const char* bad : {"", "[", "[\"a", "[\"a\"", "[\"a\",]", "[\"a\" \"b\"]", "x", "[\"a\"]x",
                          "[\"\\x\"]", "[\"\\u12\"]", "[\"a\nb\"]", "{}", "[,]"}) {
    auto r = sockjs_decode_messages(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), errc::malformed_json) << bad;
    EXPECT_STREQ(r.field(), "body");
  }
  for (const char* wrong : {"[1]", "[\"a\",{}]", "[null]", "[[\"a\"]]"}) {
    auto r = sockjs_decode_messages(wrong);
    ASSERT_FALSE(r) << wrong;
    EXPECT_EQ(r.error(), errc::wrong_type) << wrong;
    EXPECT_STREQ(r.field(), "body");
  }
}

TEST(SockjsFrame, LimitsAreTooLarge) {
  sockjs_decode_limits limits;
  limits.max_payload_bytes = 8;
  auto big = sockjs_decode_messages(R"(["aaaaaaaa"])", false, limits);
  EXPECT_EQ(big.error(), errc::too_large);
  EXPECT_STREQ(big.field(), "body");
  limits = {};
  limits.max_messages = 2;
  auto many = sockjs_decode_messages(R"(["a","b","c"])", false, limits);
  EXPECT_EQ(many.error(), errc::too_large);
}

TEST(SockjsFrame, QuotesLikeTheProtocolSuiteExpects) {
  std::string out;
  sockjs_quote("  \x00\n\r \"\\", out);
  EXPECT_EQ(out, "\"  \"");  // stops at NUL of the C string: check with a view below
  out.clear();
  const std::string raw("  \0\n\r \"\\\x01", 9);
  sockjs_quote(raw, out);
  EXPECT_EQ(out, R"("  \u0000\n\r \"\\\u0001")");
  // U+2028 (E2 80 A8) and U+FFF0 (EF BF B0) are escaped; U+00E9 is not.
  out.clear();
  sockjs_quote("\xe2\x80\xa8\xef\xbf\xb0\xc3\xa9", out);
  EXPECT_EQ(out, "\"\\u2028\\ufff0\xc3\xa9\"");
  // Bytes that are not UTF-8 pass through.
  out.clear();
  sockjs_quote("\xff", out);
  EXPECT_EQ(out, "\"\xff\"");
}

TEST(SockjsFrame, Frames) {
  std::string out;
  sockjs_append_message_frame({"a", "b\""}, out);
  EXPECT_EQ(out, R"(a["a","b\""])");
  EXPECT_EQ(sockjs_close_frame(3000, "Go away!"), R"(c[3000,"Go away!"])");
  EXPECT_EQ(sockjs_close_frame(2010, "Another connection still open"),
            R"(c[2010,"Another connection still open"])");
}

TEST(SockjsFrame, Callbacks) {
  EXPECT_TRUE(is_valid_sockjs_callback("callback"));
  EXPECT_TRUE(is_valid_sockjs_callback("_jp.a1-b"));
  for (const char* bad : {"", " ", "*", "abc(", "a b", "alert('x')"})
    EXPECT_FALSE(is_valid_sockjs_callback(bad)) << bad;
  EXPECT_FALSE(is_valid_sockjs_callback(std::string(65, 'a')));
}

// Seeded round trip against the obvious oracle: quote then decode gives the
// messages back, for random strings of ASCII, controls and some UTF-8.
TEST(SockjsFrame, RandomRoundTrip) {
  std::mt19937 gen(42);
  const std::vector<std::string> alphabet = {"a", "\"", "\\", "\n", std::string(1, '\0'), "\x1f",
                                             "\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80", "/", " "};
  for (int round = 0; round < 500; ++round) {
    std::vector<std::string> messages(gen() % 5);
    for (auto& m : messages)
      for (auto k = gen() % 12; k > 0; --k) m += alphabet[gen() % alphabet.size()];
    std::string frame;
    sockjs_append_message_frame(messages, frame);
    auto back = sockjs_decode_messages(std::string_view(frame).substr(1));
    ASSERT_TRUE(back) << frame;
    EXPECT_EQ(*back, messages);
  }
}

}  // namespace
}  // namespace xiaoxiang
