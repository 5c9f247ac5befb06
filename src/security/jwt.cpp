#include "xiaoxiang/security/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

// Boost.JSON's definitions are compiled once, in the order layer
// (src/order/event_json.cpp includes boost/json/src.hpp); here only the
// declarations, or the linker would see them twice.
#include <boost/json.hpp>

namespace xiaoxiang {

// --- keys ---------------------------------------------------------------------

struct jwt_key::impl {
  std::string kid;
  jwt_alg alg = jwt_alg::hs256;
  std::string secret;         // HS256
  EVP_PKEY* pkey = nullptr;   // RS256 / ES256
  bool has_private = false;

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    EVP_PKEY_free(pkey);
    OPENSSL_cleanse(secret.data(), secret.size());
  }
};

const char* jwt_alg_name(jwt_alg a) noexcept {
  switch (a) {
    case jwt_alg::hs256: return "HS256";
    case jwt_alg::rs256: return "RS256";
    case jwt_alg::es256: return "ES256";
  }
  return "unknown";
}

result<jwt_alg> jwt_alg_from_name(std::string_view name) noexcept {
  if (name == "HS256") return jwt_alg::hs256;
  if (name == "RS256") return jwt_alg::rs256;
  if (name == "ES256") return jwt_alg::es256;
  // "none" in any case: RFC 7518 says the name is case-sensitive, but some
  // libraries were fooled by "None"/"NONE"; name the attack whatever the case.
  if (name.size() == 4) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (lower == "none") return {errc::jwt_alg_none, "alg"};
  }
  return {errc::jwt_alg_not_allowed, "alg"};
}

result<jwt_key> jwt_key::hs256(std::string kid, std::string_view secret) {
  if (secret.size() < kMinHs256SecretBytes) return {errc::jwt_invalid_key, "secret"};
  if (secret.find("-----BEGIN") != std::string_view::npos) return {errc::jwt_invalid_key, "secret"};
  auto p = std::make_shared<impl>();
  p->kid = std::move(kid);
  p->alg = jwt_alg::hs256;
  p->secret.assign(secret);
  p->has_private = true;
  return jwt_key(std::move(p));
}

namespace {

// A passphrase callback that refuses: an encrypted private key must never
// make OpenSSL prompt on the terminal of a server.
int no_passphrase(char*, int, int, void*) { return -1; }

struct bio_ptr {
  BIO* p;
  explicit bio_ptr(std::string_view text)
      : p(BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))) {}
  ~bio_ptr() { BIO_free(p); }
  bio_ptr(const bio_ptr&) = delete;
  bio_ptr& operator=(const bio_ptr&) = delete;
};

}  // namespace

result<jwt_key> jwt_key::from_pem(std::string kid, std::string_view pem) {
  if (pem.empty() || pem.size() > (1u << 20)) return {errc::jwt_invalid_key, "pem"};
  EVP_PKEY* pkey = nullptr;
  bool priv = false;
  {
    bio_ptr b(pem);
    pkey = PEM_read_bio_PUBKEY(b.p, nullptr, no_passphrase, nullptr);
  }
  if (pkey == nullptr) {
    bio_ptr b(pem);
    pkey = PEM_read_bio_PrivateKey(b.p, nullptr, no_passphrase, nullptr);
    priv = pkey != nullptr;
  }
  if (pkey == nullptr) {
    bio_ptr b(pem);
    if (X509* cert = PEM_read_bio_X509(b.p, nullptr, no_passphrase, nullptr)) {
      pkey = X509_get_pubkey(cert);
      X509_free(cert);
    }
  }
  ERR_clear_error();  // the attempts that failed left their reasons behind
  if (pkey == nullptr) return {errc::jwt_invalid_key, "pem"};
  auto p = std::make_shared<impl>();
  p->pkey = pkey;  // owned from here on
  p->kid = std::move(kid);
  p->has_private = priv;
  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(pkey) < 2048) return {errc::jwt_invalid_key, "pem"};
    p->alg = jwt_alg::rs256;
  } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1 ||
        std::string_view(group, len) != "prime256v1") {
      ERR_clear_error();
      return {errc::jwt_invalid_key, "pem"};
    }
    p->alg = jwt_alg::es256;
  } else {
    return {errc::jwt_invalid_key, "pem"};
  }
  return jwt_key(std::move(p));
}

jwt_alg jwt_key::alg() const noexcept { return impl_->alg; }
const std::string& jwt_key::kid() const noexcept { return impl_->kid; }
bool jwt_key::can_sign() const noexcept { return impl_->has_private; }

status_result jwt_key_set::add(jwt_key key) {
  for (const auto& k : keys_)
    if (k.kid() == key.kid()) return {errc::jwt_invalid_key, "kid"};
  keys_.push_back(std::move(key));
  return {};
}

result<jwt_key> jwt_key_set::find(std::string_view kid) const {
  if (kid.empty()) {
    if (keys_.size() == 1) return keys_.front();
    return {errc::jwt_unknown_kid, "kid"};
  }
  for (const auto& k : keys_)
    if (k.kid() == kid) return k;
  return {errc::jwt_unknown_kid, "kid"};
}

std::string read_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error(make_error_code(errc::jwt_invalid_key), "cannot open key file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw error(make_error_code(errc::jwt_invalid_key), "cannot read key file " + path);
  return std::move(text).str();
}

// --- base64url ------------------------------------------------------------------

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> make_decode_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kDecode = make_decode_table();
}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  const auto at = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
    out.push_back(kAlphabet[v >> 6 & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (bytes.size() - i == 1) {
    const std::uint32_t v = at(i) << 16;
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
  } else if (bytes.size() - i == 2) {
    const std::uint32_t v = at(i) << 16 | at(i + 1) << 8;
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
    out.push_back(kAlphabet[v >> 6 & 63]);
  }
  return out;
}

result<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return {errc::jwt_bad_base64, "base64"};
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const std::int8_t v = kDecode[static_cast<unsigned char>(c)];
    if (v < 0) return {errc::jwt_bad_base64, "base64"};
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // The unused low bits of the last character must be zero: otherwise two
  // texts decode to the same bytes (a signature could be "changed" unnoticed).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return {errc::jwt_bad_base64, "base64"};
  return out;
}

// --- signatures -------------------------------------------------------------------

namespace {

struct md_ctx {
  EVP_MD_CTX* p = EVP_MD_CTX_new();
  ~md_ctx() { EVP_MD_CTX_free(p); }
  md_ctx() = default;
  md_ctx(const md_ctx&) = delete;
  md_ctx& operator=(const md_ctx&) = delete;
};

std::string hmac_sha256(std::string_view secret, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len) == nullptr)
    throw error(make_error_code(errc::jwt_invalid_key), "HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(mac), len);
}

// JWS carries ECDSA signatures as R||S (32 bytes each for P-256); OpenSSL
// wants DER. A signature of another length never verifies.
bool es256_raw_to_der(std::string_view raw, std::string& der) {
  if (raw.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* out = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &out);
  ECDSA_SIG_free(sig);
  if (len <= 0) return false;
  der.assign(reinterpret_cast<const char*>(out), static_cast<std::size_t>(len));
  OPENSSL_free(out);
  return true;
}

bool es256_der_to_raw(std::string_view der, std::string& raw) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) return false;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  unsigned char buf[64];
  const bool ok = BN_bn2binpad(r, buf, 32) == 32 && BN_bn2binpad(s, buf + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  if (ok) raw.assign(reinterpret_cast<const char*>(buf), 64);
  return ok;
}

bool verify_signature(const jwt_key::impl& key, std::string_view signing_input, std::string_view sig) {
  if (key.alg == jwt_alg::hs256) {
    const std::string mac = hmac_sha256(key.secret, signing_input);
    return sig.size() == mac.size() && CRYPTO_memcmp(sig.data(), mac.data(), mac.size()) == 0;
  }
  std::string der;
  if (key.alg == jwt_alg::es256) {
    if (!es256_raw_to_der(sig, der)) return false;
    sig = der;
  }
  md_ctx ctx;
  bool ok = ctx.p != nullptr &&
            EVP_DigestVerifyInit(ctx.p, nullptr, EVP_sha256(), nullptr, key.pkey) == 1 &&
            EVP_DigestVerify(ctx.p, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(signing_input.data()),
                             signing_input.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::string sign_bytes(const jwt_key::impl& key, std::string_view signing_input) {
  if (key.alg == jwt_alg::hs256) return hmac_sha256(key.secret, signing_input);
  md_ctx ctx;
  std::size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (ctx.p == nullptr || EVP_DigestSignInit(ctx.p, nullptr, EVP_sha256(), nullptr, key.pkey) != 1 ||
      EVP_DigestSign(ctx.p, nullptr, &len, data, signing_input.size()) != 1)
    throw error(make_error_code(errc::jwt_invalid_key), "EVP_DigestSign failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.p, reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                     signing_input.size()) != 1)
    throw error(make_error_code(errc::jwt_invalid_key), "EVP_DigestSign failed");
  sig.resize(len);
  if (key.alg == jwt_alg::es256) {
    std::string raw;
    if (!es256_der_to_raw(sig, raw)) throw error(make_error_code(errc::jwt_invalid_key), "ECDSA signature");
    return raw;
  }
  return sig;
}

// --- claims --------------------------------------------------------------------

namespace json = boost::json;

// Parses a JSON object; nullopt when the text is not one.
std::optional<json::object> parse_object(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v).as_object();
}

// A NumericDate: an integer or a (finite) number of seconds.
std::optional<std::int64_t> numeric_date(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64())
    return v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
               ? std::numeric_limits<std::int64_t>::max()
               : static_cast<std::int64_t>(v.get_uint64());
  if (v.is_double()) {
    const double d = v.get_double();
    if (!std::isfinite(d) || std::fabs(d) > 9.0e15) return std::nullopt;
    return static_cast<std::int64_t>(std::floor(d));
  }
  return std::nullopt;
}

}  // namespace

const std::string* jwt_claims::string_claim(std::string_view name) const noexcept {
  if (name == "sub") return subject.empty() ? nullptr : &subject;
  if (name == "iss") return issuer.empty() ? nullptr : &issuer;
  if (name == "jti") return token_id.empty() ? nullptr : &token_id;
  for (const auto& [k, v] : strings)
    if (k == name) return &v;
  return nullptr;
}

std::uint64_t jwt_metrics::failed(errc reason) const noexcept {
  const int i = static_cast<int>(reason) - static_cast<int>(errc::jwt_malformed);
  return i >= 0 && static_cast<std::size_t>(i) < failures.size() ? failures[static_cast<std::size_t>(i)] : 0;
}

std::uint64_t jwt_metrics::failed_total() const noexcept {
  std::uint64_t n = 0;
  for (const auto f : failures) n += f;
  return n;
}

jwt_verifier::jwt_verifier(jwt_key_set keys, jwt_verify_options options)
    : keys_(std::move(keys)), options_(std::move(options)) {}

jwt_verifier::~jwt_verifier() = default;

jwt_metrics jwt_verifier::metrics() const noexcept {
  jwt_metrics m;
  m.verified = verified_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kJwtReasonCount; ++i) m.failures[i] = failures_[i].load(std::memory_order_relaxed);
  return m;
}

result<jwt_claims> jwt_verifier::verify(std::string_view token) const {
  const auto fail = [this](errc reason, const char* field) -> result<jwt_claims> {
    const int i = static_cast<int>(reason) - static_cast<int>(errc::jwt_malformed);
    if (i >= 0 && static_cast<std::size_t>(i) < kJwtReasonCount)
      failures_[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
    return {reason, field};
  };
  if (token.size() > options_.max_token_bytes) return fail(errc::jwt_too_large, "token");
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot1 == std::string_view::npos || dot2 == std::string_view::npos ||
      token.find('.', dot2 + 1) != std::string_view::npos || dot1 == 0 || dot2 == dot1 + 1)
    return fail(errc::jwt_malformed, "token");
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view claims_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view sig_b64 = token.substr(dot2 + 1);
  auto header_text = base64url_decode(header_b64);
  if (!header_text) return fail(errc::jwt_bad_base64, "header");
  auto claims_text = base64url_decode(claims_b64);
  if (!claims_text) return fail(errc::jwt_bad_base64, "claims");
  auto sig = base64url_decode(sig_b64);
  if (!sig) return fail(errc::jwt_bad_base64, "signature");

  auto header = parse_object(*header_text);
  if (!header) return fail(errc::jwt_bad_json, "header");
  const json::value* alg_v = header->if_contains("alg");
  if (alg_v == nullptr) return fail(errc::jwt_missing_claim, "alg");
  if (!alg_v->is_string()) return fail(errc::jwt_wrong_claim_type, "alg");
  const auto& alg_s = alg_v->get_string();
  auto alg = jwt_alg_from_name(std::string_view(alg_s.data(), alg_s.size()));
  if (!alg) return fail(static_cast<errc>(alg.error().value()), "alg");
  // Extensions a verifier must understand (RFC 7515 §4.1.11): we know none.
  if (header->contains("crit")) return fail(errc::jwt_malformed, "crit");
  std::string kid;
  if (const json::value* k = header->if_contains("kid")) {
    if (!k->is_string()) return fail(errc::jwt_wrong_claim_type, "kid");
    kid.assign(k->get_string().data(), k->get_string().size());
  }
  auto key = keys_.find(kid);
  if (!key) return fail(errc::jwt_unknown_kid, "kid");
  // The key decides the algorithm, never the token: an RS256 public key is
  // not an HS256 secret, however the token's header is dressed.
  if (key->alg() != *alg) return fail(errc::jwt_alg_not_allowed, "alg");
  if (!verify_signature(key->internals(), token.substr(0, dot2), *sig))
    return fail(errc::jwt_bad_signature, "signature");

  auto claims = parse_object(*claims_text);
  if (!claims) return fail(errc::jwt_bad_json, "claims");
  jwt_claims out;
  out.alg = *alg;
  out.kid = std::move(kid);
  for (const auto& kv : *claims) {
    const std::string_view name(kv.key().data(), kv.key().size());
    const json::value& v = kv.value();
    const auto as_string = [&v](std::string& into) -> bool {
      if (!v.is_string()) return false;
      into.assign(v.get_string().data(), v.get_string().size());
      return true;
    };
    if (name == "exp" || name == "nbf" || name == "iat") {
      auto t = numeric_date(v);
      const char* field = name == "exp" ? "exp" : name == "nbf" ? "nbf" : "iat";
      if (!t) return fail(errc::jwt_wrong_claim_type, field);
      (name == "exp" ? out.expires_at_s : name == "nbf" ? out.not_before_s : out.issued_at_s) = *t;
    } else if (name == "sub") {
      if (!as_string(out.subject)) return fail(errc::jwt_wrong_claim_type, "sub");
    } else if (name == "iss") {
      if (!as_string(out.issuer)) return fail(errc::jwt_wrong_claim_type, "iss");
    } else if (name == "jti") {
      if (!as_string(out.token_id)) return fail(errc::jwt_wrong_claim_type, "jti");
    } else if (name == "aud") {
      if (v.is_string()) {
        out.audience.emplace_back(v.get_string().data(), v.get_string().size());
      } else if (v.is_array()) {
        for (const auto& a : v.get_array()) {
          if (!a.is_string()) return fail(errc::jwt_wrong_claim_type, "aud");
          out.audience.emplace_back(a.get_string().data(), a.get_string().size());
        }
      } else {
        return fail(errc::jwt_wrong_claim_type, "aud");
      }
    } else if (v.is_string()) {
      out.strings.emplace_back(std::string(name), std::string(v.get_string().data(), v.get_string().size()));
    }
  }
  const system_clock wall;
  const clock& time = options_.time_source ? *options_.time_source : static_cast<const clock&>(wall);
  const std::int64_t now_s = time.now() / 1000;
  const std::int64_t leeway = std::max<std::int64_t>(0, options_.leeway_s);
  if (!out.expires_at_s) {
    if (options_.require_exp) return fail(errc::jwt_missing_claim, "exp");
  } else if (now_s >= *out.expires_at_s && now_s - *out.expires_at_s >= leeway) {
    return fail(errc::jwt_expired, "exp");
  }
  if (out.not_before_s && *out.not_before_s > now_s && *out.not_before_s - now_s > leeway)
    return fail(errc::jwt_not_yet_valid, "nbf");
  if (!options_.issuer.empty() && out.issuer != options_.issuer) return fail(errc::jwt_wrong_issuer, "iss");
  if (!options_.audience.empty()) {
    bool found = false;
    for (const auto& a : out.audience) found = found || a == options_.audience;
    if (!found) return fail(errc::jwt_wrong_audience, "aud");
  }
  out.json = std::move(*claims_text);
  verified_.fetch_add(1, std::memory_order_relaxed);
  return out;
}

result<std::string> jwt_sign(const jwt_key& key, std::string_view claims_json) {
  if (!key.can_sign()) return {errc::jwt_invalid_key, "key"};
  if (!parse_object(claims_json)) return {errc::jwt_bad_json, "claims"};
  json::object header;
  header["alg"] = jwt_alg_name(key.alg());
  header["typ"] = "JWT";
  if (!key.kid().empty()) header["kid"] = key.kid();
  std::string token = base64url_encode(json::serialize(header));
  token.push_back('.');
  token += base64url_encode(claims_json);
  const std::string sig = sign_bytes(key.internals(), token);
  token.push_back('.');
  token += base64url_encode(sig);
  return token;
}

}  // namespace xiaoxiang
