// Tracking records persisted per second: the write-behind writer committing
// batches to SQLite (the goal: >= 250,000/s with the producer on one
// core and the writer on the other), side by side with the naive baseline of
// one transaction per event, direct batched commits without the queue, and
// memory_storage. Each write is what a rider position produces: one tracking
// record plus the order's upsert.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "xiaoxiang/storage/location_cipher.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/storage/write_behind.hpp"

namespace {

using namespace xiaoxiang;

// A stream of rider positions over `orders` delivering orders.
class position_stream {
 public:
  explicit position_stream(std::size_t orders) : orders_(orders), versions_(orders, 0) {
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
    const std::size_t i = rng_() % orders_;
    order& o = templates_[i];
    o.version = ++versions_[i];
    o.update_time = o.create_time + static_cast<timestamp_ms>(o.version) * 15'000;
    record_.order = o.id;
    record_.version = o.version;
    record_.record_id = make_record_id(o.id, o.version);
    record_.operator_id = o.rider;
    record_.create_time = o.update_time;
    record_.position = {116.40 + 1e-5 * static_cast<double>(o.version % 997), 39.91};
    ++event_;
    char text[24];
    const int n = std::snprintf(text, sizeof text, "pos-%llu", static_cast<unsigned long long>(event_));
    record_.source_event = *id::make(std::string_view(text, static_cast<std::size_t>(n)));
    current_ = &o;
  }
  const tracking_record& record() const { return record_; }
  const order& latest() const { return *current_; }

 private:
  std::size_t orders_;
  std::vector<std::uint64_t> versions_;
  std::vector<order> templates_;
  tracking_record record_;
  const order* current_ = nullptr;
  std::mt19937_64 rng_{42};
  std::uint64_t event_ = 0;
};

std::string fresh_db_path() {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path() / "xiaoxiang-bench-storage";
  std::filesystem::create_directories(dir);
  const auto path = dir / ("bench-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".sqlite");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  return path.string();
}

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

void pin_current_thread(int cpu) {
  if (std::thread::hardware_concurrency() < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// CPU seconds used so far by the calling thread: on a shared machine the
// wall clock measures the neighbours too, so each rate is also given per
// CPU-second of the thread that does the work.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void unpin_current_thread() {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (unsigned i = 0; i < std::thread::hardware_concurrency(); ++i) CPU_SET(i, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Pushes `records` positions through a write_behind into `target` and
// flushes; the writer thread is created pinned to CPU 1, the producer runs
// on CPU 0. Returns the seconds from the first reserve to the end of flush().
double run_write_behind(storage& target, std::size_t orders, std::size_t records,
                        benchmark::State& state) {
  position_stream stream(orders);
  pin_current_thread(1);  // the writer thread inherits this
  write_behind wb(target, {});
  pin_current_thread(0);
  std::atomic<double> writer_cpu{0};
  std::atomic<bool> first{true};
  std::atomic<double> writer_cpu_start{0};
  wb.on_durable([&](std::uint64_t) {
    const double now = thread_cpu_seconds();
    if (first.exchange(false)) writer_cpu_start = now;  // after the first commit
    writer_cpu = now;
  });
  std::uint64_t full = 0;
  const double producer_cpu_start = thread_cpu_seconds();
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
  // Records per CPU-second of the writer thread (from its first commit on,
  // so opening costs are not counted) and of the producer thread.
  const double writer_seconds = writer_cpu.load() - writer_cpu_start.load();
  const auto first_batch = static_cast<double>(records) /
                           static_cast<double>(std::max<std::uint64_t>(1, wb.commits()));
  if (writer_seconds > 0)
    state.counters["writer_cpu_rec_per_s"] =
        (static_cast<double>(records) - first_batch) / writer_seconds;
  state.counters["producer_cpu_rec_per_s"] =
      static_cast<double>(records) / (thread_cpu_seconds() - producer_cpu_start);
  wb.close();
  unpin_current_thread();
  return seconds;
}

// SQLite through write_behind, a fresh file per iteration. Args: active
// orders, records.
void run_write_behind_sqlite(benchmark::State& state, const sqlite_options& options) {
  const auto orders = static_cast<std::size_t>(state.range(0));
  const auto records = static_cast<std::size_t>(state.range(1));
  for (auto _ : state) {
    const std::string path = fresh_db_path();
    {
      sqlite_storage db(path, options);
      state.SetIterationTime(run_write_behind(db, orders, records, state));
    }
    remove_db(path);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(records));
}

// The goal: SQLite through write_behind.
void BM_StorageWriteBehindSqlite(benchmark::State& state) { run_write_behind_sqlite(state, {}); }
BENCHMARK(BM_StorageWriteBehindSqlite)
    ->ArgNames({"orders", "records"})
    ->Args({10'000, 400'000})
    ->Args({100'000, 400'000})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// The same queue into memory_storage: the ceiling of the queue itself.
void BM_StorageWriteBehindMemory(benchmark::State& state) {
  const auto orders = static_cast<std::size_t>(state.range(0));
  const auto records = static_cast<std::size_t>(state.range(1));
  for (auto _ : state) {
    memory_storage db;
    state.SetIterationTime(run_write_behind(db, orders, records, state));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(records));
}
BENCHMARK(BM_StorageWriteBehindMemory)
    ->ArgNames({"orders", "records"})
    ->Args({100'000, 400'000})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Commits batches of `batch_size` writes on the calling thread, no queue;
// batch_size 1 is one transaction per event.
void run_direct_commits(benchmark::State& state, std::size_t batch_size,
                        const sqlite_options& options = {}) {
  const auto orders = static_cast<std::size_t>(state.range(0));
  const auto records = static_cast<std::size_t>(state.range(1));
  for (auto _ : state) {
    const std::string path = fresh_db_path();
    {
      sqlite_storage db(path, options);
      position_stream stream(orders);
      write_batch batch;
      const double cpu_start = thread_cpu_seconds();
      const auto start = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < records; i += batch_size) {
        batch.clear();
        for (std::size_t k = 0; k < batch_size; ++k) {
          stream.next();
          batch.records.push_back(stream.record());
          batch.orders.push_back(stream.latest());
        }
        db.commit(batch);
      }
      state.counters["cpu_rec_per_s"] =
          static_cast<double>(records) / (thread_cpu_seconds() - cpu_start);
      state.SetIterationTime(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    remove_db(path);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(records));
}

// Baseline: one transaction (one record + one upsert) per event, what a
// naive "INSERT on every message" consumer does.
void BM_StorageSqliteTransactionPerEvent(benchmark::State& state) { run_direct_commits(state, 1); }
BENCHMARK(BM_StorageSqliteTransactionPerEvent)
    ->ArgNames({"orders", "records"})
    ->Args({10'000, 20'000})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Batched commits on the calling thread, no queue: what one core does alone.
void BM_StorageSqliteBatchCommit(benchmark::State& state) {
  run_direct_commits(state, static_cast<std::size_t>(state.range(2)));
}
BENCHMARK(BM_StorageSqliteBatchCommit)
    ->ArgNames({"orders", "records", "batch"})
    ->Args({10'000, 400'000, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Encryption at rest (location_cipher.hpp): the same writes with the
// location columns sealed with AES-256-GCM, side by side with the plaintext
// runs above (BM_StorageSqliteBatchCommit, BM_StorageWriteBehindSqlite).
sqlite_options encrypted_options() {
  location_key key;
  key.id = "bench";
  for (std::size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<std::uint8_t>(i * 7 + 1);
  location_key_ring ring;
  (void)ring.add(key);
  sqlite_options o;
  o.location_encryption = std::make_shared<const location_cipher>(std::move(ring));
  return o;
}

void BM_StorageSqliteBatchCommitEncrypted(benchmark::State& state) {
  run_direct_commits(state, static_cast<std::size_t>(state.range(2)), encrypted_options());
}
BENCHMARK(BM_StorageSqliteBatchCommitEncrypted)
    ->ArgNames({"orders", "records", "batch"})
    ->Args({10'000, 400'000, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

void BM_StorageWriteBehindSqliteEncrypted(benchmark::State& state) {
  run_write_behind_sqlite(state, encrypted_options());
}
BENCHMARK(BM_StorageWriteBehindSqliteEncrypted)
    ->ArgNames({"orders", "records"})
    ->Args({10'000, 400'000})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// The seal of one record's location alone (17 bytes of doubles + a 40-byte
// address), ns: the CPU cost encryption adds per record.
void BM_StorageLocationSeal(benchmark::State& state) {
  const auto options = encrypted_options();
  const std::string plain(17 + static_cast<std::size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(options.location_encryption->seal(plain, "order_tracking-order-1-42"));
}
BENCHMARK(BM_StorageLocationSeal)->ArgNames({"address_bytes"})->Arg(0)->Arg(40);

void BM_StorageLocationOpen(benchmark::State& state) {
  const auto options = encrypted_options();
  const std::string plain(17 + static_cast<std::size_t>(state.range(0)), 'x');
  const std::string sealed = options.location_encryption->seal(plain, "order_tracking-order-1-42");
  for (auto _ : state) benchmark::DoNotOptimize(options.location_encryption->open(sealed, "order_tracking-order-1-42"));
}
BENCHMARK(BM_StorageLocationOpen)->ArgNames({"address_bytes"})->Arg(0)->Arg(40);

// The producer's side alone: reserve + push of one record, in ns (the
// writer drains into memory_storage on the other core).
void BM_StorageWriteBehindPush(benchmark::State& state) {
  memory_storage db;
  position_stream stream(static_cast<std::size_t>(state.range(0)));
  pin_current_thread(1);
  write_behind wb(db, {});
  pin_current_thread(0);
  for (auto _ : state) {
    stream.next();
    auto ticket = wb.reserve(1);
    while (!ticket.ok()) ticket = wb.reserve(1);
    benchmark::DoNotOptimize(
        wb.push(std::move(*ticket), std::span<const tracking_record>(&stream.record(), 1),
                stream.latest()));
  }
  wb.flush();
  unpin_current_thread();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_StorageWriteBehindPush)->ArgNames({"orders"})->Arg(100'000);

}  // namespace

BENCHMARK_MAIN();
