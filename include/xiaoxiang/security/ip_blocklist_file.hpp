// ip_blocklist_file: an ip_blocklist loaded from a file and reloaded without a
// restart (explicitly, e.g. on SIGHUP, or when the file's mtime changes). A
// reload that fails keeps the list in force: a typo in the file never opens
// the door. Thread-safe: readers take a snapshot (shared_ptr) per lookup.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/security/ip_blocklist.hpp"

namespace xiaoxiang {

class ip_blocklist_file {
 public:
  // Loads `path`; throws xiaoxiang::error when the file cannot be read or
  // has a bad line (the message names the line).
  explicit ip_blocklist_file(std::filesystem::path path);

  // Reads the file again. errc::not_found (field "path") when it cannot be
  // read; errc::invalid_field (field "cidr") on a bad line (see last_bad_line());
  // the list in force is unchanged then.
  status_result reload();
  // Reloads when the file's modification time or size changed since the
  // last load; true when a new list is now in force.
  bool reload_if_changed();
  // The list in force (never null).
  std::shared_ptr<const ip_blocklist> current() const;
  // The 1-based line of the last failed reload's bad line (0: none).
  std::size_t last_bad_line() const;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  mutable std::mutex mu_;
  std::shared_ptr<const ip_blocklist> list_;
  std::filesystem::file_time_type mtime_{};
  std::uintmax_t size_ = 0;
  std::size_t bad_line_ = 0;
};

}  // namespace xiaoxiang
