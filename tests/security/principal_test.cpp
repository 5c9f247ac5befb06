#include "xiaoxiang/security/principal.hpp"

#include <gtest/gtest.h>

namespace xiaoxiang {
namespace {

jwt_claims claims_of(std::string sub, std::vector<std::pair<std::string, std::string>> strings) {
  jwt_claims c;
  c.subject = std::move(sub);
  c.strings = std::move(strings);
  c.expires_at_s = 100;
  return c;
}

void expect_error(const result<principal>& p, errc code, const char* field) {
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error(), make_error_code(code));
  EXPECT_STREQ(p.field(), field);
}

TEST(principal, roles_and_their_ids) {
  auto c = principal_from_claims(claims_of("u1", {{"role", "customer"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->who, role::customer);
  EXPECT_EQ(c->user.view(), "u1");
  EXPECT_EQ(c->expires_at_s, 100);
  auto r = principal_from_claims(claims_of("app-7", {{"role", "rider"}, {"rider_id", "R7"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rider.view(), "R7");
  auto r2 = principal_from_claims(claims_of("R8", {{"role", "rider"}}));
  EXPECT_EQ(r2->rider.view(), "R8");  // rider_id defaults to sub
  auto w = principal_from_claims(claims_of("clerk", {{"role", "warehouse"}, {"warehouse_id", "W1"}}));
  EXPECT_EQ(w->warehouse.view(), "W1");
  auto a = principal_from_claims(claims_of("ops", {{"role", "admin"}}));
  EXPECT_EQ(a->who, role::admin);
  EXPECT_STREQ(role_name(role::warehouse), "warehouse");
  EXPECT_EQ(*role_from_name("admin"), role::admin);
}

TEST(principal, refusals_name_the_claim) {
  expect_error(principal_from_claims(claims_of("", {{"role", "admin"}})), errc::jwt_missing_claim, "sub");
  expect_error(principal_from_claims(claims_of("u", {})), errc::jwt_missing_claim, "role");
  expect_error(principal_from_claims(claims_of("u", {{"role", "root"}})), errc::invalid_role, "role");
  expect_error(principal_from_claims(claims_of("u", {{"role", "warehouse"}})), errc::jwt_missing_claim,
               "warehouse_id");
  expect_error(principal_from_claims(claims_of("u u", {{"role", "customer"}})), errc::invalid_id_character,
               "sub");
  expect_error(principal_from_claims(claims_of("x", {{"role", "rider"}, {"rider_id", std::string(40, 'r')}})),
               errc::id_too_long, "rider_id");
}

TEST(principal, token_key_tells_tokens_apart) {
  auto a = claims_of("u1", {{"role", "customer"}});
  auto b = a;
  b.issued_at_s = 5;
  EXPECT_NE(principal_from_claims(a)->token_key, principal_from_claims(b)->token_key);
  a.token_id = "t-1";
  EXPECT_EQ(principal_from_claims(a)->token_key, "jti:t-1");
}

}  // namespace
}  // namespace xiaoxiang
