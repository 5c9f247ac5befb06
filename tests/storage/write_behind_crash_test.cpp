// The durability contract under a real crash: a child process writes through
// write_behind into a SQLite file and reports every durable sequence to the
// parent over a pipe; the parent SIGKILLs it at a random moment, reopens the
// file and checks that everything reported durable is there, that what is
// there is a prefix of whole writes (no partial batch), and that no
// (order_id, version) appears twice.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "storage_fixtures.hpp"
#include "temp_dir.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/storage/write_behind.hpp"

namespace xiaoxiang::testing {
namespace {

constexpr int kOrders = 40;

// Write number `i` (1-based) of the deterministic stream both processes
// know: 1..3 records of one order, versions continuing that order's.
struct stream {
  std::map<int, std::uint64_t> versions;
  std::size_t records_so_far = 0;

  write_batch next(std::uint64_t i) {
    write_batch w;
    const int o = static_cast<int>((i * 7919) % kOrders);
    const std::string key = "crash-" + std::to_string(o);
    auto& v = versions[o];
    const std::size_t n = 1 + i % 3;
    for (std::size_t k = 0; k < n; ++k) {
      ++v;
      w.records.push_back(make_record(key, v, static_cast<timestamp_ms>(i), "ev-" + std::to_string(i)));
    }
    const auto status = (i % 50 == 0) ? order_status::completed : order_status::delivering;
    w.orders.push_back(make_order(key, "u-" + std::to_string(o % 5), v, status));
    records_so_far += n;
    return w;
  }
};

struct report {
  std::uint64_t sequence;
  std::uint64_t records;  // records covered by writes 1..sequence
};

[[noreturn]] void run_child(const std::string& path, int fd, unsigned seed) {
  try {
    sqlite_storage db(path);
    std::mt19937 rng(seed);
    write_behind wb(db, {.capacity_records = 512 + rng() % 2048,
                         .max_batch_records = 16 + rng() % 512,
                         .max_delay = std::chrono::milliseconds(rng() % 3)});
    // Sequence -> records covered, written by the producer before the push
    // and read by the callback on the writer thread.
    std::vector<std::uint64_t> covered(400'001, 0);
    wb.on_durable([&](std::uint64_t d) {
      const report r{d, covered[d]};
      if (::write(fd, &r, sizeof r) != static_cast<ssize_t>(sizeof r)) ::_exit(3);
    });
    stream s;
    for (std::uint64_t i = 1; i < covered.size(); ++i) {
      const write_batch w = s.next(i);
      auto ticket = wb.reserve(w.records.size());
      while (!ticket.ok()) {
        if (ticket.error() != errc::queue_full) ::_exit(4);
        std::this_thread::yield();
        ticket = wb.reserve(w.records.size());
      }
      covered[i] = s.records_so_far;
      if (wb.push(std::move(*ticket), w.records, w.orders[0]) != i) ::_exit(5);
    }
    wb.flush();
  } catch (...) {
    ::_exit(6);
  }
  for (;;) ::pause();  // wait for the parent's SIGKILL
}

TEST(WriteBehindCrash, EverythingReportedDurableSurvivesSigkill) {
  // A SIGKILL leaves the page cache alone, so RAM-backed files show the same
  // thing as a disk, without the fsyncs of creating 30 files.
  temp_dir dir(std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                   : std::filesystem::temp_directory_path());
  // Fewer runs under ASan, where each child starts and writes several times slower.
#if defined(__SANITIZE_ADDRESS__)
  constexpr int kRuns = 12;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  constexpr int kRuns = 12;
#else
  constexpr int kRuns = 30;
#endif
#else
  constexpr int kRuns = 30;
#endif
  std::uint64_t total_durable = 0;
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const std::string path = dir.file("crash-" + std::to_string(run) + ".sqlite");
    { sqlite_storage create(path); }  // the schema exists before the child starts
    std::mt19937 rng(static_cast<unsigned>(1000 + run));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      run_child(path, fds[1], static_cast<unsigned>(run));
    }
    ::close(fds[1]);

    // Kill at a random moment after the first durable report (every fifth
    // run: at a random moment after the start, maybe before any commit).
    const bool from_start = run % 5 == 0;
    const auto kill_after = std::chrono::microseconds(rng() % (from_start ? 20'000 : 80'000));
    auto start = std::chrono::steady_clock::now();
    const auto give_up = start + std::chrono::seconds(10);
    report last{0, 0};
    std::vector<char> pending;
    auto read_reports = [&](int timeout_ms) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return false;
      char buffer[4096];
      const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
      if (n <= 0) return false;
      pending.insert(pending.end(), buffer, buffer + n);
      std::size_t used = 0;
      for (; used + sizeof(report) <= pending.size(); used += sizeof(report)) {
        report r;
        std::memcpy(&r, pending.data() + used, sizeof r);
        EXPECT_GT(r.sequence, last.sequence);
        last = r;
      }
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
      return true;
    };
    if (!from_start) {
      while (last.sequence == 0 && std::chrono::steady_clock::now() < give_up) read_reports(5);
      start = std::chrono::steady_clock::now();
    }
    while (std::chrono::steady_clock::now() - start < kill_after) read_reports(1);
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended by itself with status " << status;
    while (read_reports(0)) {
    }  // reports written before the kill count too
    ::close(fds[0]);

    // What the file holds must be writes 1..m, whole, for some m >= last.sequence.
    sqlite_storage db(path);
    std::set<std::pair<std::string, std::uint64_t>> stored;
    std::size_t stored_rows = 0;
    for (int o = 0; o < kOrders; ++o) {
      const std::string key = "crash-" + std::to_string(o);
      for (const auto& r : db.records_since(must_id(key), 0)) {
        stored.emplace(key, r.version);
        ++stored_rows;
      }
    }
    ASSERT_EQ(stored.size(), stored_rows) << "an (order_id, version) appears twice";
    ASSERT_EQ(db.record_count(), stored_rows);
    stream s;
    std::uint64_t m = 0;
    std::size_t prefix_records = 0;
    std::map<std::string, std::uint64_t> latest;
    for (;;) {
      const write_batch w = s.next(m + 1);
      std::size_t present = 0;
      for (const auto& r : w.records) present += stored.count({r.order.str(), r.version});
      if (present == 0) break;
      ASSERT_EQ(present, w.records.size()) << "write " << m + 1 << " is only partly stored";
      ++m;
      prefix_records += w.records.size();
      latest[w.orders[0].id.str()] = w.orders[0].version;
    }
    ASSERT_EQ(prefix_records, stored_rows) << "records beyond the first missing write";
    ASSERT_GE(m, last.sequence) << "a write reported durable is missing";
    if (last.sequence > 0) {
      stream check;
      for (std::uint64_t i = 1; i <= last.sequence; ++i) check.next(i);
      EXPECT_EQ(last.records, check.records_so_far);
    }
    // The orders table went with the records, in the same transactions.
    for (int o = 0; o < kOrders; ++o) {
      const std::string key = "crash-" + std::to_string(o);
      const auto stored_order = db.load_order(must_id(key));
      if (latest.count(key) == 0) {
        EXPECT_FALSE(stored_order.has_value()) << key;
      } else {
        ASSERT_TRUE(stored_order.has_value()) << key;
        EXPECT_EQ(stored_order->version, latest[key]) << key;
      }
    }
    total_durable += last.sequence;
  }
  // The children did get writes durable before being killed.
  EXPECT_GT(total_durable, 0u);
  std::printf("crash test: %d runs, %llu writes reported durable in all\n", kRuns,
              static_cast<unsigned long long>(total_durable));
}

}  // namespace
}  // namespace xiaoxiang::testing
