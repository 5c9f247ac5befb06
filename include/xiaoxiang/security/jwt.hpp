// jwt: verification and signing of JSON Web Tokens (RFC 7519, compact JWS)
// with OpenSSL 3. A verifier holds a jwt_key_set and the claim rules (issuer,
// audience, leeway); verify() returns the claims or the one reason the token
// is refused (errc 850..864), and counts failures by reason (thread-safe).
// Servers verify once per connection (or request), never per message.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/security/jwt_key.hpp"

namespace xiaoxiang {

// Strict base64url (RFC 4648 §5) without padding, as JWS uses it.
std::string base64url_encode(std::string_view bytes);
// errc::jwt_bad_base64 (field "base64") for padding, characters outside the
// alphabet, a length of 4n+1, or non-zero unused bits (no two texts decode alike).
result<std::string> base64url_decode(std::string_view text);

// The claims of a verified token. Times are seconds since 1970 (NumericDate).
struct jwt_claims {
  std::string subject;                 // "sub"
  std::string issuer;                  // "iss" (empty when absent)
  std::vector<std::string> audience;   // "aud": a string or an array of strings
  std::optional<std::int64_t> expires_at_s;   // "exp"
  std::optional<std::int64_t> not_before_s;   // "nbf"
  std::optional<std::int64_t> issued_at_s;    // "iat"
  std::string token_id;                // "jti" (empty when absent)
  std::string kid;                     // the header's kid (empty when absent)
  jwt_alg alg = jwt_alg::hs256;        // the header's alg
  // Every other claim whose value is a string ("role", "rider_id", ...).
  std::vector<std::pair<std::string, std::string>> strings;
  std::string json;                    // the claims JSON as decoded

  // A string claim by name (standard ones included); nullptr when absent.
  const std::string* string_claim(std::string_view name) const noexcept;
};

// Rules of a verifier; units in the names.
struct jwt_verify_options {
  std::string issuer;                 // required "iss" (empty: not checked)
  std::string audience;               // required member of "aud" (empty: not checked)
  std::int64_t leeway_s = 60;         // clock skew allowed on exp and nbf
  std::size_t max_token_bytes = 8192; // longer tokens: errc::jwt_too_large
  bool require_exp = true;            // a token without exp: errc::jwt_missing_claim "exp"
  const clock* time_source = nullptr; // "now"; nullptr: the system clock
};

// Number of failure reasons counted (errc 850 .. 850 + kJwtReasonCount - 1).
inline constexpr std::size_t kJwtReasonCount = 15;

// Counters of a verifier (monotonic).
struct jwt_metrics {
  std::uint64_t verified = 0;  // tokens accepted
  std::array<std::uint64_t, kJwtReasonCount> failures{};  // by errc - 850 (jwt_malformed ...)

  std::uint64_t failed(errc reason) const noexcept;  // failures of one reason (0 outside the range)
  std::uint64_t failed_total() const noexcept;
};

class jwt_verifier {
 public:
  explicit jwt_verifier(jwt_key_set keys, jwt_verify_options options = {});
  ~jwt_verifier();
  jwt_verifier(const jwt_verifier&) = delete;
  jwt_verifier& operator=(const jwt_verifier&) = delete;

  // Checks, in this order: size, shape, base64url, header JSON, alg (none;
  // known), kid, the key's algorithm, the signature, claims JSON and types,
  // exp, nbf, iss, aud. The first failure is returned (its field named:
  // "token", "header", "alg", "kid", "signature", "claims", "exp", "nbf",
  // "iss", "aud", or the claim whose type is wrong) and counted. Thread-safe.
  result<jwt_claims> verify(std::string_view token) const;

  jwt_metrics metrics() const noexcept;
  const jwt_verify_options& options() const noexcept { return options_; }
  const jwt_key_set& keys() const noexcept { return keys_; }

 private:
  jwt_key_set keys_;
  jwt_verify_options options_;
  mutable std::atomic<std::uint64_t> verified_{0};
  mutable std::array<std::atomic<std::uint64_t>, kJwtReasonCount> failures_{};
};

// Signs `claims_json` (a JSON object, used verbatim) with the key's
// algorithm; the header is {"alg":..,"typ":"JWT"} plus "kid" when the key
// has one. errc::jwt_invalid_key "key" when the key cannot sign,
// errc::jwt_bad_json "claims" when the text is not a JSON object.
result<std::string> jwt_sign(const jwt_key& key, std::string_view claims_json);

}  // namespace xiaoxiang
