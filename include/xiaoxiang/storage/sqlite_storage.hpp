// sqlite_storage: the embedded default storage, one SQLite file with the
// article's tables `orders` and `order_tracking` (docs/storage.md has the
// schema). Commits run on the write connection in WAL mode; reads use their
// own connections, so they never wait for a commit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xiaoxiang/storage/storage.hpp"

namespace xiaoxiang {

class location_cipher;

// How the database file is opened. WAL journal with synchronous=NORMAL by
// default: a committed transaction survives a crash of the process (SIGKILL,
// abort) because it is in the OS page cache, but the last transactions
// before a power loss or OS crash may be lost (the file stays consistent).
// synchronous_full = true fsyncs the WAL on every commit, so commit() returns
// only once the transaction survives a power loss too (slower).
struct sqlite_options {
  bool synchronous_full = false;        // PRAGMA synchronous=FULL instead of NORMAL
  std::int64_t cache_size_kib = 65536;  // page cache of the write connection, KiB
  int busy_timeout_ms = 5000;           // wait this long for another process's lock
  std::size_t max_read_connections = 8; // idle read connections kept for reuse
  // Page size of a new file (512..65536, a power of 2). 16 KiB rather than
  // SQLite's 4 KiB: a batch dirties pages all over the order-keyed indexes,
  // and fewer, larger WAL frames cost far fewer system calls per record.
  int page_size_bytes = 16384;
  std::int64_t mmap_size_bytes = 256ll << 20;  // memory-mapped reads of the file (0: off)
  int wal_autocheckpoint_pages = 1000;  // checkpoint the WAL into the file after this many pages
  // Encryption at rest of the location columns (location_cipher.hpp): rows
  // are written sealed with its current key and read with any key of its
  // ring. Null: written in plaintext, as before; reading a sealed row then
  // throws errc::location_key_missing. Plaintext rows of older files stay
  // readable either way (docs/storage.md, "Encryption at rest").
  std::shared_ptr<const location_cipher> location_encryption = nullptr;
};

// The schema version this library writes to PRAGMA user_version.
inline constexpr int kSqliteSchemaVersion = 2;

class sqlite_storage final : public storage {
 public:
  // Opens (creating it and its schema if needed) the database at `path`;
  // ":memory:" gives a private in-memory database (reads then share the
  // write connection under a mutex). Throws xiaoxiang::error with
  // errc::storage_io naming the path when it cannot open or set up the file,
  // and errc::unsupported_schema_version when the file's schema is newer.
  explicit sqlite_storage(const std::string& path, sqlite_options options = {});
  ~sqlite_storage() override;
  sqlite_storage(const sqlite_storage&) = delete;
  sqlite_storage& operator=(const sqlite_storage&) = delete;

  // One IMMEDIATE transaction: order upserts (a stored newer version is never
  // overwritten by an older one), then record inserts. Throws
  // xiaoxiang::error(errc::storage_io) and rolls back on any error, including
  // a repeated (order_id, version) or record id.
  void commit(const write_batch& batch) override;

  std::optional<order> load_order(const order_id& id) override;
  recovery_state recover(timestamp_ms since) override;
  std::vector<tracking_record> trajectory(const order_id& id) override;
  std::vector<tracking_record> records_since(const order_id& id, std::uint64_t version) override;
  std::vector<order> orders_of_user(const user_id& user) override;

  // True when some stored record came from `event` (uses the source_event
  // index; for duplicates older than recover()'s window).
  bool contains_event(const event_id& event);
  // Number of stored tracking records (all orders).
  std::size_t record_count();
  // Number of stored orders.
  std::size_t order_count();
  // The file this storage was opened on.
  const std::string& path() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace xiaoxiang
