// Tracking records persisted per second through write_behind into
// PostgreSQL (postgres_storage: COPY batches into hash-partitioned tables)
// side by side with SQLite, the embedded default, in the same binary; and
// the naive baseline of one PostgreSQL transaction per event. Each write is
// what a rider position produces: one tracking record plus the order's
// upsert.
//
// The server: $XIAOXIANG_PG_CONNINFO if set, else one this program starts
// with scripts/pg-server.sh (fsync on: XIAOXIANG_PG_DURABLE=1) in a
// temporary folder and stops at exit. Without either, the PostgreSQL
// benchmarks are skipped with the reason; the SQLite ones still run.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "xiaoxiang/postgres/postgres_storage.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/storage/write_behind.hpp"

namespace {

using namespace xiaoxiang;

std::string g_conninfo;  // empty: no server (g_problem says why)
std::string g_problem;
std::string g_own_dir;   // the server this program started, if any

// A stream of rider positions over `orders` delivering orders.
class position_stream {
 public:
  explicit position_stream(std::size_t orders) : versions_(orders, 0) {
    for (std::size_t i = 0; i < orders; ++i) {
      order o;
      o.id = *id::make("order-" + std::to_string(i));
      o.user = *id::make("user-" + std::to_string(i % 9973));
      o.warehouse = *id::make("wh-7");
      o.rider = *id::make("rider-" + std::to_string(i / 3));
      o.status = order_status::delivering;
      o.total_amount = 4590;
      o.create_time = 1'764'000'000'000;
      o.origin = {116.40, 39.90};
      o.destination = {116.42, 39.93};
      o.address = "北京市朝阳区望京街道 8 号院 3 号楼";
      o.promised_time = o.create_time + 1'800'000;
      templates_.push_back(o);
    }
    record_.kind = record_kind::position;
    record_.status = order_status::delivering;
    record_.has_position = true;
    record_.op_type = operator_type::rider;
  }

  // The next position: a random order gets version + 1.
  void next() {
    const std::size_t i = rng_() % templates_.size();
    order& o = templates_[i];
    o.version = ++versions_[i];
    o.update_time = o.create_time + static_cast<timestamp_ms>(o.version) * 15'000;
    record_.order = o.id;
    record_.version = o.version;
    record_.record_id = make_record_id(o.id, o.version);
    record_.operator_id = o.rider;
    record_.create_time = o.update_time;
    record_.position = {116.40 + 1e-5 * static_cast<double>(o.version % 997), 39.91};
    char text[24];
    const int n = std::snprintf(text, sizeof text, "pos-%llu",
                                static_cast<unsigned long long>(++event_));
    record_.source_event = *id::make(std::string_view(text, static_cast<std::size_t>(n)));
    current_ = &o;
  }
  const tracking_record& record() const { return record_; }
  const order& latest() const { return *current_; }

 private:
  std::vector<std::uint64_t> versions_;
  std::vector<order> templates_;
  tracking_record record_;
  const order* current_ = nullptr;
  std::mt19937_64 rng_{42};
  std::uint64_t event_ = 0;
};

// Pushes `records` positions through a write_behind into `target` and
// flushes. Returns the seconds from the first reserve to the end of flush().
double run_write_behind(storage& target, std::size_t orders, std::size_t records,
                        benchmark::State& state) {
  position_stream stream(orders);
  write_behind wb(target, {});
  std::uint64_t full = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < records; ++i) {
    stream.next();
    auto ticket = wb.reserve(1);
    while (!ticket.ok()) {  // back-pressure: the writer is behind
      ++full;
      std::this_thread::yield();
      ticket = wb.reserve(1);
    }
    benchmark::DoNotOptimize(
        wb.push(std::move(*ticket), std::span<const tracking_record>(&stream.record(), 1),
                stream.latest()));
  }
  wb.flush();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state.counters["batch_records"] =
      static_cast<double>(records) / static_cast<double>(std::max<std::uint64_t>(1, wb.commits()));
  state.counters["queue_full_retries"] = static_cast<double>(full);
  wb.close();
  return seconds;
}

std::string fresh_schema() {
  static int counter = 0;
  return "bench_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

// Drops a benchmark's schema (the server may be the host's own).
void drop_schema(const std::string& schema) {
  PGconn* c = PQconnectdb(g_conninfo.c_str());
  const std::string sql = "SET client_min_messages TO warning; DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE";
  if (PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, sql.c_str()));
  PQfinish(c);
}

// PostgreSQL through write_behind. Args: active orders, records, partitions,
// synchronous_commit (1 on, 0 off).
void BM_PostgresWriteBehind(benchmark::State& state) {
  if (g_conninfo.empty()) {
    state.SkipWithError(g_problem.c_str());
    return;
  }
  const auto orders = static_cast<std::size_t>(state.range(0));
  const auto records = static_cast<std::size_t>(state.range(1));
  for (auto _ : state) {
    const std::string schema = fresh_schema();
    {
      postgres_storage db(g_conninfo,
                          postgres_options{.schema = schema,
                                           .partitions = static_cast<int>(state.range(2)),
                                           .synchronous_commit = state.range(3) != 0});
      state.SetIterationTime(run_write_behind(db, orders, records, state));
    }
    drop_schema(schema);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(records));
}
BENCHMARK(BM_PostgresWriteBehind)
    ->ArgNames({"orders", "records", "partitions", "sync"})
    ->Args({10'000, 200'000, 8, 1})
    ->Args({10'000, 200'000, 1, 1})
    ->Args({10'000, 200'000, 8, 0})
    ->Args({100'000, 200'000, 8, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Baseline: one PostgreSQL transaction (one record + one upsert) per event,
// what a naive "INSERT on every message" consumer does.
void BM_PostgresTransactionPerEvent(benchmark::State& state) {
  if (g_conninfo.empty()) {
    state.SkipWithError(g_problem.c_str());
    return;
  }
  const auto orders = static_cast<std::size_t>(state.range(0));
  const auto records = static_cast<std::size_t>(state.range(1));
  for (auto _ : state) {
    const std::string schema = fresh_schema();
    {
      postgres_storage db(g_conninfo, postgres_options{.schema = schema});
      position_stream stream(orders);
      write_batch batch;
      const auto start = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < records; ++i) {
        stream.next();
        batch.clear();
        batch.records.push_back(stream.record());
        batch.orders.push_back(stream.latest());
        db.commit(batch);
      }
      state.SetIterationTime(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    drop_schema(schema);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(records));
}
BENCHMARK(BM_PostgresTransactionPerEvent)
    ->ArgNames({"orders", "records"})
    ->Args({10'000, 1'000})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// SQLite through the same write_behind, side by side. Args: active orders,
// records, synchronous_full (0 NORMAL, the default; 1 FULL, fsync per commit
// like PostgreSQL's synchronous_commit=on with fsync).
void BM_SqliteWriteBehind(benchmark::State& state) {
  const auto orders = static_cast<std::size_t>(state.range(0));
  const auto records = static_cast<std::size_t>(state.range(1));
  for (auto _ : state) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("xiaoxiang-bench-pg-sqlite-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
      sqlite_storage db((dir / "bench.sqlite").string(),
                        sqlite_options{.synchronous_full = state.range(2) != 0});
      state.SetIterationTime(run_write_behind(db, orders, records, state));
    }
    std::filesystem::remove_all(dir);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(records));
}
BENCHMARK(BM_SqliteWriteBehind)
    ->ArgNames({"orders", "records", "full"})
    ->Args({10'000, 200'000, 0})
    ->Args({10'000, 200'000, 1})
    ->Args({100'000, 200'000, 0})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Finds or starts the server (see the top of the file).
void find_server() {
  if (const char* env = std::getenv("XIAOXIANG_PG_CONNINFO"); env != nullptr && *env != '\0') {
    g_conninfo = env;
    return;
  }
  g_own_dir = (std::filesystem::temp_directory_path() /
               ("xiaoxiang-bench-pg-" + std::to_string(::getpid())))
                  .string();
  const std::string start = "XIAOXIANG_PG_DURABLE=1 " + std::string(XIAOXIANG_SOURCE_DIR) +
                            "/scripts/pg-server.sh start " + g_own_dir + " >&2";
  std::ifstream in;
  if (std::system(start.c_str()) == 0) {
    in.open(g_own_dir + "/conninfo");
    std::getline(in, g_conninfo);
  }
  if (g_conninfo.empty())
    g_problem = "no PostgreSQL server: scripts/pg-server.sh could not start one (install "
                "postgresql: make setup) and XIAOXIANG_PG_CONNINFO is not set";
}

void stop_server() {
  if (g_own_dir.empty()) return;
  const std::string stop = std::string(XIAOXIANG_SOURCE_DIR) + "/scripts/pg-server.sh stop " +
                           g_own_dir + " --clean >&2";
  [[maybe_unused]] const int rc = std::system(stop.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  find_server();
  if (g_conninfo.empty()) std::cerr << "bench_postgres: " << g_problem << "\n";
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  stop_server();
  return 0;
}
