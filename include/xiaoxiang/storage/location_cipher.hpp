// location_cipher: encryption at rest of the location columns (longitude,
// latitude, address) with AES-256-GCM (OpenSSL EVP). Each sealed value is
// one envelope: a format byte, the id of the key that sealed it, a fresh
// random 96-bit nonce, the ciphertext and the 128-bit tag. The associated
// data (not stored, supplied again to open) binds the envelope to its row
// (table, order id, version), so that a ciphertext copied into another row
// does not open. A key ring holds several keys: the current one seals, any
// of them opens, which is how keys rotate (add a new current key; old rows
// stay readable until rewritten).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xiaoxiang/core/result.hpp"

namespace xiaoxiang {

// One AES-256 key with the id stored beside each ciphertext it seals.
struct location_key {
  std::string id;                      // 1..32 characters of [A-Za-z0-9_.-]
  std::array<std::uint8_t, 32> bytes{};  // the 256-bit key
};

// The keys a storage may use: current() seals, find() opens.
class location_key_ring {
 public:
  // Adds a key; `make_current` makes it the sealing key (the first key added
  // is current anyway). Fails with errc::location_invalid_key ("id") for a
  // malformed or repeated id.
  status_result add(location_key key, bool make_current = false);

  // Parses the key file format: one key per line, `id:hex` with 64 hex
  // digits; the first key is current; blank lines and lines starting with
  // '#' are skipped. Fails with errc::location_invalid_key and field "id"
  // (bad or repeated id), "key" (not 64 hex digits) or "keys" (no key at
  // all); *error_line, when given, gets the 1-based line of the failure.
  static result<location_key_ring> parse(std::string_view text,
                                         std::size_t* error_line = nullptr);
  // Reads and parses a key file. Throws xiaoxiang::error(errc::storage_io)
  // when the file cannot be read; parse errors are returned as by parse().
  static result<location_key_ring> load_file(const std::string& path,
                                             std::size_t* error_line = nullptr);

  const location_key* current() const noexcept;  // null when empty
  const location_key* find(std::string_view id) const noexcept;  // null when absent
  std::size_t size() const noexcept { return keys_.size(); }
  bool empty() const noexcept { return keys_.empty(); }

 private:
  std::vector<location_key> keys_;
  std::size_t current_ = 0;
};

// Seals and opens envelopes with a key ring. Thread-safe (const; OpenSSL
// contexts are per call).
class location_cipher {
 public:
  // Requires: !ring.empty().
  explicit location_cipher(location_key_ring ring);

  // The envelope of `plaintext` under the current key, bound to
  // `associated_data`. Throws xiaoxiang::error(errc::storage_io) only when
  // OpenSSL fails (no randomness, out of memory).
  std::string seal(std::string_view plaintext, std::string_view associated_data) const;

  // The plaintext of an envelope. Fails with errc::location_malformed (not
  // an envelope this library writes), errc::location_unknown_key (its key
  // id is not in the ring) or errc::location_auth_failed (wrong key bytes,
  // altered bytes, or other associated data: another row); never returns
  // unauthenticated bytes.
  result<std::string> open(std::string_view envelope, std::string_view associated_data) const;

  // The key id an envelope names (empty when malformed); for diagnostics.
  static std::string key_id_of(std::string_view envelope);

  const location_key_ring& ring() const noexcept { return ring_; }

  // Bytes an envelope adds to its plaintext with a key id of `id_size` chars.
  static constexpr std::size_t overhead(std::size_t id_size) noexcept {
    return 2 + id_size + 12 + 16;
  }

 private:
  location_key_ring ring_;
};

}  // namespace xiaoxiang
