#include "xiaoxiang/security/principal.hpp"

// Declarations only: Boost.JSON is compiled once in the order layer.
#include <boost/json.hpp>

namespace xiaoxiang {

const char* role_name(role r) noexcept {
  switch (r) {
    case role::customer: return "customer";
    case role::rider: return "rider";
    case role::warehouse: return "warehouse";
    case role::admin: return "admin";
  }
  return "unknown";
}

result<role> role_from_name(std::string_view name) noexcept {
  if (name == "customer") return role::customer;
  if (name == "rider") return role::rider;
  if (name == "warehouse") return role::warehouse;
  if (name == "admin") return role::admin;
  return {errc::invalid_role, "role"};
}

result<principal> principal_from_claims(const jwt_claims& claims) {
  if (claims.subject.empty()) return {errc::jwt_missing_claim, "sub"};
  const std::string* role_text = claims.string_claim("role");
  if (role_text == nullptr) return {errc::jwt_missing_claim, "role"};
  auto r = role_from_name(*role_text);
  if (!r) return {r.error(), r.field()};
  principal p;
  p.subject = claims.subject;
  p.who = *r;
  p.expires_at_s = claims.expires_at_s.value_or(0);
  switch (p.who) {
    case role::customer: {
      auto u = id::make(claims.subject, "sub");
      if (!u) return {u.error(), u.field()};
      p.user = *u;
      break;
    }
    case role::rider: {
      const std::string* rider = claims.string_claim("rider_id");
      auto id_of = id::make(rider ? *rider : claims.subject, rider ? "rider_id" : "sub");
      if (!id_of) return {id_of.error(), id_of.field()};
      p.rider = *id_of;
      break;
    }
    case role::warehouse: {
      const std::string* wh = claims.string_claim("warehouse_id");
      if (wh == nullptr) return {errc::jwt_missing_claim, "warehouse_id"};
      auto id_of = id::make(*wh, "warehouse_id");
      if (!id_of) return {id_of.error(), id_of.field()};
      p.warehouse = *id_of;
      break;
    }
    case role::admin: break;
  }
  // jti names one token; without it sub + iat + exp tell tokens apart well enough.
  p.token_key = !claims.token_id.empty()
                    ? "jti:" + claims.token_id
                    : "sub:" + claims.subject + ":" + std::to_string(claims.issued_at_s.value_or(0)) + ":" +
                          std::to_string(p.expires_at_s);
  return p;
}

std::string token_claims_json(const token_spec& spec) {
  boost::json::object o;
  const std::int64_t iat = spec.issued_at_s > 0 ? spec.issued_at_s : now_ms() / 1000;
  o["sub"] = spec.subject;
  o["role"] = role_name(spec.who);
  if (!spec.rider_id.empty()) o["rider_id"] = spec.rider_id;
  if (!spec.warehouse_id.empty()) o["warehouse_id"] = spec.warehouse_id;
  if (!spec.issuer.empty()) o["iss"] = spec.issuer;
  if (!spec.audience.empty()) o["aud"] = spec.audience;
  if (!spec.token_id.empty()) o["jti"] = spec.token_id;
  o["iat"] = iat;
  o["exp"] = iat + spec.ttl_s;
  return boost::json::serialize(o);
}

result<std::string> mint_token(const jwt_key& key, const token_spec& spec) {
  if (spec.subject.empty()) return {errc::jwt_missing_claim, "sub"};
  return jwt_sign(key, token_claims_json(spec));
}

}  // namespace xiaoxiang
