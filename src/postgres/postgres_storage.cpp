#include "xiaoxiang/postgres/postgres_storage.hpp"

#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "xiaoxiang/core/error.hpp"

namespace xiaoxiang {
namespace {

// Ids compare bytewise (COLLATE "C"), as everywhere else in the library, so
// that ORDER BY id agrees with id's operator< whatever the database's locale.
// Times are ms since the epoch (UTC); total_amount is the article's
// DECIMAL(10,2), exact (max_amount_cents fits); coordinates are float8,
// which round-trips a double exactly. No foreign key from order_tracking to
// orders: the write-behind writer may store a record before its order row
// (SQLite declares the key but does not enforce it either).
std::string schema_sql(int partitions) {
  std::string sql = R"sql(
CREATE TABLE orders(
  id              varchar(32) COLLATE "C" NOT NULL,
  user_id         varchar(32) COLLATE "C" NOT NULL,
  status          smallint NOT NULL CHECK (status BETWEEN 1 AND 5),
  total_amount    numeric(10,2) NOT NULL,
  create_time     bigint NOT NULL,
  update_time     bigint NOT NULL,
  version         bigint NOT NULL,
  warehouse_id    varchar(32) COLLATE "C",
  rider_id        varchar(32) COLLATE "C",
  origin_lon      float8 NOT NULL,
  origin_lat      float8 NOT NULL,
  destination_lon float8 NOT NULL,
  destination_lat float8 NOT NULL,
  address         text NOT NULL,
  promised_time   bigint NOT NULL,
  picking_stage   smallint NOT NULL,
  PRIMARY KEY (id)
) PARTITION BY HASH (id);
CREATE INDEX orders_user_time ON orders(user_id, create_time);
CREATE TABLE order_tracking(
  id            varchar(32) COLLATE "C" NOT NULL,
  order_id      varchar(32) COLLATE "C" NOT NULL,
  status        smallint NOT NULL CHECK (status BETWEEN 1 AND 5),
  longitude     float8,
  latitude      float8,
  address       varchar(255) NOT NULL,
  operator_id   varchar(32) COLLATE "C",
  operator_type smallint NOT NULL CHECK (operator_type BETWEEN 0 AND 2),
  create_time   bigint NOT NULL,
  version       bigint NOT NULL,
  source_event  varchar(32) COLLATE "C",
  kind          smallint NOT NULL,
  stage         smallint NOT NULL,
  PRIMARY KEY (order_id, id),
  CONSTRAINT order_tracking_order_version UNIQUE (order_id, version)
) PARTITION BY HASH (order_id);
CREATE INDEX order_tracking_source_event ON order_tracking(source_event);
CREATE INDEX order_tracking_order_time ON order_tracking(order_id, create_time, version);
)sql";
  const std::string n = std::to_string(partitions);
  for (int i = 0; i < partitions; ++i) {
    const std::string r = std::to_string(i);
    sql += "CREATE TABLE orders_p" + r + " PARTITION OF orders FOR VALUES WITH (MODULUS " + n +
           ", REMAINDER " + r + ");\n";
    sql += "CREATE TABLE order_tracking_p" + r +
           " PARTITION OF order_tracking FOR VALUES WITH (MODULUS " + n + ", REMAINDER " + r +
           ");\n";
  }
  sql += "CREATE TABLE xiaoxiang_meta(key text PRIMARY KEY, value text NOT NULL);\n";
  sql += "INSERT INTO xiaoxiang_meta VALUES ('schema_version', '" +
         std::to_string(kPostgresSchemaVersion) + "'), ('partitions', '" + n + "');\n";
  return sql;
}

constexpr const char* kOrderColumns =
    "id, user_id, status, total_amount, create_time, update_time, version, warehouse_id, "
    "rider_id, origin_lon, origin_lat, destination_lon, destination_lat, address, "
    "promised_time, picking_stage";

constexpr const char* kRecordColumns =
    "id, order_id, status, longitude, latitude, address, operator_id, operator_type, "
    "create_time, version, source_event, kind, stage";

// The batch's orders go to a staging table by COPY, then into `orders` in one
// statement that never replaces a stored newer version.
constexpr const char* kUpsertOrders =
    "INSERT INTO orders AS o SELECT * FROM orders_stage ON CONFLICT (id) DO UPDATE SET "
    "user_id = excluded.user_id, status = excluded.status, "
    "total_amount = excluded.total_amount, create_time = excluded.create_time, "
    "update_time = excluded.update_time, version = excluded.version, "
    "warehouse_id = excluded.warehouse_id, rider_id = excluded.rider_id, "
    "origin_lon = excluded.origin_lon, origin_lat = excluded.origin_lat, "
    "destination_lon = excluded.destination_lon, destination_lat = excluded.destination_lat, "
    "address = excluded.address, promised_time = excluded.promised_time, "
    "picking_stage = excluded.picking_stage WHERE excluded.version >= o.version";

struct conn_closer {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct result_clearer {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_closer>;
using result_ptr = std::unique_ptr<PGresult, result_clearer>;

// "host=... port=... dbname=...": what messages name (never the password).
std::string describe_conninfo(const std::string& conninfo, const std::string& schema) {
  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &message);
  if (options == nullptr) {
    std::string text = message != nullptr ? message : "cannot parse";
    PQfreemem(message);
    throw error(errc::storage_io, "postgres_storage: bad conninfo: " + text);
  }
  std::string out;
  for (const char* key : {"host", "hostaddr", "port", "dbname", "user"}) {
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (std::strcmp(o->keyword, key) != 0 || o->val == nullptr || *o->val == '\0') continue;
      if (!out.empty()) out += ' ';
      out += std::string(key) + "=" + o->val;
    }
  }
  PQconninfoFree(options);
  if (!out.empty()) out += ' ';
  return out + "schema=" + schema;
}

std::string sqlstate_of(const PGresult* r) {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return state != nullptr ? state : "";
}

// Text after the last newline is noise; libpq messages end with one.
std::string trimmed(const char* text) {
  std::string s = text != nullptr ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

[[noreturn]] void fail(const std::string& where, const std::string& what, PGconn* c,
                       const PGresult* r = nullptr) {
  std::string message = "postgres_storage '" + where + "': " + what;
  const std::string state = sqlstate_of(r);
  if (!state.empty()) message += ": SQLSTATE " + state;
  const std::string detail =
      trimmed(r != nullptr ? PQresultErrorMessage(r) : (c != nullptr ? PQerrorMessage(c) : ""));
  if (!detail.empty()) message += ": " + detail;
  else if (c != nullptr) {
    const std::string conn = trimmed(PQerrorMessage(c));
    if (!conn.empty()) message += ": " + conn;
  }
  throw error(errc::storage_io, message);
}

// Runs SQL that returns no rows (or rows nobody reads).
void exec(PGconn* c, const std::string& where, const std::string& sql) {
  result_ptr r(PQexec(c, sql.c_str()));
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(where, sql, c, r.get());
}

result_ptr query(PGconn* c, const std::string& where, const std::string& sql) {
  result_ptr r(PQexec(c, sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) fail(where, sql, c, r.get());
  return r;
}

// "name" with inner quotes doubled: a schema name as an SQL identifier.
std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (const char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + '"';
}

// What every connection's session needs: UTF-8 and the schema.
void set_up_session(PGconn* c, const std::string& where, const std::string& search_path) {
  if (PQsetClientEncoding(c, "UTF8") != 0) fail(where, "cannot set client_encoding UTF8", c);
  // NOTICEs ("schema exists, skipping") are not for the host's stderr.
  exec(c, where, "SET client_min_messages TO warning; SET search_path TO " + search_path);
}

conn_ptr connect(const std::string& conninfo, const std::string& where,
                 const std::string& search_path) {
  conn_ptr c(PQconnectdb(conninfo.c_str()));
  if (!c) throw error(errc::storage_io, "postgres_storage '" + where + "': out of memory");
  if (PQstatus(c.get()) != CONNECTION_OK) fail(where, "cannot connect", c.get());
  set_up_session(c.get(), where, search_path);
  return c;
}

// --- COPY text format -------------------------------------------------------

void put_null(std::string& out) { out += "\\N"; }

void put_id(std::string& out, const id& value) {
  // An id's characters ([A-Za-z0-9_.:-]) need no escaping.
  if (value.empty()) put_null(out);
  else out += value.view();
}

void put_text(std::string& out, std::string_view text) {
  for (const char ch : text) {
    switch (ch) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += ch;
    }
  }
}

template <class T>
void put_number(std::string& out, T value) {
  std::array<char, 32> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), end);
}

// Cents as DECIMAL text: 2350 -> "23.50", -5 -> "-0.05".
void put_cents(std::string& out, std::int64_t cents) {
  std::uint64_t magnitude = cents < 0 ? 0 - static_cast<std::uint64_t>(cents)
                                      : static_cast<std::uint64_t>(cents);
  if (cents < 0) out += '-';
  put_number(out, magnitude / 100);
  out += '.';
  out += static_cast<char>('0' + magnitude % 100 / 10);
  out += static_cast<char>('0' + magnitude % 10);
}

void put_order(std::string& out, const order& o) {
  put_id(out, o.id); out += '\t';
  put_id(out, o.user); out += '\t';
  put_number(out, to_code(o.status)); out += '\t';
  put_cents(out, o.total_amount); out += '\t';
  put_number(out, o.create_time); out += '\t';
  put_number(out, o.update_time); out += '\t';
  put_number(out, static_cast<std::int64_t>(o.version)); out += '\t';
  put_id(out, o.warehouse); out += '\t';
  put_id(out, o.rider); out += '\t';
  put_number(out, o.origin.lon); out += '\t';
  put_number(out, o.origin.lat); out += '\t';
  put_number(out, o.destination.lon); out += '\t';
  put_number(out, o.destination.lat); out += '\t';
  put_text(out, o.address); out += '\t';
  put_number(out, o.promised_time); out += '\t';
  put_number(out, to_code(o.stage)); out += '\n';
}

void put_record(std::string& out, const tracking_record& r) {
  put_id(out, r.record_id); out += '\t';
  put_id(out, r.order); out += '\t';
  put_number(out, to_code(r.status)); out += '\t';
  if (r.has_position) {
    put_number(out, r.position.lon); out += '\t';
    put_number(out, r.position.lat); out += '\t';
  } else {
    put_null(out); out += '\t';
    put_null(out); out += '\t';
  }
  put_text(out, r.address); out += '\t';
  put_id(out, r.operator_id); out += '\t';
  put_number(out, to_code(r.op_type)); out += '\t';
  put_number(out, r.create_time); out += '\t';
  put_number(out, static_cast<std::int64_t>(r.version)); out += '\t';
  put_id(out, r.source_event); out += '\t';
  put_number(out, static_cast<int>(r.kind)); out += '\t';
  put_number(out, to_code(r.stage)); out += '\n';
}

// --- reading text results -----------------------------------------------------

// A value that does not decode means the tables were written by something
// else: a failure of the environment, not of the caller.
class row_reader {
 public:
  row_reader(const PGresult* r, int row, const std::string& where)
      : r_(r), row_(row), where_(where) {}

  bool is_null(int column) const { return PQgetisnull(r_, row_, column) != 0; }
  std::string_view text(int column) const {
    return {PQgetvalue(r_, row_, column), static_cast<std::size_t>(PQgetlength(r_, row_, column))};
  }
  id read_id(int column) const {
    if (is_null(column)) return {};
    auto made = id::make(text(column));
    if (!made) bad(column);
    return *made;
  }
  template <class T>
  T read_number(int column) const {
    const auto t = text(column);
    T value{};
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (ec != std::errc() || end != t.data() + t.size()) bad(column);
    return value;
  }
  std::int64_t read_int(int column) const { return read_number<std::int64_t>(column); }
  double read_double(int column) const { return read_number<double>(column); }
  std::int64_t read_cents(int column) const {
    auto t = text(column);
    const bool negative = !t.empty() && t.front() == '-';
    if (negative) t.remove_prefix(1);
    const auto dot = t.find('.');
    std::int64_t whole = 0, fraction = 0;
    const auto whole_text = t.substr(0, dot);
    auto [end, ec] = std::from_chars(whole_text.data(), whole_text.data() + whole_text.size(), whole);
    if (ec != std::errc() || end != whole_text.data() + whole_text.size()) bad(column);
    if (dot != std::string_view::npos) {
      const auto f = t.substr(dot + 1);
      if (f.size() != 2 || f[0] < '0' || f[0] > '9' || f[1] < '0' || f[1] > '9') bad(column);
      fraction = (f[0] - '0') * 10 + (f[1] - '0');
    }
    const std::int64_t cents = whole * 100 + fraction;
    return negative ? -cents : cents;
  }
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
    o.total_amount = read_cents(3);
    o.create_time = read_int(4);
    o.update_time = read_int(5);
    o.version = static_cast<std::uint64_t>(read_int(6));
    o.warehouse = read_id(7);
    o.rider = read_id(8);
    o.origin = {read_double(9), read_double(10)};
    o.destination = {read_double(11), read_double(12)};
    o.address = std::string(text(13));
    o.promised_time = read_int(14);
    o.stage = read_stage(15);
    return o;
  }

  tracking_record read_record() const {
    tracking_record r;
    r.record_id = read_id(0);
    r.order = read_id(1);
    r.status = read_status(2);
    r.has_position = !is_null(3);
    if (r.has_position) r.position = {read_double(3), read_double(4)};
    r.address = std::string(text(5));
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
    return r;
  }

 private:
  [[noreturn]] void bad(int column) const {
    throw error(errc::storage_io, "postgres_storage '" + where_ + "': column " +
                                      PQfname(r_, column) +
                                      " holds a value this library cannot read");
  }
  const PGresult* r_;
  int row_;
  const std::string& where_;
};

// The queries a reader runs, prepared once per connection.
enum query_id : std::size_t {
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

std::string query_sql(query_id q) {
  const std::string orders = std::string("SELECT ") + kOrderColumns + " FROM orders ";
  const std::string records = std::string("SELECT ") + kRecordColumns + " FROM order_tracking ";
  switch (q) {
    case q_load_order: return orders + "WHERE id = $1";
    case q_active_orders: return orders + "WHERE status IN (1, 2, 3) ORDER BY id";
    case q_recent_events:
      return "SELECT DISTINCT source_event, order_id FROM order_tracking WHERE source_event IS NOT NULL "
             "AND (create_time >= $1 OR order_id IN "
             "(SELECT id FROM orders WHERE status IN (1, 2, 3))) ORDER BY source_event, order_id";
    case q_trajectory: return records + "WHERE order_id = $1 ORDER BY create_time, version";
    case q_records_since: return records + "WHERE order_id = $1 AND version > $2 ORDER BY version";
    case q_orders_of_user: return orders + "WHERE user_id = $1 ORDER BY create_time DESC, id DESC";
    case q_contains_event: return "SELECT 1 FROM order_tracking WHERE source_event = $1 LIMIT 1";
    case q_record_count: return "SELECT count(*) FROM order_tracking";
    case q_order_count: return "SELECT count(*) FROM orders";
    case q_count_: break;
  }
  return {};
}

struct read_connection {
  conn_ptr conn;
  std::array<bool, q_count_> prepared{};
};

}  // namespace

struct postgres_storage::impl {
  std::string conninfo;
  postgres_options options;
  std::string where;        // describe()
  std::string search_path;  // the quoted schema
  int partitions = 0;

  std::mutex write_mutex;
  conn_ptr writer;
  std::string copy_buffer;  // reused by every commit
  std::vector<std::size_t> keep;
  std::unordered_map<order_id, std::size_t> newest;

  std::mutex pool_mutex;
  std::vector<std::unique_ptr<read_connection>> idle_readers;

  // A connection for one read, from the pool or new; a connection that
  // failed is dropped rather than returned.
  class lease {
   public:
    explicit lease(impl& owner) : owner_(owner) {
      {
        std::lock_guard lock(owner_.pool_mutex);
        if (!owner_.idle_readers.empty()) {
          conn_ = std::move(owner_.idle_readers.back());
          owner_.idle_readers.pop_back();
        }
      }
      if (!conn_) {
        conn_ = std::make_unique<read_connection>();
        conn_->conn = connect(owner_.conninfo, owner_.where, owner_.search_path);
      }
    }
    ~lease() {
      if (PQstatus(conn_->conn.get()) != CONNECTION_OK ||
          PQtransactionStatus(conn_->conn.get()) != PQTRANS_IDLE)
        return;
      std::lock_guard lock(owner_.pool_mutex);
      if (owner_.idle_readers.size() < owner_.options.max_read_connections)
        owner_.idle_readers.push_back(std::move(conn_));
    }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;

    PGconn* get() { return conn_->conn.get(); }

    // Runs prepared query `q` with text parameters, calling `row` per row.
    template <class F>
    void run(query_id q, std::initializer_list<std::string_view> params, F&& row) {
      PGconn* c = get();
      const std::string name = "q" + std::to_string(static_cast<std::size_t>(q));
      if (!conn_->prepared[q]) {
        const std::string sql = query_sql(q);
        result_ptr p(PQprepare(c, name.c_str(), sql.c_str(), 0, nullptr));
        if (PQresultStatus(p.get()) != PGRES_COMMAND_OK) fail(owner_.where, "prepare " + sql, c, p.get());
        conn_->prepared[q] = true;
      }
      std::array<std::string, 2> copies;
      std::array<const char*, 2> values{};
      std::size_t n = 0;
      for (const auto p : params) {
        copies[n] = std::string(p);
        values[n] = copies[n].c_str();
        ++n;
      }
      result_ptr r(PQexecPrepared(c, name.c_str(), static_cast<int>(n), values.data(), nullptr,
                                  nullptr, 0));
      if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) fail(owner_.where, query_sql(q), c, r.get());
      const int rows = PQntuples(r.get());
      for (int i = 0; i < rows; ++i) row(row_reader(r.get(), i, owner_.where));
    }

   private:
    impl& owner_;
    std::unique_ptr<read_connection> conn_;
  };

  // The write connection's session: search path, durability, the staging
  // table and the prepared upsert. Run again after a reconnect.
  void set_up_writer_session() {
    PGconn* c = writer.get();
    exec(c, where, options.synchronous_commit ? "SET synchronous_commit = on"
                                              : "SET synchronous_commit = off");
    exec(c, where,
         "CREATE TEMP TABLE IF NOT EXISTS orders_stage (LIKE orders) ON COMMIT DELETE ROWS");
    result_ptr p(PQprepare(c, "upsert_orders", kUpsertOrders, 0, nullptr));
    if (PQresultStatus(p.get()) != PGRES_COMMAND_OK)
      fail(where, std::string("prepare ") + kUpsertOrders, c, p.get());
  }

  void set_up_schema() {
    PGconn* c = writer.get();
    exec(c, where, "BEGIN");
    try {
      // Two processes opening a new schema at once: one creates it.
      char* literal = PQescapeLiteral(c, options.schema.data(), options.schema.size());
      if (literal == nullptr) fail(where, "cannot quote schema name", c);
      const std::string schema_literal(literal);
      PQfreemem(literal);
      exec(c, where, "SELECT pg_advisory_xact_lock(hashtext('xiaoxiang:' || " + schema_literal + "))");
      exec(c, where, "CREATE SCHEMA IF NOT EXISTS " + search_path);
      const auto exists = query(c, where, "SELECT to_regclass('xiaoxiang_meta') IS NOT NULL");
      if (std::string_view(PQgetvalue(exists.get(), 0, 0)) == "t") {
        const auto meta = query(c, where, "SELECT key, value FROM xiaoxiang_meta");
        int version = 0;
        for (int i = 0; i < PQntuples(meta.get()); ++i) {
          const std::string key = PQgetvalue(meta.get(), i, 0);
          const int value = std::atoi(PQgetvalue(meta.get(), i, 1));
          if (key == "schema_version") version = value;
          if (key == "partitions") partitions = value;
        }
        if (version > kPostgresSchemaVersion)
          throw error(errc::unsupported_schema_version,
                      "postgres_storage '" + where + "': schema version " +
                          std::to_string(version) + " is newer than " +
                          std::to_string(kPostgresSchemaVersion) +
                          ", the newest this library knows; use a newer xiaoxiang");
      } else {
        exec(c, where, schema_sql(options.partitions));
        partitions = options.partitions;
      }
      exec(c, where, "COMMIT");
    } catch (...) {
      result_ptr ignored(PQexec(c, "ROLLBACK"));
      throw;
    }
  }

  // Sends `copy_buffer` as the data of COPY `sql` FROM STDIN.
  void copy_in(const char* sql) {
    PGconn* c = writer.get();
    {
      result_ptr r(PQexec(c, sql));
      if (PQresultStatus(r.get()) != PGRES_COPY_IN) fail(where, sql, c, r.get());
    }
    if (PQputCopyData(c, copy_buffer.data(), static_cast<int>(copy_buffer.size())) != 1 ||
        PQputCopyEnd(c, nullptr) != 1)
      fail(where, sql, c);
    result_ptr r(PQgetResult(c));
    const bool ok = PQresultStatus(r.get()) == PGRES_COMMAND_OK;
    // Drain: COPY ends with exactly one result, then null.
    while (result_ptr more{PQgetResult(c)}) {}
    if (!ok) fail(where, sql, c, r.get());
  }
};

postgres_storage::postgres_storage(const std::string& conninfo, postgres_options options)
    : impl_(std::make_unique<impl>()) {
  impl& s = *impl_;
  s.conninfo = conninfo;
  s.options = std::move(options);
  s.where = describe_conninfo(conninfo, s.options.schema);
  if (s.options.partitions < 1 || s.options.partitions > 1024)
    throw error(errc::invalid_field, "postgres_storage '" + s.where + "': partitions " +
                                         std::to_string(s.options.partitions) +
                                         " is outside 1..1024");
  if (s.options.schema.empty())
    throw error(errc::invalid_field, "postgres_storage '" + s.where + "': schema is empty");
  s.search_path = quote_identifier(s.options.schema);
  s.writer = connect(conninfo, s.where, s.search_path);
  s.set_up_schema();
  s.set_up_writer_session();
}

postgres_storage::~postgres_storage() = default;

int postgres_storage::partitions() const noexcept { return impl_->partitions; }

const std::string& postgres_storage::describe() const noexcept { return impl_->where; }

void postgres_storage::commit(const write_batch& batch) {
  if (batch.empty()) return;
  impl& s = *impl_;
  std::lock_guard lock(s.write_mutex);
  PGconn* c = s.writer.get();
  if (PQstatus(c) != CONNECTION_OK) {
    // The server restarted or the network dropped since the last commit.
    PQreset(c);
    if (PQstatus(c) != CONNECTION_OK) fail(s.where, "cannot reconnect", c);
    set_up_session(c, s.where, s.search_path);
    s.set_up_writer_session();
  }
  exec(c, s.where, "BEGIN");
  try {
    if (!batch.orders.empty()) {
      // One row per order: the last of its highest version, which is what
      // applying the upserts one by one would leave (ON CONFLICT may not
      // touch a row twice in one statement).
      s.newest.clear();
      s.keep.clear();
      for (std::size_t i = 0; i < batch.orders.size(); ++i) {
        const auto [it, fresh] = s.newest.try_emplace(batch.orders[i].id, i);
        if (!fresh && batch.orders[i].version >= batch.orders[it->second].version)
          it->second = i;
      }
      for (std::size_t i = 0; i < batch.orders.size(); ++i)
        if (s.newest[batch.orders[i].id] == i) s.keep.push_back(i);
      s.copy_buffer.clear();
      for (const auto i : s.keep) put_order(s.copy_buffer, batch.orders[i]);
      s.copy_in("COPY orders_stage FROM STDIN");
      result_ptr r(PQexecPrepared(c, "upsert_orders", 0, nullptr, nullptr, nullptr, 0));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) fail(s.where, "upsert orders", c, r.get());
    }
    if (!batch.records.empty()) {
      s.copy_buffer.clear();
      for (const auto& r : batch.records) put_record(s.copy_buffer, r);
      s.copy_in((std::string("COPY order_tracking (") + kRecordColumns + ") FROM STDIN").c_str());
    }
    exec(c, s.where, "COMMIT");
  } catch (...) {
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
      result_ptr ignored(PQexec(c, "ROLLBACK"));
    }
    throw;
  }
}

std::optional<order> postgres_storage::load_order(const order_id& id) {
  impl::lease l(*impl_);
  std::optional<order> out;
  l.run(q_load_order, {id.view()}, [&](const row_reader& row) { out = row.read_order(); });
  return out;
}

recovery_state postgres_storage::recover(timestamp_ms since) {
  impl::lease l(*impl_);
  recovery_state out;
  // One snapshot: the orders and the events agree.
  exec(l.get(), impl_->where, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    l.run(q_active_orders, {},
          [&](const row_reader& row) { out.active_orders.push_back(row.read_order()); });
    const std::string from = std::to_string(since);
    l.run(q_recent_events, {from},
          [&](const row_reader& row) { out.recent_event_orders.emplace_back(row.read_id(0), row.read_id(1)); });
    exec(l.get(), impl_->where, "COMMIT");
  } catch (...) {
    if (PQstatus(l.get()) == CONNECTION_OK) {
      result_ptr ignored(PQexec(l.get(), "ROLLBACK"));
    }
    throw;
  }
  finish_recovery(out);
  return out;
}

std::vector<tracking_record> postgres_storage::trajectory(const order_id& id) {
  impl::lease l(*impl_);
  std::vector<tracking_record> out;
  l.run(q_trajectory, {id.view()}, [&](const row_reader& row) { out.push_back(row.read_record()); });
  return out;
}

std::vector<tracking_record> postgres_storage::records_since(const order_id& id,
                                                             std::uint64_t version) {
  impl::lease l(*impl_);
  std::vector<tracking_record> out;
  const std::string v = std::to_string(static_cast<std::int64_t>(version));
  l.run(q_records_since, {id.view(), v},
        [&](const row_reader& row) { out.push_back(row.read_record()); });
  return out;
}

std::vector<order> postgres_storage::orders_of_user(const user_id& user) {
  impl::lease l(*impl_);
  std::vector<order> out;
  l.run(q_orders_of_user, {user.view()},
        [&](const row_reader& row) { out.push_back(row.read_order()); });
  return out;
}

bool postgres_storage::contains_event(const event_id& event) {
  impl::lease l(*impl_);
  bool found = false;
  l.run(q_contains_event, {event.view()}, [&](const row_reader&) { found = true; });
  return found;
}

std::size_t postgres_storage::record_count() {
  impl::lease l(*impl_);
  std::size_t n = 0;
  l.run(q_record_count, {},
        [&](const row_reader& row) { n = static_cast<std::size_t>(row.read_int(0)); });
  return n;
}

std::size_t postgres_storage::order_count() {
  impl::lease l(*impl_);
  std::size_t n = 0;
  l.run(q_order_count, {},
        [&](const row_reader& row) { n = static_cast<std::size_t>(row.read_int(0)); });
  return n;
}

}  // namespace xiaoxiang
