// jwt_key: a key that signs or verifies JSON Web Tokens, bound to exactly
// one algorithm (HS256 secret, RS256 RSA key, ES256 P-256 key), and a set of
// them selected by `kid` so that several keys can be live at once (rotation).
// Binding each key to its algorithm is what defeats algorithm confusion: an
// RSA public key's PEM text can never become an HS256 secret.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xiaoxiang/core/result.hpp"

namespace xiaoxiang {

// The JWS algorithms xiaoxiang signs and verifies (RFC 7518 names).
enum class jwt_alg : std::uint8_t {
  hs256 = 0,  // HMAC-SHA256 with a shared secret
  rs256 = 1,  // RSASSA-PKCS1-v1_5 with SHA-256 (RSA >= 2048 bits)
  es256 = 2,  // ECDSA P-256 with SHA-256 (signature: raw R||S, 64 bytes)
};

const char* jwt_alg_name(jwt_alg a) noexcept;  // "HS256", "RS256", "ES256"
// Parses "HS256" / "RS256" / "ES256"; "none" is errc::jwt_alg_none, anything
// else errc::jwt_alg_not_allowed (field "alg").
result<jwt_alg> jwt_alg_from_name(std::string_view name) noexcept;

// Shortest HS256 secret accepted (bytes): RFC 7518 §3.2 asks for >= the hash size.
inline constexpr std::size_t kMinHs256SecretBytes = 32;

// One key with its id and algorithm. Cheap to copy (shared, immutable).
class jwt_key {
 public:
  // An HS256 secret (raw bytes). errc::jwt_invalid_key "secret" when shorter
  // than kMinHs256SecretBytes or when it is PEM text (a public key pasted
  // as a secret is the algorithm-confusion attack, refused at load time).
  static result<jwt_key> hs256(std::string kid, std::string_view secret);
  // A PEM public key, certificate or private key (RSA -> RS256, EC P-256 ->
  // ES256). A private key can also sign. errc::jwt_invalid_key "pem" when
  // the text is not such a key (or RSA below 2048 bits, another curve).
  static result<jwt_key> from_pem(std::string kid, std::string_view pem);

  jwt_alg alg() const noexcept;
  const std::string& kid() const noexcept;  // may be empty (a single key)
  bool can_sign() const noexcept;           // HS256 secret or a private key

  struct impl;  // internal
  const impl& internals() const noexcept { return *impl_; }

 private:
  explicit jwt_key(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}
  std::shared_ptr<const impl> impl_;
};

// The keys a verifier accepts. A token with a `kid` uses the key with that
// id; a token without one is accepted only when the set holds one key.
class jwt_key_set {
 public:
  // Adds a key; errc::jwt_invalid_key "kid" when its kid is in the set already.
  status_result add(jwt_key key);
  // The key for a token's kid (empty: the only key); errc::jwt_unknown_kid "kid".
  result<jwt_key> find(std::string_view kid) const;
  std::size_t size() const noexcept { return keys_.size(); }
  bool empty() const noexcept { return keys_.empty(); }
  const std::vector<jwt_key>& keys() const noexcept { return keys_; }

 private:
  std::vector<jwt_key> keys_;
};

// Reads a whole file (a key, a secret); throws xiaoxiang::error when it cannot.
std::string read_key_file(const std::string& path);

}  // namespace xiaoxiang
