// xiaoxiang sim: runs the simulated city and writes its event stream (JSON
// lines, what a host's queue would carry), the ground truth of the injected
// anomalies and the street map.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <system_error>

#include "command.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/sim/simulation.hpp"

namespace xiaoxiang::cli {
namespace {

constexpr const char* kHelp =
    "usage: xiaoxiang sim --out DIR [--seed S] [--riders N] [--minutes M] [options]\n"
    "       xiaoxiang sim --check FILE\n"
    "\n"
    "Runs the simulated front-warehouse city (docs/sim.md) and writes:\n"
    "  DIR/events.jsonl      one event per line in queue delivery order, with a\n"
    "                        \"deliveredAt\" key (ms) besides the event's own time\n"
    "  DIR/ground_truth.csv  order_id,rider_id,kind,start_ms,end_ms of the anomalies\n"
    "  DIR/city.geojson      streets and warehouses\n"
    "The same seed and options give the same bytes.\n"
    "\n"
    "options:\n"
    "  --out DIR                   output folder (created if missing)\n"
    "  --seed S                    random seed (default 1)\n"
    "  --riders N                  riders (default 50)\n"
    "  --minutes M                 simulated minutes (default 30)\n"
    "  --warehouses W              front warehouses (default 4)\n"
    "  --orders-per-rider-hour X   demand (default 2.5)\n"
    "  --gps-noise-m X             GPS noise, metres (default 5)\n"
    "  --duplicate-rate X          share of events delivered twice (default 0.01)\n"
    "  --drop-rate X               share of position reports lost (default 0.01)\n"
    "  --start MS                  start time, ms since epoch (default 1764036000000)\n"
    "  --check FILE                decode every line of an events.jsonl; report the\n"
    "                              first bad line and exit 1 if any\n"
    "  --help                      this text\n";

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw std::runtime_error("cannot write '" + path.string() + "'");
  file.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!file) throw std::runtime_error("cannot write '" + path.string() + "'");
}

int check(invocation& call, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    call.err << "xiaoxiang sim: cannot read '" << path << "'\n";
    return exit_failure;
  }
  std::string line;
  std::uint64_t lines = 0;
  while (std::getline(file, line)) {
    ++lines;
    const auto decoded = event_from_json(line);
    if (!decoded) {
      call.err << "xiaoxiang sim: " << path << ":" << lines << ": " << decoded.message() << "\n";
      return exit_bad_input;
    }
  }
  call.out << lines << " events decoded\n";
  return exit_ok;
}

int run(invocation& call) {
  options opts({}, {"out", "seed", "riders", "minutes", "warehouses", "orders-per-rider-hour",
                    "gps-noise-m", "duplicate-rate", "drop-rate", "start", "check"});
  if (!opts.parse(call.args)) {
    call.err << "xiaoxiang sim: " << opts.error() << "\n" << kHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kHelp;
    return exit_ok;
  }
  if (const auto file = opts.get("check")) return check(call, *file);
  if (!opts.positional().empty()) {
    call.err << "xiaoxiang sim: unexpected argument '" << opts.positional().front() << "'\n";
    return exit_usage;
  }

  sim_options so;
  const auto seed = opts.get_int("seed", 1, 0, INT64_MAX);
  const auto riders = opts.get_int("riders", 50, 0, 1'000'000);
  const auto minutes = opts.get_int("minutes", 30, 1, 7 * 24 * 60);
  const auto warehouses = opts.get_int("warehouses", 4, 1, 10'000);
  const auto demand = opts.get_double("orders-per-rider-hour", so.orders_per_rider_hour, 0, 60);
  const auto noise = opts.get_double("gps-noise-m", so.gps_noise_m, 0, 1000);
  const auto dup = opts.get_double("duplicate-rate", so.duplicate_rate, 0, 1);
  const auto drop = opts.get_double("drop-rate", so.drop_rate, 0, 1);
  const auto start = opts.get_int("start", so.start, 0, 16'725'225'600'000 - 7LL * 86'400'000);
  if (!seed || !riders || !minutes || !warehouses || !demand || !noise || !dup || !drop || !start) {
    call.err << "xiaoxiang sim: " << opts.error() << "\n";
    return exit_usage;
  }
  const auto out_dir = opts.get("out");
  if (!out_dir || out_dir->empty()) {
    call.err << "xiaoxiang sim: --out DIR is required\n" << kHelp;
    return exit_usage;
  }
  so.seed = static_cast<std::uint64_t>(*seed);
  so.riders = static_cast<int>(*riders);
  so.warehouses = static_cast<int>(*warehouses);
  so.orders_per_rider_hour = *demand;
  so.gps_noise_m = *noise;
  so.duplicate_rate = *dup;
  so.drop_rate = *drop;
  so.start = *start;

  const std::filesystem::path dir(*out_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    call.err << "xiaoxiang sim: cannot create directory '" << dir.string() << "'"
             << (ec ? ": " + ec.message() : std::string()) << "\n";
    return exit_failure;
  }
  const auto events_path = dir / "events.jsonl";
  std::ofstream events(events_path, std::ios::binary | std::ios::trunc);
  if (!events) {
    call.err << "xiaoxiang sim: cannot write '" << events_path.string() << "'\n";
    return exit_failure;
  }

  const auto wall_start = std::chrono::steady_clock::now();
  simulation sim(so);
  std::vector<sim_event> batch;
  std::string text;
  const std::int64_t steps = *minutes * 60;
  for (std::int64_t s = 0; s < steps; ++s) {
    batch.clear();
    sim.step(1000, batch);
    text.clear();
    for (const sim_event& item : batch) append_jsonl(item, text);
    events.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  events.close();
  if (!events) {
    call.err << "xiaoxiang sim: cannot write '" << events_path.string() << "'\n";
    return exit_failure;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  try {
    text.clear();
    append_ground_truth_csv(sim.ground_truth(), text);
    write_file(dir / "ground_truth.csv", text);
    write_file(dir / "city.geojson", sim.city().to_geojson());
  } catch (const std::exception& e) {
    call.err << "xiaoxiang sim: " << e.what() << "\n";
    return exit_failure;
  }

  const sim_counters& c = sim.counters();
  std::size_t by_kind[alert_kind_count] = {};
  for (const auto& row : sim.ground_truth()) ++by_kind[static_cast<std::size_t>(row.kind)];
  auto& out = call.out;
  out << "simulated " << *minutes << " min, " << so.riders << " riders, "
      << sim.city().warehouses().size() << " warehouses, seed " << so.seed << "\n"
      << "events      " << c.events << " (" << c.positions << " positions, " << c.duplicates
      << " duplicates, " << c.late_fixes << " late fixes, " << c.batches << " batches with "
      << c.batch_fixes << " fixes, " << c.dropped_fixes << " fixes dropped)\n"
      << "orders      " << c.orders_created << " created, " << c.orders_paid << " paid, "
      << c.riders_assigned << " assigned, " << c.orders_delivered << " delivered, "
      << c.orders_cancelled << " cancelled\n"
      << "anomalies  ";
  for (std::size_t k = 0; k < alert_kind_count; ++k)
    out << " " << anomaly_kind_name(static_cast<alert_kind>(k)) << " " << by_kind[k];
  out << "\n"
      << "written     " << events_path.string() << ", ground_truth.csv, city.geojson\n";
  // Wall-clock speed goes to stderr so that stdout stays deterministic.
  call.err << std::fixed << std::setprecision(2) << "generated in " << seconds << " s\n";
  return exit_ok;
}

const bool registered =
    register_command({"sim", "run the simulated city; write events.jsonl and ground truth", run});

}  // namespace
}  // namespace xiaoxiang::cli
