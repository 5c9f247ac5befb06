// Keys for the security tests, generated at run time with OpenSSL
// (EVP_PKEY_Q_keygen): no key file is ever committed.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdexcept>
#include <string>

namespace xiaoxiang::test {

struct pem_pair {
  std::string private_pem;
  std::string public_pem;
};

inline std::string bio_text(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

inline pem_pair pem_of(EVP_PKEY* key) {
  if (key == nullptr) throw std::runtime_error("key generation failed");
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, key);
  EVP_PKEY_free(key);
  return {bio_text(priv), bio_text(pub)};
}

// A fresh RSA key of `bits` (2048 for RS256).
inline pem_pair make_rsa(unsigned bits = 2048) {
  return pem_of(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
}

// A fresh EC key on `curve` (P-256 for ES256).
inline pem_pair make_ec(const char* curve = "P-256") {
  return pem_of(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

// Generated once per test program: RSA generation takes a while.
inline const pem_pair& rsa_key() { static const pem_pair k = make_rsa(); return k; }
inline const pem_pair& rsa_key2() { static const pem_pair k = make_rsa(); return k; }
inline const pem_pair& ec_key() { static const pem_pair k = make_ec(); return k; }
inline const pem_pair& ec_key2() { static const pem_pair k = make_ec(); return k; }

inline const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";

}  // namespace xiaoxiang::test
