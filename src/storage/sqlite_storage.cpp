#include "xiaoxiang/storage/sqlite_storage.hpp"

#include <sqlite3.h>

#include <array>
#include <bit>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/storage/location_cipher.hpp"

namespace xiaoxiang {
namespace {

// The article's two tables with their names and codes, plus what the engine
// needs (docs/storage.md explains each column). Times are ms since the
// epoch (UTC); total_amount is integer cents (orders_display shows 23.50).
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS orders(
  id              TEXT PRIMARY KEY NOT NULL,
  user_id         TEXT NOT NULL,
  status          INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5),
  total_amount    INTEGER NOT NULL,
  create_time     INTEGER NOT NULL,
  update_time     INTEGER NOT NULL,
  version         INTEGER NOT NULL,
  warehouse_id    TEXT,
  rider_id        TEXT,
  origin_lon      REAL NOT NULL,
  origin_lat      REAL NOT NULL,
  destination_lon REAL NOT NULL,
  destination_lat REAL NOT NULL,
  address         TEXT NOT NULL,
  promised_time   INTEGER NOT NULL,
  picking_stage   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS orders_user_time ON orders(user_id, create_time);
CREATE TABLE IF NOT EXISTS order_tracking(
  id            TEXT PRIMARY KEY NOT NULL,
  order_id      TEXT NOT NULL REFERENCES orders(id),
  status        INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5),
  longitude     REAL,
  latitude      REAL,
  address       TEXT NOT NULL,
  operator_id   TEXT,
  operator_type INTEGER NOT NULL CHECK (operator_type BETWEEN 0 AND 2),
  create_time   INTEGER NOT NULL,
  version       INTEGER NOT NULL,
  source_event  TEXT,
  kind          INTEGER NOT NULL,
  stage         INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS order_tracking_order_version ON order_tracking(order_id, version);
CREATE INDEX IF NOT EXISTS order_tracking_source_event ON order_tracking(source_event);
CREATE VIEW IF NOT EXISTS orders_display AS
  SELECT id, user_id, status,
         printf('%d.%02d', total_amount / 100, total_amount % 100) AS total_amount,
         create_time, update_time, version, warehouse_id, rider_id,
         origin_lon, origin_lat, destination_lon, destination_lat,
         address, promised_time, picking_stage
  FROM orders;
)sql";

constexpr const char* kOrderColumns =
    "id, user_id, status, total_amount, create_time, update_time, version, warehouse_id, "
    "rider_id, origin_lon, origin_lat, destination_lon, destination_lat, address, "
    "promised_time, picking_stage";

constexpr const char* kRecordColumns =
    "id, order_id, status, longitude, latitude, address, operator_id, operator_type, "
    "create_time, version, source_event, kind, stage";

constexpr const char* kUpsertOrder =
    "INSERT INTO orders(id, user_id, status, total_amount, create_time, update_time, version, "
    "warehouse_id, rider_id, origin_lon, origin_lat, destination_lon, destination_lat, address, "
    "promised_time, picking_stage) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15, ?16) ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, "
    "status = excluded.status, total_amount = excluded.total_amount, "
    "create_time = excluded.create_time, update_time = excluded.update_time, "
    "version = excluded.version, warehouse_id = excluded.warehouse_id, "
    "rider_id = excluded.rider_id, origin_lon = excluded.origin_lon, "
    "origin_lat = excluded.origin_lat, destination_lon = excluded.destination_lon, "
    "destination_lat = excluded.destination_lat, address = excluded.address, "
    "promised_time = excluded.promised_time, picking_stage = excluded.picking_stage "
    "WHERE excluded.version >= orders.version";

// The common case of an upsert: the order exists, this is a newer version,
// and its user and creation time (the columns of orders_user_time) are
// unchanged, so the index is not touched. Otherwise kUpsertOrder runs.
constexpr const char* kUpdateOrder =
    "UPDATE orders SET status = ?3, total_amount = ?4, update_time = ?6, version = ?7, "
    "warehouse_id = ?8, rider_id = ?9, origin_lon = ?10, origin_lat = ?11, "
    "destination_lon = ?12, destination_lat = ?13, address = ?14, promised_time = ?15, "
    "picking_stage = ?16 WHERE id = ?1 AND user_id IS ?2 AND create_time = ?5 AND version <= ?7";

constexpr const char* kInsertRecord =
    "INSERT INTO order_tracking(id, order_id, status, longitude, latitude, address, operator_id, "
    "operator_type, create_time, version, source_event, kind, stage) VALUES (?1, ?2, ?3, ?4, ?5, "
    "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

bool is_memory_path(const std::string& path) {
  return path.empty() || path == ":memory:" || path.rfind("file::memory:", 0) == 0;
}

[[noreturn]] void fail(const std::string& path, const std::string& what, sqlite3* db) {
  std::string message = "sqlite_storage '" + path + "': " + what;
  if (db != nullptr) message += ": " + std::string(sqlite3_errmsg(db));
  throw error(errc::storage_io, message);
}

void exec(sqlite3* db, const std::string& path, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    throw error(errc::storage_io, "sqlite_storage '" + path + "': " + sql + ": " + text);
  }
}

db_ptr open_connection(const std::string& path, const sqlite_options& options) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                    SQLITE_OPEN_URI;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  db_ptr db(raw);
  if (rc != SQLITE_OK) fail(path, "cannot open", db.get());
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);
  return db;
}

stmt_ptr prepare(sqlite3* db, const std::string& path, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
    fail(path, std::string("cannot prepare ") + sql, db);
  return stmt_ptr(raw);
}

std::int64_t query_int(sqlite3* db, const std::string& path, const char* sql) {
  stmt_ptr s = prepare(db, path, sql);
  const int rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) fail(path, sql, db);
  return sqlite3_column_int64(s.get(), 0);
}

// Binding: empty ids are NULL, so that "no rider" reads as NULL in SQL.
void bind_id(sqlite3_stmt* s, int index, const id& value) {
  if (value.empty()) {
    sqlite3_bind_null(s, index);
  } else {
    sqlite3_bind_text(s, index, value.view().data(), static_cast<int>(value.size()),
                      SQLITE_STATIC);
  }
}

void bind_text(sqlite3_stmt* s, int index, const std::string& value) {
  sqlite3_bind_text(s, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

void bind_u64(sqlite3_stmt* s, int index, std::uint64_t value) {
  sqlite3_bind_int64(s, index, static_cast<std::int64_t>(value));
}

// --- encryption at rest ---------------------------------------------------------
// A sealed row keeps its location in one envelope in the `address` column
// (a BLOB: plaintext addresses are TEXT, which is how a reader tells them
// apart); its coordinate columns hold NULL (order_tracking) or 0 (orders,
// NOT NULL). The plaintext is [flags][doubles, little-endian][address
// bytes]; the associated data names the table, the order and the version,
// so an envelope moved to another row or table does not open.

constexpr std::uint8_t kHasPosition = 1;

void put_double(std::string& out, double v) {
  auto bits = std::bit_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i, bits >>= 8) out += static_cast<char>(bits & 0xff);
}

double get_double(std::string_view in, std::size_t at) {
  std::uint64_t bits = 0;
  for (int i = 7; i >= 0; --i)
    bits = (bits << 8) | static_cast<std::uint8_t>(in[at + static_cast<std::size_t>(i)]);
  return std::bit_cast<double>(bits);
}

std::string row_binding(const char* table, const id& order, std::uint64_t version) {
  std::string ad(table);
  ad += '\0';
  ad += order.view();
  ad += '\0';
  ad += std::to_string(version);
  return ad;
}

void bind_blob(sqlite3_stmt* s, int index, const std::string& value) {
  sqlite3_bind_blob(s, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

// Binds the order's columns; with a cipher the location goes sealed into
// `sealed`, which must live until the statement has run.
void bind_order(sqlite3_stmt* s, const order& o, const location_cipher* cipher,
                std::string& sealed);

void bind_order(sqlite3_stmt* s, const order& o) {
  bind_id(s, 1, o.id);
  bind_id(s, 2, o.user);
  sqlite3_bind_int(s, 3, to_code(o.status));
  sqlite3_bind_int64(s, 4, o.total_amount);
  sqlite3_bind_int64(s, 5, o.create_time);
  sqlite3_bind_int64(s, 6, o.update_time);
  bind_u64(s, 7, o.version);
  bind_id(s, 8, o.warehouse);
  bind_id(s, 9, o.rider);
  sqlite3_bind_double(s, 10, o.origin.lon);
  sqlite3_bind_double(s, 11, o.origin.lat);
  sqlite3_bind_double(s, 12, o.destination.lon);
  sqlite3_bind_double(s, 13, o.destination.lat);
  bind_text(s, 14, o.address);
  sqlite3_bind_int64(s, 15, o.promised_time);
  sqlite3_bind_int(s, 16, to_code(o.stage));
}

void bind_order(sqlite3_stmt* s, const order& o, const location_cipher* cipher,
                std::string& sealed) {
  bind_order(s, o);
  if (cipher == nullptr) return;
  std::string plain;
  plain.reserve(1 + 4 * 8 + o.address.size());
  plain += '\0';
  put_double(plain, o.origin.lon);
  put_double(plain, o.origin.lat);
  put_double(plain, o.destination.lon);
  put_double(plain, o.destination.lat);
  plain += o.address;
  sealed = cipher->seal(plain, row_binding("orders", o.id, o.version));
  for (int column = 10; column <= 13; ++column) sqlite3_bind_double(s, column, 0.0);
  bind_blob(s, 14, sealed);
}

void bind_record(sqlite3_stmt* s, const tracking_record& r);

void bind_record(sqlite3_stmt* s, const tracking_record& r, const location_cipher* cipher,
                 std::string& sealed) {
  bind_record(s, r);
  if (cipher == nullptr) return;
  std::string plain;
  plain.reserve(1 + 2 * 8 + r.address.size());
  plain += static_cast<char>(r.has_position ? kHasPosition : 0);
  put_double(plain, r.has_position ? r.position.lon : 0.0);
  put_double(plain, r.has_position ? r.position.lat : 0.0);
  plain += r.address;
  sealed = cipher->seal(plain, row_binding("order_tracking", r.order, r.version));
  sqlite3_bind_null(s, 4);
  sqlite3_bind_null(s, 5);
  bind_blob(s, 6, sealed);
}

void bind_record(sqlite3_stmt* s, const tracking_record& r) {
  bind_id(s, 1, r.record_id);
  bind_id(s, 2, r.order);
  sqlite3_bind_int(s, 3, to_code(r.status));
  if (r.has_position) {
    sqlite3_bind_double(s, 4, r.position.lon);
    sqlite3_bind_double(s, 5, r.position.lat);
  } else {
    sqlite3_bind_null(s, 4);
    sqlite3_bind_null(s, 5);
  }
  bind_text(s, 6, r.address);
  bind_id(s, 7, r.operator_id);
  sqlite3_bind_int(s, 8, to_code(r.op_type));
  sqlite3_bind_int64(s, 9, r.create_time);
  bind_u64(s, 10, r.version);
  bind_id(s, 11, r.source_event);
  sqlite3_bind_int(s, 12, static_cast<int>(r.kind));
  sqlite3_bind_int(s, 13, to_code(r.stage));
}

// Reading: a value that does not decode means the file was written by
// something else; that is a failure of the environment, not of the caller.
class row_reader {
 public:
  row_reader(sqlite3_stmt* s, const std::string& path, const location_cipher* cipher = nullptr)
      : s_(s), path_(path), cipher_(cipher) {}

  id read_id(int column) const {
    if (sqlite3_column_type(s_, column) == SQLITE_NULL) return {};
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s_, column));
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(s_, column));
    auto made = id::make(std::string_view(text, size));
    if (!made) bad(column);
    return *made;
  }
  std::string read_text(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s_, column));
    return text == nullptr ? std::string()
                           : std::string(text, static_cast<std::size_t>(
                                                   sqlite3_column_bytes(s_, column)));
  }
  std::int64_t read_int(int column) const { return sqlite3_column_int64(s_, column); }
  double read_double(int column) const { return sqlite3_column_double(s_, column); }
  bool is_null(int column) const { return sqlite3_column_type(s_, column) == SQLITE_NULL; }
  order_status read_status(int column) const {
    auto s = status_from_code(static_cast<int>(read_int(column)));
    if (!s) bad(column);
    return *s;
  }
  picking_stage read_stage(int column) const {
    const auto code = read_int(column);
    if (code == 0) return picking_stage::none;
    auto p = picking_stage_from_code(static_cast<int>(code));
    if (!p) bad(column);
    return *p;
  }

  order read_order() const {
    order o;
    o.id = read_id(0);
    o.user = read_id(1);
    o.status = read_status(2);
    o.total_amount = read_int(3);
    o.create_time = read_int(4);
    o.update_time = read_int(5);
    o.version = static_cast<std::uint64_t>(read_int(6));
    o.warehouse = read_id(7);
    o.rider = read_id(8);
    o.origin = {read_double(9), read_double(10)};
    o.destination = {read_double(11), read_double(12)};
    // The column's type is read before any conversion (SQLite's type is
    // undefined after sqlite3_column_text converted a BLOB).
    const bool sealed = is_sealed(13);
    if (!sealed) o.address = read_text(13);
    o.promised_time = read_int(14);
    o.stage = read_stage(15);
    if (sealed) {
      const std::string plain = unseal(13, "orders", o.id, o.version, 1 + 4 * 8);
      o.origin = {get_double(plain, 1), get_double(plain, 9)};
      o.destination = {get_double(plain, 17), get_double(plain, 25)};
      o.address = plain.substr(33);
    }
    return o;
  }

  tracking_record read_record() const {
    tracking_record r;
    r.record_id = read_id(0);
    r.order = read_id(1);
    r.status = read_status(2);
    r.has_position = !is_null(3);
    if (r.has_position) r.position = {read_double(3), read_double(4)};
    const bool sealed = is_sealed(5);
    if (!sealed) r.address = read_text(5);
    r.operator_id = read_id(6);
    auto op = operator_type_from_code(static_cast<int>(read_int(7)));
    if (!op) bad(7);
    r.op_type = *op;
    r.create_time = read_int(8);
    r.version = static_cast<std::uint64_t>(read_int(9));
    r.source_event = read_id(10);
    const auto kind = read_int(11);
    if (kind < 1 || kind > 5) bad(11);
    r.kind = static_cast<record_kind>(kind);
    r.stage = read_stage(12);
    if (sealed) {
      const std::string plain = unseal(5, "order_tracking", r.order, r.version, 1 + 2 * 8);
      r.has_position = (static_cast<std::uint8_t>(plain[0]) & kHasPosition) != 0;
      r.position = r.has_position ? geo_point{get_double(plain, 1), get_double(plain, 9)}
                                  : geo_point{};
      r.address = plain.substr(17);
    }
    return r;
  }

 private:
  bool is_sealed(int column) const { return sqlite3_column_type(s_, column) == SQLITE_BLOB; }

  // The plaintext of a sealed location column (at least `fixed` bytes), or
  // an exception naming the file, the column and the row: never garbage.
  std::string unseal(int column, const char* table, const id& order, std::uint64_t version,
                     std::size_t fixed) const {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(s_, column));
    const std::string_view envelope(
        data, data ? static_cast<std::size_t>(sqlite3_column_bytes(s_, column)) : 0);
    // Built only on failure: the message names file, column, row and key.
    const auto where = [&] {
      return "sqlite_storage '" + path_ + "': " + table + "." + sqlite3_column_name(s_, column) +
             " (longitude, latitude, address) of order " + std::string(order.view()) +
             " version " + std::to_string(version) + ", key id '" +
             location_cipher::key_id_of(envelope) + "'";
    };
    if (cipher_ == nullptr)
      throw error(errc::location_key_missing, where() + " (sqlite_options::location_encryption)");
    auto plain = cipher_->open(envelope, row_binding(table, order, version));
    if (!plain)
      throw error(plain.error(), where() + " (" + (plain.field() ? plain.field() : "envelope") + ")");
    if (plain->size() < fixed)
      throw error(errc::location_malformed, where() + ": the sealed location is too short");
    return std::move(*plain);
  }

  [[noreturn]] void bad(int column) const {
    throw error(errc::storage_io, "sqlite_storage '" + path_ + "': column " +
                                      sqlite3_column_name(s_, column) +
                                      " holds a value this library cannot read");
  }
  sqlite3_stmt* s_;
  const std::string& path_;
  const location_cipher* cipher_;
};

// Resets a statement (and its bindings) when a query is done with it.
struct stmt_reset {
  sqlite3_stmt* s;
  ~stmt_reset() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

// The queries a reader runs, prepared once per connection.
enum query : std::size_t {
  q_load_order,
  q_active_orders,
  q_recent_events,
  q_trajectory,
  q_records_since,
  q_orders_of_user,
  q_contains_event,
  q_record_count,
  q_order_count,
  q_count_
};

std::string query_sql(query q) {
  const std::string orders = std::string("SELECT ") + kOrderColumns + " FROM orders ";
  const std::string records = std::string("SELECT ") + kRecordColumns + " FROM order_tracking ";
  switch (q) {
    case q_load_order: return orders + "WHERE id = ?1";
    case q_active_orders: return orders + "WHERE status IN (1, 2, 3) ORDER BY id";
    case q_recent_events:
      return "SELECT DISTINCT source_event, order_id FROM order_tracking WHERE source_event IS NOT NULL "
             "AND (create_time >= ?1 OR order_id IN "
             "(SELECT id FROM orders WHERE status IN (1, 2, 3))) ORDER BY source_event, order_id";
    case q_trajectory: return records + "WHERE order_id = ?1 ORDER BY create_time, version";
    case q_records_since: return records + "WHERE order_id = ?1 AND version > ?2 ORDER BY version";
    case q_orders_of_user: return orders + "WHERE user_id = ?1 ORDER BY create_time DESC, id DESC";
    case q_contains_event: return "SELECT 1 FROM order_tracking WHERE source_event = ?1 LIMIT 1";
    case q_record_count: return "SELECT count(*) FROM order_tracking";
    case q_order_count: return "SELECT count(*) FROM orders";
    case q_count_: break;
  }
  return {};
}

struct connection {
  db_ptr db;
  std::array<stmt_ptr, q_count_> queries;

  sqlite3_stmt* get(query q, const std::string& path) {
    if (!queries[q]) queries[q] = prepare(db.get(), path, query_sql(q).c_str());
    return queries[q].get();
  }
};

}  // namespace

struct sqlite_storage::impl {
  std::string path;
  sqlite_options options;
  bool shared_connection = false;  // ":memory:": reads use the write connection

  std::mutex write_mutex;  // the write connection (and, when shared, reads)
  connection writer;
  stmt_ptr begin, commit, rollback, update_order, upsert_order, insert_record;
  std::string sealed;  // the envelope bound to the statement running (under write_mutex)

  std::mutex pool_mutex;
  std::vector<std::unique_ptr<connection>> idle_readers;

  // A connection for one read: from the pool, or the write connection under
  // its mutex when the database is in memory.
  class lease {
   public:
    explicit lease(impl& owner) : owner_(owner) {
      if (owner_.shared_connection) {
        lock_ = std::unique_lock(owner_.write_mutex);
        conn_ = &owner_.writer;
        return;
      }
      {
        std::lock_guard lock(owner_.pool_mutex);
        if (!owner_.idle_readers.empty()) {
          owned_ = std::move(owner_.idle_readers.back());
          owner_.idle_readers.pop_back();
        }
      }
      if (!owned_) {
        owned_ = std::make_unique<connection>();
        owned_->db = open_connection(owner_.path, owner_.options);
        exec(owned_->db.get(), owner_.path, "PRAGMA query_only = 1");
      }
      conn_ = owned_.get();
    }
    ~lease() {
      if (!owned_) return;
      std::lock_guard lock(owner_.pool_mutex);
      if (owner_.idle_readers.size() < owner_.options.max_read_connections)
        owner_.idle_readers.push_back(std::move(owned_));
    }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;

    sqlite3_stmt* get(query q) { return conn_->get(q, owner_.path); }
    sqlite3* db() { return conn_->db.get(); }

   private:
    impl& owner_;
    std::unique_lock<std::mutex> lock_;
    std::unique_ptr<connection> owned_;
    connection* conn_ = nullptr;
  };

  // Steps a prepared query to its end, calling `row` for each row.
  template <class F>
  void run(lease& l, sqlite3_stmt* s, F&& row) {
    stmt_reset reset{s};
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) return;
      if (rc != SQLITE_ROW) fail(path, std::string("query ") + sqlite3_sql(s), l.db());
      row(row_reader(s, path, options.location_encryption.get()));
    }
  }

  void step_done(sqlite3_stmt* s, const char* what) {
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) fail(path, what, writer.db.get());
  }

  void set_up_schema() {
    sqlite3* db = writer.db.get();
    // IMMEDIATE: two processes opening a new file do not both create it.
    exec(db, path, "BEGIN IMMEDIATE");
    try {
      const auto version = query_int(db, path, "PRAGMA user_version");
      if (version > kSqliteSchemaVersion) {
        throw error(errc::unsupported_schema_version,
                    "sqlite_storage '" + path + "': schema version " + std::to_string(version) +
                        " is newer than " + std::to_string(kSqliteSchemaVersion) +
                        ", the newest this library knows; use a newer xiaoxiang");
      }
      exec(db, path, kSchema);
      // Version 1 -> 2: the (order_id, create_time, version) index is gone.
      // A trajectory is read through (order_id, version) and sorted by
      // time, one order's records; the index cost every insert a random
      // page (docs/benchmarks.md, storage).
      if (version < 2) exec(db, path, "DROP INDEX IF EXISTS order_tracking_order_time");
      if (version < kSqliteSchemaVersion)
        exec(db, path,
             ("PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion)).c_str());
      exec(db, path, "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
};

sqlite_storage::sqlite_storage(const std::string& path, sqlite_options options)
    : impl_(std::make_unique<impl>()) {
  impl& s = *impl_;
  s.path = path;
  s.options = options;
  s.shared_connection = is_memory_path(path);
  s.writer.db = open_connection(path, options);
  sqlite3* db = s.writer.db.get();
  // Only takes effect on a new, empty file (before WAL mode is set).
  exec(db, path, ("PRAGMA page_size = " + std::to_string(options.page_size_bytes)).c_str());
  if (!s.shared_connection) {
    // WAL: readers never block the writer nor the writer them.
    stmt_ptr mode = prepare(db, path, "PRAGMA journal_mode = WAL");
    if (sqlite3_step(mode.get()) != SQLITE_ROW) fail(path, "PRAGMA journal_mode = WAL", db);
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(mode.get(), 0));
    if (text == nullptr || std::string_view(text) != "wal")
      throw error(errc::storage_io, "sqlite_storage '" + path + "': cannot switch to WAL mode");
  }
  exec(db, path, options.synchronous_full ? "PRAGMA synchronous = FULL"
                                          : "PRAGMA synchronous = NORMAL");
  exec(db, path, ("PRAGMA cache_size = -" + std::to_string(options.cache_size_kib)).c_str());
  exec(db, path, "PRAGMA temp_store = MEMORY");
  // Pages read through a mapping rather than a pread() each: on a VM a
  // system call costs more than the copy.
  exec(db, path, ("PRAGMA mmap_size = " + std::to_string(options.mmap_size_bytes)).c_str());
  exec(db, path, ("PRAGMA wal_autocheckpoint = " +
                  std::to_string(options.wal_autocheckpoint_pages)).c_str());
  s.set_up_schema();
  s.begin = prepare(db, path, "BEGIN IMMEDIATE");
  s.commit = prepare(db, path, "COMMIT");
  s.rollback = prepare(db, path, "ROLLBACK");
  s.update_order = prepare(db, path, kUpdateOrder);
  s.upsert_order = prepare(db, path, kUpsertOrder);
  s.insert_record = prepare(db, path, kInsertRecord);
}

sqlite_storage::~sqlite_storage() = default;

const std::string& sqlite_storage::path() const noexcept { return impl_->path; }

void sqlite_storage::commit(const write_batch& batch) {
  if (batch.empty()) return;
  impl& s = *impl_;
  std::lock_guard lock(s.write_mutex);
  s.step_done(s.begin.get(), "BEGIN IMMEDIATE");
  try {
    // Orders first, so that a host that turns on foreign keys is satisfied.
    for (const auto& o : batch.orders) {
      const location_cipher* cipher = s.options.location_encryption.get();
      bind_order(s.update_order.get(), o, cipher, s.sealed);
      s.step_done(s.update_order.get(), "update orders");
      if (sqlite3_changes(s.writer.db.get()) == 1) continue;
      bind_order(s.upsert_order.get(), o, cipher, s.sealed);
      s.step_done(s.upsert_order.get(), "upsert into orders");
    }
    for (const auto& r : batch.records) {
      bind_record(s.insert_record.get(), r, s.options.location_encryption.get(), s.sealed);
      s.step_done(s.insert_record.get(), "insert into order_tracking");
    }
    s.step_done(s.commit.get(), "COMMIT");
  } catch (...) {
    // A failed COMMIT may have rolled back already; ROLLBACK then just fails.
    if (!sqlite3_get_autocommit(s.writer.db.get())) {
      sqlite3_step(s.rollback.get());
      sqlite3_reset(s.rollback.get());
    }
    throw;
  }
}

std::optional<order> sqlite_storage::load_order(const order_id& id) {
  impl::lease l(*impl_);
  sqlite3_stmt* q = l.get(q_load_order);
  bind_id(q, 1, id);
  std::optional<order> out;
  impl_->run(l, q, [&](const row_reader& row) { out = row.read_order(); });
  return out;
}

recovery_state sqlite_storage::recover(timestamp_ms since) {
  impl::lease l(*impl_);
  recovery_state out;
  // One read transaction: the orders and the events are the same snapshot.
  exec(l.db(), impl_->path, "BEGIN");
  try {
    impl_->run(l, l.get(q_active_orders),
               [&](const row_reader& row) { out.active_orders.push_back(row.read_order()); });
    sqlite3_stmt* q = l.get(q_recent_events);
    sqlite3_bind_int64(q, 1, since);
    impl_->run(l, q,
               [&](const row_reader& row) { out.recent_event_orders.emplace_back(row.read_id(0), row.read_id(1)); });
    exec(l.db(), impl_->path, "COMMIT");
  } catch (...) {
    sqlite3_exec(l.db(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  finish_recovery(out);
  return out;
}

std::vector<tracking_record> sqlite_storage::trajectory(const order_id& id) {
  impl::lease l(*impl_);
  sqlite3_stmt* q = l.get(q_trajectory);
  bind_id(q, 1, id);
  std::vector<tracking_record> out;
  impl_->run(l, q, [&](const row_reader& row) { out.push_back(row.read_record()); });
  return out;
}

std::vector<tracking_record> sqlite_storage::records_since(const order_id& id,
                                                           std::uint64_t version) {
  impl::lease l(*impl_);
  sqlite3_stmt* q = l.get(q_records_since);
  bind_id(q, 1, id);
  bind_u64(q, 2, version);
  std::vector<tracking_record> out;
  impl_->run(l, q, [&](const row_reader& row) { out.push_back(row.read_record()); });
  return out;
}

std::vector<order> sqlite_storage::orders_of_user(const user_id& user) {
  impl::lease l(*impl_);
  sqlite3_stmt* q = l.get(q_orders_of_user);
  bind_id(q, 1, user);
  std::vector<order> out;
  impl_->run(l, q, [&](const row_reader& row) { out.push_back(row.read_order()); });
  return out;
}

bool sqlite_storage::contains_event(const event_id& event) {
  impl::lease l(*impl_);
  sqlite3_stmt* q = l.get(q_contains_event);
  bind_id(q, 1, event);
  bool found = false;
  impl_->run(l, q, [&](const row_reader&) { found = true; });
  return found;
}

std::size_t sqlite_storage::record_count() {
  impl::lease l(*impl_);
  std::size_t n = 0;
  impl_->run(l, l.get(q_record_count),
             [&](const row_reader& row) { n = static_cast<std::size_t>(row.read_int(0)); });
  return n;
}

std::size_t sqlite_storage::order_count() {
  impl::lease l(*impl_);
  std::size_t n = 0;
  impl_->run(l, l.get(q_order_count),
             [&](const row_reader& row) { n = static_cast<std::size_t>(row.read_int(0)); });
  return n;
}

}  // namespace xiaoxiang
