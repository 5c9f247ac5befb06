// principal: who a verified token speaks for — its subject, role and the ids
// the role acts as (rider id, warehouse id) — taken from the token's claims.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/security/jwt.hpp"

namespace xiaoxiang {

// The roles of DESIGN.md (the article's customer app, rider app, warehouse
// terminal and admin console), from the "role" claim.
enum class role : std::uint8_t {
  customer = 0,   // reads orders whose userId is the token's sub
  rider = 1,      // reads orders assigned to it; SENDs its own positions
  warehouse = 2,  // reads its warehouse's orders; SENDs their picking stages
  admin = 3,      // everything, plus /topic/riders and nearby search
};
inline constexpr std::size_t kRoleCount = 4;

const char* role_name(role r) noexcept;  // "customer", "rider", "warehouse", "admin"
// errc::invalid_role "role" for anything else.
result<role> role_from_name(std::string_view name) noexcept;

// The caller of one connection or request.
struct principal {
  std::string subject;        // "sub": the user id of a customer, any id otherwise
  enum role who = role::customer;
  user_id user;               // customer: sub
  rider_id rider;             // rider: "rider_id", else sub
  warehouse_id warehouse;     // warehouse: "warehouse_id" (required)
  std::int64_t expires_at_s = 0;  // "exp" (0: none)
  std::string token_key;      // identifies the token for the per-token connection cap ("jti", else sub+iat)
};

// The principal of verified claims. Rejections: errc::jwt_missing_claim
// ("sub", "role", "warehouse_id"), errc::invalid_role "role", and the id
// errors of id::make for the claim used as an id ("sub", "rider_id",
// "warehouse_id").
result<principal> principal_from_claims(const jwt_claims& claims);

// What mint_token puts into a token's claims (for tests, the CLI, load
// benchmarks and hosts that issue their own tokens).
struct token_spec {
  std::string subject;              // "sub" (required)
  enum role who = role::customer;   // "role"
  std::string rider_id;             // "rider_id" (riders; empty: not written, sub is used)
  std::string warehouse_id;         // "warehouse_id" (warehouses)
  std::string issuer;               // "iss" (empty: not written)
  std::string audience;             // "aud" (empty: not written)
  std::string token_id;             // "jti" (empty: not written)
  std::int64_t issued_at_s = 0;     // "iat" seconds since 1970 (0: now)
  std::int64_t ttl_s = 3600;        // exp = iat + ttl_s
};

// The claims JSON of a spec, and a token signed with `key` (errors of jwt_sign;
// errc::jwt_missing_claim "sub" without a subject).
std::string token_claims_json(const token_spec& spec);
result<std::string> mint_token(const jwt_key& key, const token_spec& spec);

}  // namespace xiaoxiang
