// The cluster of docs/scaling.md as real processes (issue 10): events through
// Redis Streams into 1 or 2 tracker nodes (`xiaoxiang serve --redis R
// --partitions .. --pg ..`, the CLI binary next to this one in build/bin)
// writing into one PostgreSQL database, on this machine.
//
// This program starts its own redis-server (scripts/redis-server.sh) and its
// own PostgreSQL (scripts/pg-server.sh, fsync on: XIAOXIANG_PG_DURABLE=1) in
// temporary folders, stopped at exit (also on SIGINT / SIGTERM / terminate);
// each benchmark run gets a fresh database (CREATE DATABASE through psql,
// dropped afterwards) and an empty Redis (FLUSHALL), and starts and stops its
// own serve processes (SIGTERM, then SIGKILL after 15 s; they also die with
// this program: PR_SET_PDEATHSIG). A missing server or binary skips the
// benchmark with a message naming it.
//
// BM_ClusterThroughput/nodes:N — 2,000 orders (created, paid, assigned to one
// rider each) are XADDed with redis_stream_producer and consumed first; then
// 100,000 rider_position events (round-robin over the riders; each rider's
// fixes 5 s apart in event time, 20 m east each, i.e. 14 km/h, all in the
// last ~5 minutes of the wall clock, so the tracker's too-fast, duplicate-fix
// and stale filters accept them) are XADDed as fast as one pipelined
// connection goes. Time = wall time from the first position XADD until
// XINFO GROUPS reports pending 0 and lag 0 for group `trackers` on all 8
// streams xx:events:0..7 (polled every 5 ms); the consumers acknowledge
// only what PostgreSQL has committed, so this is "durable in PostgreSQL".
// Counters: events_per_s (= items_per_second), CPU per event in us of the
// serve processes (utime+stime of /proc/PID/stat, all threads, 10 ms ticks),
// of the PostgreSQL server (postmaster and its children) and of redis-server
// and of this process (the producer), the number of position records in
// PostgreSQL afterwards (SELECT count(*) FROM order_tracking WHERE kind = 2;
// the run is an error below 99 % of the positions sent) and the rejections
// the nodes reported in their summary line on SIGTERM.
//
// BM_ClusterLatency/nodes:N/rate:R — the same cluster plus a WebSocket-only
// node (`serve --redis R`, no --partitions: it gets the changes through the
// Redis pub/sub fan-out) and, in this process, 20 STOMP clients on raw
// WebSockets to its /ws/websocket (v12.stomp), 50 subscriptions
// /topic/orders/<id> each: every one of 1,000 orders is watched. Positions
// of the 1,000 riders are XADDed at R per second for 8 s (paced, each batch
// flushed at once); each event's `time` is the wall clock (ms) at its XADD,
// so the MESSAGE's "createTime" (docs/transport.md) names the fix, and this
// program keeps, per order, the steady-clock time (ns) just before the flush
// that sent it. Latency = steady-clock time when the client's read
// completes minus that: XADD -> consumer -> tracker -> PostgreSQL write
// behind (not waited for) and fan-out PUBLISH -> WS node -> STOMP client.
// Resolution: the clock's (ns); the client is one thread of this process,
// so client-side queueing is included. Counters: p50/p99/max in ms, sent,
// pg_records (positions the tracker accepted and stored: the expected
// messages), received (MESSAGEs matched to a sent fix), lost = pg_records -
// received, unmatched (other MESSAGEs: snapshots, alerts), the achieved
// XADD rate and the CPU per position of the tracker nodes and of the
// WebSocket node.
//
// Every run is one iteration; runs vary by ~25 % on this shared 2-core VM,
// so compare medians of repetitions:
//   build/bin/bench_cluster                 (about 80 s)
//   build/bin/bench_cluster --benchmark_filter=Throughput --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "xiaoxiang/order/event.hpp"
#include "xiaoxiang/queue/redis_stream_producer.hpp"
#include "xiaoxiang/redis/redis_connection.hpp"

namespace xiaoxiang {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using steady = std::chrono::steady_clock;

constexpr std::uint32_t kPartitions = 8;

long long steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

std::string source_dir() { return XIAOXIANG_SOURCE_DIR; }  // benchmarks/deps.cmake

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const std::string& text, std::size_t n) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

// --- cleanup on every path ------------------------------------------------
// Serve processes are registered here, and the servers' stop commands are
// kept as plain char arrays, so that a signal handler (fork/exec/kill/wait:
// async-signal-safe) or std::terminate can stop everything.

constexpr int kMaxChildren = 16;
std::atomic<pid_t> g_children[kMaxChildren];
char g_stop_commands[2][2048];
std::atomic<bool> g_stop_set[2];

void register_child(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t zero = 0;
    if (slot.compare_exchange_strong(zero, pid)) return;
  }
}
void unregister_child(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t p = pid;
    if (slot.compare_exchange_strong(p, 0)) return;
  }
}
void set_stop_command(int slot, const std::string& cmd) {
  std::snprintf(g_stop_commands[slot], sizeof g_stop_commands[slot], "%s", cmd.c_str());
  g_stop_set[slot].store(!cmd.empty());
}

void emergency_cleanup() noexcept {
  for (auto& slot : g_children) {
    const pid_t pid = slot.exchange(0);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (!g_stop_set[i].exchange(false)) continue;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", g_stop_commands[i], static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  }
}

extern "C" void on_fatal_signal(int sig) {
  emergency_cleanup();
  ::_exit(128 + sig);
}

// --- /proc ------------------------------------------------------------------

// utime+stime (+cutime+cstime with `children`) of a process in seconds; 0 if gone.
double proc_cpu_seconds(pid_t pid, bool children = false) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(line.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  if (f.size() < 15) return 0;  // f[0] is field 3 (state): utime = f[11] .. cstime = f[14]
  double ticks = std::stod(f[11]) + std::stod(f[12]);
  if (children) ticks += std::stod(f[13]) + std::stod(f[14]);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

pid_t proc_ppid(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(line.substr(close + 2));
  std::string state;
  long ppid = -1;
  fields >> state >> ppid;
  return static_cast<pid_t>(ppid);
}

// CPU of a server and all its (live and reaped) children, e.g. the postmaster.
double tree_cpu_seconds(pid_t root) {
  if (root <= 0) return 0;
  double total = proc_cpu_seconds(root, true);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (proc_ppid(name) == root) total += proc_cpu_seconds(static_cast<pid_t>(std::stol(name)), true);
  }
  return total;
}

double self_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// --- the servers of this run: started on first use, stopped at exit ---------

struct redis_server {
  std::string dir, error;
  std::uint16_t port = 0;
  pid_t pid = 0;
  redis_server() {
    char tmpl[] = "/tmp/xiaoxiang-bench-cluster-redis-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      error = "mkdtemp failed";
      return;
    }
    dir = tmpl;
    set_stop_command(0, source_dir() + "/scripts/redis-server.sh stop " + dir + " >/dev/null 2>&1; rm -rf " + dir);
    const std::string cmd = source_dir() + "/scripts/redis-server.sh start " + dir + " >" + dir + "/start.log 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      error = "redis-server could not be started (scripts/redis-server.sh; is redis-server installed?): " +
              tail(read_file(dir + "/start.log"), 300);
      return;
    }
    std::ifstream(dir + "/port") >> port;
    std::ifstream(dir + "/redis.pid") >> pid;
    if (port == 0) error = "redis-server started but wrote no port (" + dir + ")";
  }
  ~redis_server() {
    if (dir.empty()) return;
    g_stop_set[0].store(false);
    const std::string cmd = source_dir() + "/scripts/redis-server.sh stop " + dir + " >/dev/null 2>&1; rm -rf " + dir;
    [[maybe_unused]] const int rc = std::system(cmd.c_str());
  }
  redis_connection_options connection() const {
    redis_connection_options o;
    o.endpoint.port = port;
    return o;
  }
};

struct pg_server {
  std::string dir, error;
  int port = 0;
  pg_server() {
    if (std::system("command -v psql >/dev/null 2>&1") != 0) {
      error = "psql not found (install postgresql-client: make setup)";
      return;
    }
    char tmpl[] = "/tmp/xiaoxiang-bench-cluster-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      error = "mkdtemp failed";
      return;
    }
    dir = tmpl;
    log = dir + ".start.log";
    set_stop_command(1, source_dir() + "/scripts/pg-server.sh stop " + dir + " --clean >/dev/null 2>&1");
    const std::string cmd = "XIAOXIANG_PG_DURABLE=1 " + source_dir() + "/scripts/pg-server.sh start " + dir +
                            " >" + log + " 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      error = "PostgreSQL could not be started (scripts/pg-server.sh; is postgresql installed? make setup): " +
              tail(read_file(log), 300);
      return;
    }
    std::remove(log.c_str());
    std::ifstream(dir + "/port") >> port;
    if (port == 0) error = "PostgreSQL started but wrote no port (" + dir + ")";
  }
  ~pg_server() {
    if (dir.empty()) return;
    g_stop_set[1].store(false);
    const std::string cmd = source_dir() + "/scripts/pg-server.sh stop " + dir + " --clean >/dev/null 2>&1";
    [[maybe_unused]] const int rc = std::system(cmd.c_str());
  }
  // The postmaster (its data folder may live elsewhere when run as root: DIR/rundir).
  pid_t postmaster() const {
    std::string run = dir;
    if (std::filesystem::exists(dir + "/rundir")) {
      std::ifstream(dir + "/rundir") >> run;
    }
    pid_t pid = 0;
    std::ifstream(run + "/data/postmaster.pid") >> pid;
    return pid;
  }
  std::string conninfo(const std::string& db) const {
    return "host=127.0.0.1 port=" + std::to_string(port) + " dbname=" + db + " user=postgres connect_timeout=10";
  }
  // Runs one statement with psql; throws with psql's output on failure.
  std::string psql(const std::string& db, const std::string& sql) const {
    const std::string cmd = "psql -X -q -tA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + std::to_string(port) +
                            " -U postgres -d " + db + " -c \"" + sql + "\" 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen psql failed");
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    const int rc = ::pclose(p);
    if (rc != 0) throw std::runtime_error("psql: " + sql + ": " + tail(out, 300));
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }

 private:
  std::string log;
};

redis_server& redis() {
  static redis_server s;
  return s;
}
pg_server& postgres() {
  static pg_server s;
  return s;
}

std::string serve_binary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "xiaoxiang").string();
}

// --- a serve process ---------------------------------------------------------

class serve_process {
 public:
  serve_process() = default;
  serve_process(const serve_process&) = delete;
  serve_process& operator=(const serve_process&) = delete;
  ~serve_process() { stop(); }

  // Starts `xiaoxiang serve args...` and waits for its "listening on" line.
  // Throws with the reason (and the tail of its stderr) otherwise.
  void start(const std::vector<std::string>& args, const std::string& log_path) {
    log_ = log_path;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const std::string exe = serve_binary();
    std::vector<std::string> argv_s{exe, "serve"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::dup2(fds[1], 1);
      const int err = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (err >= 0) ::dup2(err, 2);
      ::execv(exe.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    pid_ = pid;
    out_fd_ = fds[0];
    register_child(pid);
    const auto deadline = steady::now() + std::chrono::seconds(30);
    static constexpr std::string_view marker = "listening on http://127.0.0.1:";
    while (true) {
      const auto at = output_.find(marker);
      if (at != std::string::npos && output_.find('\n', at) != std::string::npos) {
        port_ = static_cast<std::uint16_t>(std::atoi(output_.c_str() + at + marker.size()));
        return;
      }
      if (!alive() || steady::now() > deadline) {
        const std::string why = alive() ? "no 'listening on' line within 30 s" : describe_exit();
        stop();
        throw std::runtime_error("xiaoxiang serve " + argv_s[2] + "...: " + why + ": " + tail(read_file(log_), 400));
      }
      read_some(50);
    }
  }

  bool alive() {
    if (pid_ <= 0 || exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
    }
    return !exited_;
  }
  // "exited with status N" / "killed by signal N" (127: could not be executed).
  std::string describe_exit() const {
    if (WIFSIGNALED(status_)) return "killed by signal " + std::to_string(WTERMSIG(status_));
    return "exited with status " + std::to_string(WEXITSTATUS(status_)) +
           (WEXITSTATUS(status_) == 127 ? " (could not execute " + serve_binary() + ")" : "");
  }

  // SIGTERM, up to 15 s for the summary and the exit, then SIGKILL. Returns
  // its stdout (the summary line).
  const std::string& stop() {
    if (pid_ <= 0) return output_;
    if (!exited_) {
      ::kill(pid_, SIGTERM);
      const auto deadline = steady::now() + std::chrono::seconds(15);
      while (alive() && steady::now() < deadline) read_some(20);
      if (alive()) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        killed_ = true;
      }
    }
    read_some(0);
    unregister_child(pid_);
    ::close(out_fd_);
    out_fd_ = -1;
    pid_ = -1;
    return output_;
  }

  double cpu_seconds() const { return pid_ > 0 ? proc_cpu_seconds(pid_) : 0; }
  std::uint16_t port() const noexcept { return port_; }
  bool killed() const noexcept { return killed_; }
  const std::string& output() const noexcept { return output_; }
  const std::string& log_path() const noexcept { return log_; }

 private:
  void read_some(int timeout_ms) {
    if (out_fd_ < 0) return;
    pollfd p{out_fd_, POLLIN, 0};
    while (::poll(&p, 1, timeout_ms) > 0) {
      char buf[4096];
      const ssize_t n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0) return;
      output_.append(buf, static_cast<std::size_t>(n));
      timeout_ms = 0;
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool exited_ = false, killed_ = false;
  int status_ = 0;
  std::uint16_t port_ = 0;
  std::string output_, log_;
};

// The counts of a tracker node's summary line ("consumed N entries (A
// accepted, D duplicates, J rejected, ...), acked K"), read by label so that
// added items do not break it.
struct node_summary {
  unsigned long long consumed = 0, accepted = 0, duplicates = 0, rejected = 0, acked = 0;
  bool found = false;
};
node_summary parse_summary(const std::string& out) {
  node_summary s;
  const auto at = out.find("consumed ");
  const auto close = out.find(')', at);
  const auto acked = out.find("acked ", close);
  if (at == std::string::npos || close == std::string::npos || acked == std::string::npos) return s;
  const std::string items = out.substr(at, close - at);
  // The number just before " <label>" in the parenthesis.
  auto before = [&](const char* label, unsigned long long& v) {
    auto p = items.find(std::string(" ") + label);
    if (p == std::string::npos) return;
    auto b = p;
    while (b > 0 && std::isdigit(static_cast<unsigned char>(items[b - 1]))) --b;
    v = std::strtoull(items.c_str() + b, nullptr, 10);
  };
  before("accepted", s.accepted);
  before("duplicates", s.duplicates);
  before("rejected", s.rejected);
  s.found = std::sscanf(out.c_str() + at, "consumed %llu", &s.consumed) == 1 &&
            std::sscanf(out.c_str() + acked, "acked %llu", &s.acked) == 1;
  return s;
}

// --- a run's cluster ---------------------------------------------------------

// A database of its own, dropped when the run ends.
struct fresh_database {
  std::string name;
  fresh_database() {
    static int runs = 0;
    name = "xxbench_" + std::to_string(::getpid()) + "_" + std::to_string(++runs);
    postgres().psql("postgres", "CREATE DATABASE " + name);
  }
  ~fresh_database() {
    try {
      postgres().psql("postgres", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (...) {
    }
  }
  fresh_database(const fresh_database&) = delete;
  fresh_database& operator=(const fresh_database&) = delete;
};

struct cluster {
  std::string dir;
  fresh_database database;  // declared before the nodes: dropped after they stop
  const std::string& db = database.name;
  std::vector<std::unique_ptr<serve_process>> trackers;
  std::unique_ptr<serve_process> ws;

  // FLUSHALL, a new database, `nodes` tracker nodes (+ a WebSocket-only node).
  cluster(int nodes, bool with_ws_node) : dir(flushed_redis_dir()) {
    const std::string r = "127.0.0.1:" + std::to_string(redis().port);
    const std::vector<std::string> parts = nodes == 1 ? std::vector<std::string>{"0-7"}
                                                      : std::vector<std::string>{"0-3", "4-7"};
    // One at a time: the first creates the schema in the new database.
    for (std::size_t i = 0; i < parts.size(); ++i) {
      auto p = std::make_unique<serve_process>();
      const std::string name = "n" + std::to_string(i + 1);
      p->start({"--port", "0", "--redis", r, "--partitions", parts[i], "--pg", postgres().conninfo(db),
                "--node", name, "--no-metrics"},
               dir + "/" + db + "-" + name + ".log");
      trackers.push_back(std::move(p));
    }
    if (with_ws_node) {
      ws = std::make_unique<serve_process>();
      ws->start({"--port", "0", "--redis", r, "--node", "ws", "--no-metrics"}, dir + "/" + db + "-ws.log");
    }
  }
  ~cluster() { stop(); }
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  double trackers_cpu() const {
    double s = 0;
    for (const auto& t : trackers) s += t->cpu_seconds();
    return s;
  }
  bool all_alive(std::string& why) {
    for (auto& t : trackers)
      if (!t->alive()) {
        why = "a tracker node " + t->describe_exit() + ": " + tail(read_file(t->log_path()), 400);
        return false;
      }
    if (ws && !ws->alive()) {
      why = "the WebSocket node " + ws->describe_exit() + ": " + tail(read_file(ws->log_path()), 400);
      return false;
    }
    return true;
  }
  // Stops every node; returns the summed tracker summaries.
  node_summary stop() {
    node_summary sum;
    sum.found = !trackers.empty();
    for (auto& t : trackers) {
      const node_summary s = parse_summary(t->stop());
      sum.found = sum.found && s.found;
      sum.consumed += s.consumed;
      sum.accepted += s.accepted;
      sum.duplicates += s.duplicates;
      sum.rejected += s.rejected;
      sum.acked += s.acked;
    }
    if (ws) ws->stop();
    return sum;
  }
  long long position_records() const {
    return std::stoll(postgres().psql(db, "SELECT count(*) FROM order_tracking WHERE kind = 2"));
  }

 private:
  // FLUSHALL (before anything else of the run); the folder for the nodes' logs.
  static std::string flushed_redis_dir() {
    redis_connection c(redis().connection());
    expect_no_error(c.command({"FLUSHALL"}), "FLUSHALL");
    return redis().dir;
  }
};

// True when group `trackers` has nothing pending and no lag on every stream.
bool all_acked(redis_connection& c) {
  for (std::uint32_t p = 0; p < kPartitions; ++p) c.append({"XINFO", "GROUPS", "xx:events:" + std::to_string(p)});
  bool done = true;
  for (std::uint32_t p = 0; p < kPartitions; ++p) {
    const redis_value r = c.get_reply();
    if (!r.is_array()) {
      done = false;
      continue;
    }
    bool found = false;
    for (const redis_value& g : r.elements) {
      long long pending = -1, lag = -1;
      bool ours = false;
      for (std::size_t i = 0; i + 1 < g.elements.size(); i += 2) {
        const std::string_view key = g.at(i).text();
        const redis_value& v = g.at(i + 1);
        if (key == "name") ours = v.text() == "trackers";
        else if (key == "pending") pending = v.integer;
        else if (key == "lag" && v.type == redis_type::integer) lag = v.integer;
      }
      if (!ours) continue;
      found = true;
      if (pending != 0 || lag != 0) done = false;
    }
    if (!found) done = false;
  }
  return done;
}

// Polls all_acked every 5 ms; throws on timeout or a dead node.
void wait_acked(redis_connection& c, cluster& cl, double timeout_s, const char* what) {
  const auto deadline = steady::now() + std::chrono::duration<double>(timeout_s);
  std::string why;
  while (!all_acked(c)) {
    if (!cl.all_alive(why)) throw std::runtime_error(why);
    if (steady::now() > deadline)
      throw std::runtime_error(std::string(what) + ": not every entry acknowledged within " +
                               std::to_string(static_cast<int>(timeout_s)) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// --- events --------------------------------------------------------------------

geo_point start_point(std::size_t i) {
  return {116.30 + static_cast<double>(i % 50) * 0.004, 39.85 + static_cast<double>(i / 50) * 0.002};
}
constexpr double kMetresPerDegreeLon = 85'370;  // at latitude 39.9

// Created, paid, assigned for orders O0.. with riders R0.. (one each), at t.
void produce_orders(redis_stream_producer& producer, std::size_t orders, timestamp_ms t) {
  for (std::size_t i = 0; i < orders; ++i) {
    const std::string n = std::to_string(i);
    event e;
    e.kind = event_kind::order_created;
    e.id = *id::make("C" + n);
    e.time = t;
    e.order = *id::make("O" + n);
    e.user = *id::make("U" + n);
    e.warehouse = *id::make("W1");
    e.amount = 2590;
    e.origin = start_point(i);
    e.destination = {e.origin.lon + 0.03, e.origin.lat};
    e.address = "bench address " + n;
    producer.add(e);
    event p;
    p.kind = event_kind::order_paid;
    p.id = *id::make("P" + n);
    p.time = t + 10'000;
    p.order = e.order;
    producer.add(p);
    event a;
    a.kind = event_kind::rider_assigned;
    a.id = *id::make("A" + n);
    a.time = t + 20'000;
    a.order = e.order;
    a.rider = *id::make("R" + n);
    producer.add(a);
  }
  producer.flush();
}

event make_position(std::size_t rider, std::size_t k, timestamp_ms t, geo_point where) {
  event e;
  e.kind = event_kind::rider_position;
  e.id = *id::make("X" + std::to_string(k));
  e.time = t;
  e.rider = *id::make("R" + std::to_string(rider));
  e.position = where;
  e.has_position = true;
  return e;
}

template <class F>
void guarded(benchmark::State& state, F&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

std::string missing_prerequisite() {
  if (!std::filesystem::exists(serve_binary()))
    return serve_binary() + " not found (build the CLI: cmake --build build --target xiaoxiang_cli)";
  if (!redis().error.empty()) return redis().error;
  if (!postgres().error.empty()) return postgres().error;
  return {};
}

// --- BM_ClusterThroughput --------------------------------------------------------

constexpr std::size_t kThroughputOrders = 2'000;
constexpr std::size_t kThroughputPositions = 100'000;

void BM_ClusterThroughput(benchmark::State& state) {
  if (const std::string why = missing_prerequisite(); !why.empty()) return state.SkipWithError(why.c_str());
  const int nodes = static_cast<int>(state.range(0));
  const std::size_t riders = kThroughputOrders, n = kThroughputPositions;
  for (auto _ : state) {
    guarded(state, [&] {
      cluster cl(nodes, false);
      redis_connection watch(redis().connection());
      redis_stream_producer_options po;
      po.connection = redis().connection();
      redis_stream_producer producer(po);
      // Fixes 5 s apart; the last one ~30 s before now.
      const std::size_t per_rider = (n + riders - 1) / riders;
      const timestamp_ms first_fix = now_ms() - static_cast<timestamp_ms>(per_rider) * 5'000 - 30'000;
      produce_orders(producer, riders, first_fix - 120'000);
      wait_acked(watch, cl, 60, "orders");

      std::vector<geo_point> where(riders);
      for (std::size_t i = 0; i < riders; ++i) where[i] = start_point(i);
      const double step = 20.0 / kMetresPerDegreeLon;
      const pid_t pm = postgres().postmaster();
      const double cpu_nodes0 = cl.trackers_cpu(), cpu_pg0 = tree_cpu_seconds(pm),
                   cpu_redis0 = proc_cpu_seconds(redis().pid), cpu_self0 = self_cpu_seconds();
      const auto t0 = steady::now();
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = k % riders, j = k / riders;
        where[i].lon += step;
        producer.add(make_position(i, k, first_fix + static_cast<timestamp_ms>(j) * 5'000 + static_cast<timestamp_ms>(i % 1000),
                              where[i]));
      }
      producer.flush();
      const double produce_s = std::chrono::duration<double>(steady::now() - t0).count();
      const double cpu_self = self_cpu_seconds() - cpu_self0;
      wait_acked(watch, cl, 180, "positions");
      const double wall = std::chrono::duration<double>(steady::now() - t0).count();
      const double cpu_nodes = cl.trackers_cpu() - cpu_nodes0, cpu_pg = tree_cpu_seconds(pm) - cpu_pg0,
                   cpu_redis = proc_cpu_seconds(redis().pid) - cpu_redis0;
      const node_summary summary = cl.stop();
      const long long records = cl.position_records();

      const double per_event = 1e6 / static_cast<double>(n);
      state.SetIterationTime(wall);
      state.SetItemsProcessed(static_cast<std::int64_t>(n));
      state.counters["events_per_s"] = static_cast<double>(n) / wall;
      state.counters["xadd_s"] = produce_s;
      state.counters["pg_records"] = static_cast<double>(records);
      state.counters["rejected"] = static_cast<double>(summary.rejected);
      state.counters["nodes_cpu_us_per_ev"] = cpu_nodes * per_event;
      state.counters["pg_cpu_us_per_ev"] = cpu_pg * per_event;
      state.counters["redis_cpu_us_per_ev"] = cpu_redis * per_event;
      state.counters["producer_cpu_us_per_ev"] = cpu_self * per_event;
      state.counters["nodes_cores"] = cpu_nodes / wall;
      state.counters["pg_cores"] = cpu_pg / wall;
      if (!summary.found) throw std::runtime_error("a tracker node printed no summary line on SIGTERM");
      if (static_cast<double>(records) < 0.99 * static_cast<double>(n))
        throw std::runtime_error("only " + std::to_string(records) + " position records in PostgreSQL for " +
                                 std::to_string(n) + " positions sent (" + std::to_string(summary.rejected) +
                                 " rejected): the tracker filtered them");
    });
    if (state.error_occurred()) break;
  }
}
BENCHMARK(BM_ClusterThroughput)
    ->ArgNames({"nodes"})
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// --- BM_ClusterLatency -------------------------------------------------------------

constexpr std::size_t kLatencyOrders = 1'000;
constexpr std::size_t kSubscriptionsPerClient = 50;
constexpr double kLatencySeconds = 8;

// Per order, the fixes sent: event time (ms) and steady time of the XADD
// (ns). Written by the producer (then count, release), read by the client.
struct sent_book {
  sent_book(std::size_t orders_, std::size_t per_order_)
      : orders(orders_), per_order(per_order_), ms(orders_ * per_order_), ns(orders_ * per_order_), count(orders_) {}
  void push(std::size_t order, long long t_ms, long long t_ns) {
    const std::uint32_t c = count[order].load(std::memory_order_relaxed);
    if (c >= per_order) return;
    ms[order * per_order + c] = t_ms;
    ns[order * per_order + c] = t_ns;
    count[order].store(c + 1, std::memory_order_release);
  }
  std::size_t orders, per_order;
  std::vector<long long> ms, ns;
  std::vector<std::atomic<std::uint32_t>> count;
};

// What the clients collect (touched on the io thread only, except the atomics).
struct watch_state {
  explicit watch_state(sent_book& b) : book(b), cursor(b.orders, 0) {}
  sent_book& book;
  std::vector<std::uint32_t> cursor;
  std::vector<double> latencies_ms;
  std::atomic<std::size_t> ready{0}, failed{0};
  std::atomic<std::uint64_t> matched{0}, unmatched{0}, snapshots{0};
  std::string first_error;
};

class stomp_watcher : public std::enable_shared_from_this<stomp_watcher> {
 public:
  stomp_watcher(net::io_context& io, std::size_t first, std::size_t count, watch_state& st)
      : ws_(io), first_(first), count_(count), st_(st) {}

  void start(std::uint16_t port) {
    beast::get_lowest_layer(ws_).async_connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
        [self = shared_from_this(), port](beast::error_code ec) {
          if (ec) return self->fail("connect: " + ec.message());
          self->ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
            req.set(beast::http::field::sec_websocket_protocol, "v12.stomp");
          }));
          self->ws_.async_handshake("127.0.0.1:" + std::to_string(port), "/ws/websocket", [self](beast::error_code e) {
            if (e) return self->fail("handshake: " + e.message());
            self->out_ = std::string("CONNECT\naccept-version:1.2\nhost:127.0.0.1\nheart-beat:0,0\n\n") + '\0';
            for (std::size_t i = self->first_; i < self->first_ + self->count_; ++i) {
              self->out_ += "SUBSCRIBE\nid:" + std::to_string(i) + "\ndestination:/topic/orders/O" + std::to_string(i) +
                            "\n";
              if (i + 1 == self->first_ + self->count_) self->out_ += "receipt:ready\n";
              self->out_ += std::string("\n") + '\0';
            }
            self->ws_.text(true);
            self->ws_.async_write(net::buffer(self->out_), [self](beast::error_code e2, std::size_t) {
              if (e2) return self->fail("write: " + e2.message());
              self->read();
            });
          });
        });
  }
  void close() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

 private:
  void fail(const std::string& why) {
    if (st_.first_error.empty()) st_.first_error = why;
    st_.failed.fetch_add(1);
  }
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      const long long t = steady_ns();
      const auto data = self->buffer_.cdata();
      std::string_view all(static_cast<const char*>(data.data()), data.size());
      // One or more frames, NUL-terminated; heart-beat EOLs between them.
      while (!all.empty()) {
        const auto end = all.find('\0');
        std::string_view f = all.substr(0, end);
        while (!f.empty() && (f.front() == '\n' || f.front() == '\r')) f.remove_prefix(1);
        if (!f.empty()) self->on_frame(f, t);
        if (end == std::string_view::npos) break;
        all.remove_prefix(end + 1);
      }
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }
  static long long number_after(std::string_view text, std::string_view key) {
    const auto at = text.find(key);
    if (at == std::string_view::npos) return -1;
    long long v = 0;
    for (std::size_t i = at + key.size(); i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      v = v * 10 + (text[i] - '0');
    return v;
  }
  void on_frame(std::string_view f, long long t_ns) {
    if (f.starts_with("RECEIPT")) {
      st_.ready.fetch_add(1);
      return;
    }
    if (f.starts_with("ERROR")) return fail(std::string(f.substr(0, 300)));
    if (!f.starts_with("MESSAGE")) return;
    const auto head_end = f.find("\n\n");
    if (head_end == std::string_view::npos) return;
    const std::string_view head = f.substr(0, head_end), body = f.substr(head_end + 2);
    const long long sub = number_after(head, "\nsubscription:");
    if (sub < 0 || static_cast<std::size_t>(sub) >= st_.book.orders) return;
    const auto order = static_cast<std::size_t>(sub);
    if (body.find("\"type\":\"snapshot\"") != std::string_view::npos) st_.snapshots.fetch_add(1);
    const long long create = number_after(body, "\"createTime\":");
    // Find the fix with this event time among those sent (in order).
    const sent_book& b = st_.book;
    const std::uint32_t n = b.count[order].load(std::memory_order_acquire);
    std::uint32_t j = st_.cursor[order];
    const std::size_t base = order * b.per_order;
    while (j < n && b.ms[base + j] < create) ++j;
    if (create >= 0 && j < n && b.ms[base + j] == create) {
      st_.latencies_ms.push_back(static_cast<double>(t_ns - b.ns[base + j]) / 1e6);
      st_.matched.fetch_add(1, std::memory_order_relaxed);
      st_.cursor[order] = j + 1;
    } else {
      st_.unmatched.fetch_add(1, std::memory_order_relaxed);
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::size_t first_, count_;
  watch_state& st_;
  std::string out_;
};

// The clients' io thread; closes the sockets and joins on destruction.
struct watcher_pool {
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> guard = net::make_work_guard(io);
  std::vector<std::shared_ptr<stomp_watcher>> clients;
  std::thread runner;
  watcher_pool() : runner([this] { io.run(); }) {}
  ~watcher_pool() {
    net::post(io, [this] {
      for (auto& c : clients) c->close();
    });
    guard.reset();
    runner.join();
  }
  watcher_pool(const watcher_pool&) = delete;
  watcher_pool& operator=(const watcher_pool&) = delete;
};

void BM_ClusterLatency(benchmark::State& state) {
  if (const std::string why = missing_prerequisite(); !why.empty()) return state.SkipWithError(why.c_str());
  const int nodes = static_cast<int>(state.range(0));
  const auto rate = static_cast<double>(state.range(1));
  const std::size_t riders = kLatencyOrders;
  const auto total = static_cast<std::size_t>(rate * kLatencySeconds);
  for (auto _ : state) {
    guarded(state, [&] {
      cluster cl(nodes, true);
      redis_connection watch(redis().connection());
      redis_stream_producer_options po;
      po.connection = redis().connection();
      redis_stream_producer producer(po);
      produce_orders(producer, riders, now_ms() - 300'000);
      wait_acked(watch, cl, 60, "orders");

      sent_book book(riders, total / riders + 2);
      watch_state st(book);
      std::size_t clients = 0;
      {
        auto pool = std::make_unique<watcher_pool>();
        for (std::size_t first = 0; first < riders; first += kSubscriptionsPerClient) {
          auto c = std::make_shared<stomp_watcher>(pool->io, first, std::min(kSubscriptionsPerClient, riders - first), st);
          pool->clients.push_back(c);
          net::post(pool->io, [c, port = cl.ws->port()] { c->start(port); });
          ++clients;
        }
        const auto ready_deadline = steady::now() + std::chrono::seconds(20);
        while (st.ready.load() + st.failed.load() < clients && steady::now() < ready_deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (st.ready.load() < clients) {
          pool.reset();
          throw std::runtime_error("STOMP clients not subscribed: " + std::to_string(st.ready.load()) + " of " +
                                   std::to_string(clients) + " ready; " + st.first_error);
        }
        const std::uint64_t unmatched_setup = st.unmatched.load();

        // Paced XADDs: fix k (rider k % riders) due at k / rate s; each rider
        // moves at 5 m/s between its fixes (riders / rate s apart).
        std::vector<geo_point> where(riders);
        for (std::size_t i = 0; i < riders; ++i) where[i] = start_point(i);
        const double step = 5.0 * static_cast<double>(riders) / rate / kMetresPerDegreeLon;
        std::vector<std::pair<std::size_t, long long>> batch;
        const double cpu_nodes0 = cl.trackers_cpu(), cpu_ws0 = cl.ws->cpu_seconds();
        const auto t0 = steady::now();
        std::size_t k = 0;
        while (k < total) {
          const double elapsed = std::chrono::duration<double>(steady::now() - t0).count();
          const std::size_t due = std::min(total, static_cast<std::size_t>(elapsed * rate) + 1);
          if (due <= k) {
            std::this_thread::sleep_until(t0 + std::chrono::nanoseconds(static_cast<long long>(static_cast<double>(k) * 1e9 / rate)));
            continue;
          }
          batch.clear();
          for (; k < due; ++k) {
            const std::size_t i = k % riders;
            where[i].lon += step;
            const timestamp_ms t = now_ms();
            producer.add(make_position(i, k, t, where[i]));
            batch.emplace_back(i, t);
          }
          const long long ns = steady_ns();
          for (const auto& [i, t] : batch) book.push(i, t, ns);
          producer.flush();
        }
        const double send_s = std::chrono::duration<double>(steady::now() - t0).count();
        wait_acked(watch, cl, 120, "positions");
        const double cpu_nodes = cl.trackers_cpu() - cpu_nodes0, cpu_ws = cl.ws->cpu_seconds() - cpu_ws0;
        const long long records = cl.position_records();  // acked = durable: final
        const auto drain_deadline = steady::now() + std::chrono::seconds(5);
        while (st.matched.load() < static_cast<std::uint64_t>(records) && steady::now() < drain_deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // stragglers beyond `records`
        const double wall = std::chrono::duration<double>(steady::now() - t0).count();
        pool.reset();  // joins the io thread: st is ours now
        const node_summary summary = cl.stop();

        std::vector<double>& lat = st.latencies_ms;
        std::sort(lat.begin(), lat.end());
        auto pct = [&](double q) {
          return lat.empty() ? 0.0
                             : lat[std::min(lat.size() - 1, static_cast<std::size_t>(q * static_cast<double>(lat.size())))];
        };
        state.SetIterationTime(wall);
        state.counters["sent"] = static_cast<double>(total);
        state.counters["xadd_per_s"] = static_cast<double>(total) / send_s;
        state.counters["pg_records"] = static_cast<double>(records);
        state.counters["received"] = static_cast<double>(st.matched.load());
        state.counters["lost"] = static_cast<double>(records) - static_cast<double>(st.matched.load());
        state.counters["unmatched"] = static_cast<double>(st.unmatched.load() - unmatched_setup);
        state.counters["rejected"] = static_cast<double>(summary.rejected);
        state.counters["p50_ms"] = pct(0.50);
        state.counters["p99_ms"] = pct(0.99);
        state.counters["max_ms"] = lat.empty() ? 0.0 : lat.back();
        state.counters["nodes_cpu_us_per_ev"] = cpu_nodes * 1e6 / static_cast<double>(total);
        state.counters["ws_cpu_us_per_ev"] = cpu_ws * 1e6 / static_cast<double>(total);
        if (!st.first_error.empty()) throw std::runtime_error("STOMP client: " + st.first_error);
        if (static_cast<double>(records) < 0.99 * static_cast<double>(total))
          throw std::runtime_error("only " + std::to_string(records) + " position records for " +
                                   std::to_string(total) + " positions sent: the tracker filtered them");
      }
    });
    if (state.error_occurred()) break;
  }
}
BENCHMARK(BM_ClusterLatency)
    ->ArgNames({"nodes", "rate"})
    ->Args({1, 2'000})
    ->Args({2, 2'000})
    ->Args({1, 8'000})
    ->Args({2, 8'000})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xiaoxiang

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  struct sigaction sa {};
  sa.sa_handler = xiaoxiang::on_fatal_signal;
  ::sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  std::set_terminate([] {
    xiaoxiang::emergency_cleanup();
    std::abort();
  });
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;  // the servers' destructors (function-local statics) stop them
}
