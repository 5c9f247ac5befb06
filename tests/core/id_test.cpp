#include "xiaoxiang/core/id.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace xiaoxiang {
namespace {

TEST(Id, KeepsTextInline) {
  const auto made = id::make("O20261125-000001", "orderId");
  ASSERT_TRUE(made.ok()) << made.message();
  EXPECT_EQ(made->view(), "O20261125-000001");
  EXPECT_EQ(made->size(), 16u);
  static_assert(sizeof(id) <= 33, "an id is stored inline");
}

TEST(Id, AcceptsExactly32Characters) {
  const std::string text(32, 'a');
  const auto made = id::make(text);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->view(), text);
}

TEST(Id, RejectsEmptyWithField) {
  const auto made = id::make("", "orderId");
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error(), errc::empty_id);
  EXPECT_STREQ(made.field(), "orderId");
  EXPECT_EQ(made.message(), "orderId: id is empty");
}

TEST(Id, RejectsOverLong) {
  const auto made = id::make(std::string(33, 'x'), "riderId");
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error(), errc::id_too_long);
  EXPECT_STREQ(made.field(), "riderId");
}

TEST(Id, RejectsCharactersUnsafeInTopicsAndHeaders) {
  for (const char* bad : {"a/b", "a b", "a\nb", "a:b\r", "é", "a\"b", "a{b}"}) {
    const auto made = id::make(bad);
    ASSERT_FALSE(made.ok()) << bad;
    EXPECT_EQ(made.error(), errc::invalid_id_character) << bad;
  }
  const auto nul = id::make(std::string_view("a\0b", 3));
  EXPECT_EQ(nul.error(), errc::invalid_id_character);
}

TEST(Id, ComparesAndHashesByText) {
  const id a = *id::make("R-1");
  const id b = *id::make("R-1");
  const id c = *id::make("R-2");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_LT(a, c);
  EXPECT_EQ(a.hash(), b.hash());
  std::unordered_set<id> set{a, b, c};
  EXPECT_EQ(set.size(), 2u);
  // FNV-1a of "a" is a published constant: the hash is stable across runs.
  EXPECT_EQ(id::make("a")->hash(), 0xaf63dc4c8601ec8cull);
}

}  // namespace
}  // namespace xiaoxiang
