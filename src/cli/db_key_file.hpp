// --db-key-file of the commands that open SQLite (serve, replay): the key
// file of the location columns' encryption (docs/storage.md, "Encryption at
// rest"), turned into sqlite_options or a message naming the line and field.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/storage/location_cipher.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"

namespace xiaoxiang::cli {

// Sets options.location_encryption from the key file at `path` (none: the
// options stay plaintext). False, with a line on `err` prefixed by
// `command`, when the file cannot be read or a line is not `id:64-hex`.
inline bool apply_db_key_file(const std::optional<std::string>& path, sqlite_options& options,
                              std::ostream& err, const char* command) {
  if (!path) return true;
  try {
    std::size_t line = 0;
    auto ring = location_key_ring::load_file(*path, &line);
    if (!ring) {
      err << command << ": --db-key-file '" << *path << "'";
      if (line > 0) err << " line " << line;
      err << ": " << ring.message() << " (expected lines 'id:64-hex-digits', first = current)\n";
      return false;
    }
    options.location_encryption = std::make_shared<const location_cipher>(std::move(*ring));
    return true;
  } catch (const error& e) {
    err << command << ": --db-key-file: " << e.what() << "\n";
    return false;
  }
}

}  // namespace xiaoxiang::cli
