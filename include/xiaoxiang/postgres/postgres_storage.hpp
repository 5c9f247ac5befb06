// postgres_storage: the storage for deployments that outgrow one machine —
// the article's tables `orders` and `order_tracking` in PostgreSQL (libpq),
// both partitioned by hash of the order id. Same contract as sqlite_storage:
// commit() is one transaction, durable when it returns; reads run on their
// own connections and never wait for a commit (docs/storage.md#postgresql).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xiaoxiang/storage/storage.hpp"

namespace xiaoxiang {

// How the database is reached and laid out.
struct postgres_options {
  // The schema (namespace) holding the tables; created if missing. Lets one
  // database hold several independent stores (tests use one per case).
  std::string schema = "public";
  // Hash partitions of orders and order_tracking for a NEW schema (1..1024);
  // an existing schema keeps the count it was created with (partitions()).
  int partitions = 8;
  // synchronous_commit of the write connection: true (PostgreSQL's default)
  // returns from commit() once the WAL is flushed on the server; false
  // returns before (a server crash may lose the last ~0.6 s of commits).
  bool synchronous_commit = true;
  std::size_t max_read_connections = 8;  // idle read connections kept for reuse
};

// The schema version this library writes to <schema>.xiaoxiang_meta.
inline constexpr int kPostgresSchemaVersion = 1;

class postgres_storage final : public storage {
 public:
  // Connects with libpq's `conninfo` ("host=127.0.0.1 port=5432
  // dbname=tracking user=..." or a postgresql:// URI) and creates the schema
  // and tables if needed. Throws xiaoxiang::error with errc::storage_io
  // naming the server (never the password) and the SQLSTATE when it cannot
  // connect or set up, errc::unsupported_schema_version when the stored
  // schema is newer, and errc::invalid_field for partitions out of range.
  explicit postgres_storage(const std::string& conninfo, postgres_options options = {});
  ~postgres_storage() override;
  postgres_storage(const postgres_storage&) = delete;
  postgres_storage& operator=(const postgres_storage&) = delete;

  // One transaction on the write connection: the batch's order upserts
  // (COPY into a staging table, then INSERT ... ON CONFLICT that never
  // replaces a newer stored version) and its records (COPY). Throws
  // xiaoxiang::error(errc::storage_io) with the SQLSTATE and rolls back on
  // any error, including a repeated (order_id, version). A write connection
  // lost since the last commit is re-established first.
  void commit(const write_batch& batch) override;

  std::optional<order> load_order(const order_id& id) override;
  recovery_state recover(timestamp_ms since) override;
  std::vector<tracking_record> trajectory(const order_id& id) override;
  std::vector<tracking_record> records_since(const order_id& id, std::uint64_t version) override;
  std::vector<order> orders_of_user(const user_id& user) override;

  // True when some stored record came from `event` (for duplicates older
  // than recover()'s window; uses the source_event index).
  bool contains_event(const event_id& event);
  // Number of stored tracking records (all orders).
  std::size_t record_count();
  // Number of stored orders.
  std::size_t order_count();
  // Hash partitions of each table in this schema.
  int partitions() const noexcept;
  // "host=... port=... dbname=... schema=...": the server, for messages.
  const std::string& describe() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace xiaoxiang
