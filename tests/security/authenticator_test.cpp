#include "xiaoxiang/security/authenticator.hpp"

#include <gtest/gtest.h>

#include "test_keys.hpp"

namespace xiaoxiang {
namespace {

struct auth_fixture : ::testing::Test {
  jwt_key key = *jwt_key::hs256("k1", test::kSecret);
  std::shared_ptr<const jwt_verifier> verifier() {
    jwt_key_set set;
    EXPECT_TRUE(set.add(key).ok());
    return std::make_shared<jwt_verifier>(std::move(set));
  }
  std::string token(std::string body) {
    return *jwt_sign(key, R"({"exp":)" + std::to_string(now_ms() / 1000 + 600) + "," + body + "}");
  }
};

TEST_F(auth_fixture, open_server_ignores_credentials) {
  authenticator open(nullptr);
  EXPECT_FALSE(open.enabled());
  auto a = open.authenticate("");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->has_value());
  auto b = open.authenticate("Bearer garbage");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());
  EXPECT_EQ(open.metrics().anonymous, 2u);
}

TEST_F(auth_fixture, required_tokens) {
  authenticator auth(verifier(), {.require_auth = true});
  auto none = auth.authenticate("");
  EXPECT_EQ(none.error(), make_error_code(errc::auth_required));
  EXPECT_STREQ(none.field(), "Authorization");
  auto basic = auth.authenticate("Basic dTpw");
  EXPECT_EQ(basic.error(), make_error_code(errc::jwt_malformed));
  EXPECT_STREQ(basic.field(), "Authorization");
  auto bad = auth.authenticate("Bearer a.b.c");
  EXPECT_EQ(bad.error(), make_error_code(errc::jwt_bad_base64));  // "a": 4n+1 characters
  auto ok = auth.authenticate("bearer  " + token(R"("sub":"u1","role":"customer")"));
  ASSERT_TRUE(ok.ok()) << ok.message();
  ASSERT_TRUE(ok->has_value());
  EXPECT_EQ((*ok)->user.view(), "u1");
  auto by_param = auth.authenticate("", token(R"("sub":"R1","role":"rider")"));
  ASSERT_TRUE(by_param.ok());
  EXPECT_EQ((*by_param)->who, role::rider);
  auto no_role = auth.authenticate("Bearer " + token(R"("sub":"u1")"));
  EXPECT_EQ(no_role.error(), make_error_code(errc::jwt_missing_claim));
  EXPECT_STREQ(no_role.field(), "role");
  const auto m = auth.metrics();
  EXPECT_EQ(m.auth_required, 1u);
  EXPECT_EQ(m.authenticated, 2u);
  EXPECT_EQ(m.bad_claims, 1u);
  EXPECT_EQ(m.tokens.failed(errc::jwt_bad_base64), 1u);
}

TEST_F(auth_fixture, migration_mode_serves_requests_without_token) {
  authenticator auth(verifier(), {.require_auth = false});
  auto none = auth.authenticate("");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_FALSE(auth.authenticate("Bearer x.y.z").ok());  // a token sent is always checked
}

TEST_F(auth_fixture, connection_cap_per_token) {
  authenticator auth(verifier(), {.require_auth = true, .max_connections_per_token = 2});
  auto who = **auth.authenticate("Bearer " + token(R"("sub":"u1","role":"customer","jti":"t1")"));
  auto other = **auth.authenticate("Bearer " + token(R"("sub":"u1","role":"customer","jti":"t2")"));
  auto a = auth.admit(who);
  auto b = auth.admit(who);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  auto c = auth.admit(who);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error(), make_error_code(errc::too_many_token_connections));
  EXPECT_STREQ(c.field(), "token");
  EXPECT_TRUE(auth.admit(other).ok());  // another token has its own slots
  EXPECT_EQ(auth.metrics().connections_open, 2u);  // the lease of `other` was dropped at once
  a->reset();
  EXPECT_TRUE(auth.admit(who).ok());  // a slot freed
  EXPECT_EQ(auth.metrics().token_connections_refused, 1u);
}

}  // namespace
}  // namespace xiaoxiang
