#include "xiaoxiang/security/jwt.hpp"

#include <gtest/gtest.h>

#include <openssl/hmac.h>

#include <random>
#include <thread>
#include <string>

#include "test_keys.hpp"

namespace xiaoxiang {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;  // seconds

std::string claims(std::string extra = {}) {
  std::string c = R"({"sub":"u1","role":"customer","iss":"xx","aud":"web","exp":)" +
                  std::to_string(kNow + 600);
  if (!extra.empty()) c += "," + extra;
  return c + "}";
}

jwt_key must(result<jwt_key> k) {
  EXPECT_TRUE(k.ok()) << k.message();
  return std::move(k).value();
}

std::string sign(const jwt_key& k, const std::string& c) {
  auto t = jwt_sign(k, c);
  EXPECT_TRUE(t.ok()) << t.message();
  return std::move(t).value();
}

// A token assembled by hand from a header and claims, with a given signature.
std::string raw_token(std::string_view header, std::string_view body, std::string_view sig = "sig") {
  return base64url_encode(header) + "." + base64url_encode(body) + "." + base64url_encode(sig);
}

struct fixture : ::testing::Test {
  manual_clock time{kNow * 1000};
  jwt_verify_options options() {
    jwt_verify_options o;
    o.issuer = "xx";
    o.audience = "web";
    o.leeway_s = 30;
    o.time_source = &time;
    return o;
  }
  jwt_key hs = must(jwt_key::hs256("h1", test::kSecret));
  jwt_key rs = must(jwt_key::from_pem("r1", test::rsa_key().private_pem));
  jwt_key rs_pub = must(jwt_key::from_pem("r1", test::rsa_key().public_pem));
  jwt_key es = must(jwt_key::from_pem("e1", test::ec_key().private_pem));
  jwt_key es_pub = must(jwt_key::from_pem("e1", test::ec_key().public_pem));

  jwt_verifier verifier_of(std::initializer_list<jwt_key> keys) {
    jwt_key_set set;
    for (const auto& k : keys) EXPECT_TRUE(set.add(k).ok());
    return jwt_verifier(std::move(set), options());
  }
};

void expect_fail(const jwt_verifier& v, const std::string& token, errc code, const char* field) {
  const auto before = v.metrics().failed(code);
  auto r = v.verify(token);
  ASSERT_FALSE(r.ok()) << token;
  EXPECT_EQ(r.error(), make_error_code(code)) << r.message();
  ASSERT_NE(r.field(), nullptr);
  EXPECT_STREQ(r.field(), field);
  EXPECT_EQ(v.metrics().failed(code), before + 1);
}

TEST(base64url, round_trips_every_length) {
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 70; ++n) {
    std::string bytes(n, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    const std::string text = base64url_encode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    auto back = base64url_decode(text);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, bytes);
  }
}

TEST(base64url, strict_decoding) {
  for (const char* bad : {"QQ==", "QQ=", "a+b/", "ab cd", "A", "QR", "QUJ", "ab\ncd"}) {
    auto r = base64url_decode(bad);
    // "QR" and "QUJ" have non-zero unused bits: a second text for the same bytes.
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error(), make_error_code(errc::jwt_bad_base64));
    EXPECT_STREQ(r.field(), "base64");
  }
  EXPECT_EQ(*base64url_decode("QQ"), "A");
  EXPECT_EQ(*base64url_decode("QUI"), "AB");
}

TEST(jwt_alg_names, parse) {
  EXPECT_EQ(*jwt_alg_from_name("HS256"), jwt_alg::hs256);
  EXPECT_EQ(*jwt_alg_from_name("RS256"), jwt_alg::rs256);
  EXPECT_EQ(*jwt_alg_from_name("ES256"), jwt_alg::es256);
  EXPECT_EQ(jwt_alg_from_name("none").error(), make_error_code(errc::jwt_alg_none));
  EXPECT_EQ(jwt_alg_from_name("NoNe").error(), make_error_code(errc::jwt_alg_none));
  EXPECT_EQ(jwt_alg_from_name("HS512").error(), make_error_code(errc::jwt_alg_not_allowed));
  EXPECT_STREQ(jwt_alg_name(jwt_alg::es256), "ES256");
}

TEST_F(fixture, each_algorithm_signs_and_verifies) {
  for (const auto& [signer, checker] : {std::pair{hs, hs}, std::pair{rs, rs_pub}, std::pair{es, es_pub}}) {
    auto v = verifier_of({checker});
    const std::string token = sign(signer, claims(R"("rider_id":"r7","aud2":5)"));
    auto r = v.verify(token);
    ASSERT_TRUE(r.ok()) << jwt_alg_name(signer.alg()) << ": " << r.message();
    EXPECT_EQ(r->subject, "u1");
    EXPECT_EQ(r->issuer, "xx");
    EXPECT_EQ(r->alg, signer.alg());
    EXPECT_EQ(r->kid, signer.kid());
    ASSERT_NE(r->string_claim("role"), nullptr);
    EXPECT_EQ(*r->string_claim("role"), "customer");
    EXPECT_EQ(*r->string_claim("rider_id"), "r7");
    EXPECT_EQ(r->string_claim("aud2"), nullptr);  // not a string
    EXPECT_EQ(*r->expires_at_s, kNow + 600);
    EXPECT_EQ(v.metrics().verified, 1u);
  }
}

TEST_F(fixture, es256_signature_is_raw_r_s) {
  const std::string token = sign(es, claims());
  auto sig = base64url_decode(token.substr(token.rfind('.') + 1));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 64u);
  // A DER signature (what OpenSSL produces) in the token must not verify.
  auto v = verifier_of({es_pub});
  expect_fail(v, token.substr(0, token.rfind('.') + 1) + base64url_encode(std::string(70, 'x')),
              errc::jwt_bad_signature, "signature");
}

TEST_F(fixture, forged_signature) {
  auto v = verifier_of({hs, rs_pub, es_pub});
  for (const auto& k : {hs, rs, es}) {
    std::string token = sign(k, claims());
    // Claims changed after signing: sub u1 -> admin.
    const std::size_t d1 = token.find('.'), d2 = token.rfind('.');
    const std::string forged = token.substr(0, d1 + 1) +
                               base64url_encode(claims(R"("x":"y")")) + token.substr(d2);
    expect_fail(v, forged, errc::jwt_bad_signature, "signature");
    // Signed with another key of the same kind and kid.
    auto other = k.alg() == jwt_alg::hs256 ? must(jwt_key::hs256("h1", test::kSecret + "x"))
                 : k.alg() == jwt_alg::rs256 ? must(jwt_key::from_pem("r1", test::rsa_key2().private_pem))
                                             : must(jwt_key::from_pem("e1", test::ec_key2().private_pem));
    expect_fail(v, sign(other, claims()), errc::jwt_bad_signature, "signature");
  }
}

TEST_F(fixture, expiry_and_not_before_with_leeway) {
  auto v = verifier_of({hs});
  const std::string base = R"({"sub":"u1","iss":"xx","aud":"web")";
  const auto at = [&](std::string t) { return sign(hs, base + "," + t + "}"); };
  expect_fail(v, at(R"("exp":)" + std::to_string(kNow - 31)), errc::jwt_expired, "exp");
  expect_fail(v, at(R"("exp":)" + std::to_string(kNow - 30)), errc::jwt_expired, "exp");
  EXPECT_TRUE(v.verify(at(R"("exp":)" + std::to_string(kNow - 29))).ok());  // within leeway
  expect_fail(v, at(R"("exp":1e300)"), errc::jwt_wrong_claim_type, "exp");
  expect_fail(v, at(R"("exp":"tomorrow")"), errc::jwt_wrong_claim_type, "exp");
  const std::string exp = R"("exp":)" + std::to_string(kNow + 100);
  expect_fail(v, at(exp + R"(,"nbf":)" + std::to_string(kNow + 31)), errc::jwt_not_yet_valid, "nbf");
  EXPECT_TRUE(v.verify(at(exp + R"(,"nbf":)" + std::to_string(kNow + 30))).ok());
  expect_fail(v, at(exp + R"(,"nbf":[1])"), errc::jwt_wrong_claim_type, "nbf");
  expect_fail(v, sign(hs, base + "}"), errc::jwt_missing_claim, "exp");
  time.advance(700'000);  // the token of claims() expires at +600 s
  expect_fail(v, sign(hs, claims()), errc::jwt_expired, "exp");
}

TEST_F(fixture, issuer_and_audience) {
  auto v = verifier_of({hs});
  const std::string exp = R"("exp":)" + std::to_string(kNow + 100);
  const auto with = [&](std::string t) { return sign(hs, R"({"sub":"u1",)" + exp + "," + t + "}"); };
  expect_fail(v, with(R"("iss":"evil","aud":"web")"), errc::jwt_wrong_issuer, "iss");
  expect_fail(v, with(R"("aud":"web")"), errc::jwt_wrong_issuer, "iss");
  expect_fail(v, with(R"("iss":"xx","aud":"admin")"), errc::jwt_wrong_audience, "aud");
  expect_fail(v, with(R"("iss":"xx")"), errc::jwt_wrong_audience, "aud");
  expect_fail(v, with(R"("iss":"xx","aud":["a","b"])"), errc::jwt_wrong_audience, "aud");
  EXPECT_TRUE(v.verify(with(R"("iss":"xx","aud":["a","web"])")).ok());
  expect_fail(v, with(R"("iss":"xx","aud":["a",1])"), errc::jwt_wrong_claim_type, "aud");
  expect_fail(v, with(R"("iss":"xx","aud":{"web":1})"), errc::jwt_wrong_claim_type, "aud");
  expect_fail(v, with(R"("iss":7,"aud":"web")"), errc::jwt_wrong_claim_type, "iss");
  expect_fail(v, with(R"("sub":1,"iss":"xx","aud":"web")"), errc::jwt_wrong_claim_type, "sub");
}

TEST_F(fixture, alg_none_is_refused) {
  auto v = verifier_of({hs});
  for (const char* h : {R"({"alg":"none","typ":"JWT"})", R"({"alg":"NONE","kid":"h1"})"}) {
    expect_fail(v, raw_token(h, claims(), ""), errc::jwt_alg_none, "alg");  // the usual form: empty signature
    expect_fail(v, raw_token(h, claims()), errc::jwt_alg_none, "alg");
  }
}

TEST_F(fixture, algorithm_confusion_never_verifies) {
  // The classic attack: the server's RSA public key (public knowledge) used
  // as an HMAC secret, the token's header claiming HS256.
  auto v = verifier_of({rs_pub});
  const std::string& pem = test::rsa_key().public_pem;
  const std::string signing_input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT","kid":"r1"})") + "." + base64url_encode(claims());
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &len);
  const std::string token =
      signing_input + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), len));
  expect_fail(v, token, errc::jwt_alg_not_allowed, "alg");
  // And the key's PEM cannot even be loaded as an HS256 secret.
  auto as_secret = jwt_key::hs256("r1", pem);
  ASSERT_FALSE(as_secret.ok());
  EXPECT_EQ(as_secret.error(), make_error_code(errc::jwt_invalid_key));
  EXPECT_STREQ(as_secret.field(), "secret");
  // ES256 header on the RSA key, RS256 header on the EC key.
  auto v2 = verifier_of({es_pub});
  expect_fail(v2, raw_token(R"({"alg":"RS256","kid":"e1"})", claims()), errc::jwt_alg_not_allowed, "alg");
  expect_fail(v, raw_token(R"({"alg":"ES256","kid":"r1"})", claims()), errc::jwt_alg_not_allowed, "alg");
  expect_fail(v, raw_token(R"({"alg":"HS512","kid":"r1"})", claims()), errc::jwt_alg_not_allowed, "alg");
}

TEST_F(fixture, kid_selection_and_rotation) {
  auto old_hs = must(jwt_key::hs256("2024", test::kSecret));
  auto new_hs = must(jwt_key::hs256("2025", test::kSecret + "-rotated"));
  auto v = verifier_of({old_hs, new_hs, rs_pub, es_pub});
  EXPECT_TRUE(v.verify(sign(old_hs, claims())).ok());
  EXPECT_TRUE(v.verify(sign(new_hs, claims())).ok());
  EXPECT_TRUE(v.verify(sign(rs, claims())).ok());
  EXPECT_TRUE(v.verify(sign(es, claims())).ok());
  auto stranger = must(jwt_key::hs256("2026", test::kSecret));
  expect_fail(v, sign(stranger, claims()), errc::jwt_unknown_kid, "kid");
  auto no_kid = must(jwt_key::hs256("", test::kSecret));
  expect_fail(v, sign(no_kid, claims()), errc::jwt_unknown_kid, "kid");
  // With one key, a token without kid uses it.
  auto single = verifier_of({no_kid});
  EXPECT_TRUE(single.verify(sign(no_kid, claims())).ok());
  // Retiring the old key: its tokens stop verifying.
  auto after = verifier_of({new_hs});
  expect_fail(after, sign(old_hs, claims()), errc::jwt_unknown_kid, "kid");
  expect_fail(v, raw_token(R"({"alg":"HS256","kid":7})", claims()), errc::jwt_wrong_claim_type, "kid");
  jwt_key_set set;
  ASSERT_TRUE(set.add(old_hs).ok());
  auto dup = set.add(old_hs);
  EXPECT_EQ(dup.code, make_error_code(errc::jwt_invalid_key));
  EXPECT_STREQ(dup.field, "kid");
}

TEST_F(fixture, malformed_tokens) {
  auto v = verifier_of({hs});
  const std::string good = sign(hs, claims());
  for (const std::string& bad : {std::string(), std::string("abc"), std::string("a.b"), std::string("a.b.c.d"),
                                std::string(".b.c"), std::string("a..c"), good + ".x"})
    expect_fail(v, bad, errc::jwt_malformed, "token");
  const std::size_t d1 = good.find('.');
  expect_fail(v, "e30=" + good.substr(d1), errc::jwt_bad_base64, "header");
  expect_fail(v, good.substr(0, d1 + 1) + "a+b" + good.substr(good.rfind('.')), errc::jwt_bad_base64, "claims");
  expect_fail(v, good + "*", errc::jwt_bad_base64, "signature");
  expect_fail(v, raw_token("not json", claims()), errc::jwt_bad_json, "header");
  expect_fail(v, raw_token("[1]", claims()), errc::jwt_bad_json, "header");
  expect_fail(v, raw_token("{}", claims()), errc::jwt_missing_claim, "alg");
  expect_fail(v, raw_token(R"({"alg":256})", claims()), errc::jwt_wrong_claim_type, "alg");
  expect_fail(v, raw_token(R"({"alg":"HS256","crit":["x"]})", claims()), errc::jwt_malformed, "crit");
  // Claims that are not an object, signed properly.
  const std::string in = base64url_encode(R"({"alg":"HS256","typ":"JWT","kid":"h1"})") + "." + base64url_encode("[1,2]");
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), test::kSecret.data(), static_cast<int>(test::kSecret.size()),
       reinterpret_cast<const unsigned char*>(in.data()), in.size(), mac, &len);
  expect_fail(v, in + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), len)),
              errc::jwt_bad_json, "claims");
}

TEST_F(fixture, oversized_token) {
  auto v = verifier_of({hs});
  const std::string big = sign(hs, claims(R"("pad":")" + std::string(9000, 'p') + "\""));
  expect_fail(v, big, errc::jwt_too_large, "token");
  auto o = options();
  o.max_token_bytes = 64 * 1024;
  jwt_key_set set;
  ASSERT_TRUE(set.add(hs).ok());
  jwt_verifier roomy(std::move(set), o);
  EXPECT_TRUE(roomy.verify(big).ok());
}

TEST(jwt_key_loading, refuses_bad_keys) {
  const auto expect_invalid = [](result<jwt_key> k, const char* field) {
    ASSERT_FALSE(k.ok());
    EXPECT_EQ(k.error(), make_error_code(errc::jwt_invalid_key));
    EXPECT_STREQ(k.field(), field);
  };
  expect_invalid(jwt_key::hs256("k", "short"), "secret");
  expect_invalid(jwt_key::from_pem("k", "not a pem"), "pem");
  expect_invalid(jwt_key::from_pem("k", ""), "pem");
  expect_invalid(jwt_key::from_pem("k", test::make_rsa(1024).public_pem), "pem");
  expect_invalid(jwt_key::from_pem("k", test::make_ec("P-384").public_pem), "pem");
  auto pub = jwt_key::from_pem("k", test::ec_key().public_pem);
  ASSERT_TRUE(pub.ok());
  EXPECT_FALSE(pub->can_sign());
  auto signed_by_pub = jwt_sign(*pub, "{}");
  EXPECT_EQ(signed_by_pub.error(), make_error_code(errc::jwt_invalid_key));
  auto hs = jwt_key::hs256("k", test::kSecret);
  EXPECT_EQ(jwt_sign(*hs, "[]").error(), make_error_code(errc::jwt_bad_json));
  EXPECT_THROW(read_key_file("/nonexistent/key.pem"), error);
}

TEST_F(fixture, counters_by_reason_are_thread_safe) {
  auto v = verifier_of({hs});
  const std::string good = sign(hs, claims());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        (void)v.verify(good);
        (void)v.verify("a.b");
      }
    });
  for (auto& t : threads) t.join();
  const auto m = v.metrics();
  EXPECT_EQ(m.verified, 800u);
  EXPECT_EQ(m.failed(errc::jwt_malformed), 800u);
  EXPECT_EQ(m.failed_total(), 800u);
}

}  // namespace
}  // namespace xiaoxiang
