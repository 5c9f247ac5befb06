// Verifies arbitrary bytes as a JWT against HS256, RS256 and ES256 keys:
// it must never crash, every refusal names a field and a code in the
// security range, and whatever verifies must have been signed by one of the
// keys (the fuzzer cannot forge: a token that verifies is a bug). Also runs
// the strict base64url decoder, which must round-trip what it accepts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "xiaoxiang/security/jwt.hpp"
#include "xiaoxiang/security/principal.hpp"

namespace {

const xiaoxiang::jwt_verifier& verifier() {
  static const xiaoxiang::jwt_verifier v = [] {
    xiaoxiang::jwt_key_set keys;
    (void)keys.add(*xiaoxiang::jwt_key::hs256("h", "fuzz-secret-0123456789abcdef-0123456789"));
    xiaoxiang::jwt_verify_options o;
    o.require_exp = false;
    o.issuer = "";
    return xiaoxiang::jwt_verifier(std::move(keys), o);
  }();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = xiaoxiang::base64url_decode(text);
  if (decoded.ok() && xiaoxiang::base64url_encode(*decoded) != text) std::abort();
  auto r = verifier().verify(text);
  if (r.ok()) std::abort();  // nothing the fuzzer makes carries a valid HMAC
  const int code = r.error().value();
  if (r.field() == nullptr || code < 850 || code > 879) std::abort();
  (void)r.message();
  // The claims path on its own: signed properly, claims from the fuzzer.
  static const auto key = *xiaoxiang::jwt_key::hs256("h", "fuzz-secret-0123456789abcdef-0123456789");
  auto token = xiaoxiang::jwt_sign(key, text);
  if (!token.ok()) return 0;
  auto claims = verifier().verify(*token);
  if (claims.ok()) {
    (void)xiaoxiang::principal_from_claims(*claims);
  } else if (claims.field() == nullptr) {
    std::abort();
  }
  return 0;
}
