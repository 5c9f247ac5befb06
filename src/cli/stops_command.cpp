// `xiaoxiang stops FILE.normalized.csv`: stop detection on a normalized GPS
// file (track_id,timestamp_ms,lon,lat), one output row per stop in the
// columns of MovingPandas' reference output, for comparing with it.
#include <charconv>
#include <cmath>
#include <fstream>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "command.hpp"
#include "xiaoxiang/anomaly/stop_detector.hpp"

namespace xiaoxiang::cli {
namespace {

constexpr const char* kHelp =
    "usage: xiaoxiang stops FILE.normalized.csv [--max-diameter M] [--min-duration S]\n"
    "                       [--mode movingpandas|streaming] [--track ID]\n"
    "\n"
    "Detects stops in every track of a normalized GPS file (header\n"
    "'track_id,timestamp_ms,lon,lat', rows grouped by track) and writes one CSV row\n"
    "per stop to stdout:\n"
    "  dataset,track_id,stop_index,start_ms,end_ms,duration_s,n_points,median_lon,median_lat\n"
    "(dataset = the file name without '.normalized.csv').\n"
    "\n"
    "  --max-diameter M  metres (default 30)\n"
    "  --min-duration S  seconds, decimals allowed (default 60)\n"
    "  --mode            movingpandas (default): exactly MovingPandas'\n"
    "                    TrajectoryStopDetector(max_diameter, min_duration);\n"
    "                    streaming: the engine's per-fix rule (radius M/2 around the\n"
    "                    stop's mean position, one GPS spike tolerated)\n"
    "  --track ID        only this track\n"
    "\n"
    "Fixes of a track are sorted by time and repeated times keep the first, as\n"
    "MovingPandas does; tracks with fewer than 2 fixes are skipped. On a bad row\n"
    "the command stops with exit code 1 and a message naming the line and field.\n"
    "Exit codes: 0 ok, 1 bad input, 2 bad usage, 3 cannot read the file.\n";

bool parse_int(std::string_view text, std::int64_t& v) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool parse_double(std::string_view text, double& v) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// Python's repr of a float: the shortest round-trip text, ".0" when integral.
void write_repr(std::ostream& out, double v) {
  char buffer[40];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out << text;
  if (text.find_first_of(".eni") == std::string_view::npos) out << ".0";
}

struct track_writer {
  std::ostream& out;
  std::string dataset;
  stop_options options;
  stop_detector detector;
  std::vector<timestamp_ms> times;
  std::vector<geo_point> points;

  // Returns false with `error` set when the detector rejects the track.
  bool flush(const std::string& track, std::string& error) {
    if (times.size() >= 2) {
      auto stops = detector.detect(times, points, options);
      if (!stops) {
        error = "track " + track + ": " + stops.message();
        return false;
      }
      std::size_t index = 0;
      for (const stop& s : *stops) {
        out << dataset << ',' << track << ',' << index++ << ',' << s.start_ms << ',' << s.end_ms
            << ',';
        write_repr(out, s.duration_s);
        out << ',' << s.n_points << ',';
        write_repr(out, s.median_lon);
        out << ',';
        write_repr(out, s.median_lat);
        out << '\n';
      }
    }
    times.clear();
    points.clear();
    return true;
  }
};

int run(invocation& call) {
  options opts({}, {"max-diameter", "min-duration", "mode", "track"});
  if (!opts.parse(call.args)) {
    call.err << "xiaoxiang stops: " << opts.error() << "\n" << kHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kHelp;
    return exit_ok;
  }
  const auto diameter = opts.get_double("max-diameter", 30.0, 1e-9, 1e7);
  const auto min_duration = opts.get_double("min-duration", 60.0, 0.0, 1e9);
  if (!diameter || !min_duration) {
    call.err << "xiaoxiang stops: " << opts.error() << "\n";
    return exit_usage;
  }
  stop_options so;
  so.max_diameter_m = *diameter;
  so.min_duration_ms = static_cast<duration_ms>(std::llround(*min_duration * 1000.0));
  const std::string mode = opts.get("mode").value_or("movingpandas");
  if (mode == "movingpandas") {
    so.mode = stop_mode::movingpandas;
  } else if (mode == "streaming") {
    so.mode = stop_mode::streaming;
  } else {
    call.err << "xiaoxiang stops: --mode: expected movingpandas or streaming, got '" << mode
             << "'\n";
    return exit_usage;
  }
  if (opts.positional().size() != 1) {
    call.err << "xiaoxiang stops: expected one FILE.normalized.csv\n" << kHelp;
    return exit_usage;
  }
  const std::string path = opts.positional().front();
  std::ifstream file(path);
  if (!file) {
    call.err << "xiaoxiang stops: cannot read " << path << "\n";
    return exit_failure;
  }
  std::string dataset = path.substr(path.find_last_of('/') == std::string::npos
                                        ? 0
                                        : path.find_last_of('/') + 1);
  constexpr std::string_view kSuffix = ".normalized.csv";
  if (dataset.size() > kSuffix.size() && dataset.ends_with(kSuffix))
    dataset.resize(dataset.size() - kSuffix.size());
  const std::optional<std::string> only = opts.get("track");

  track_writer writer{call.out, dataset, so, {}, {}, {}};
  auto bad = [&](long line, const std::string& what) {
    call.err << "xiaoxiang stops: " << path << ": line " << line << ": " << what << "\n";
    return exit_bad_input;
  };
  std::string text, current, error;
  bool have_track = false;
  long line = 0;
  call.out << "dataset,track_id,stop_index,start_ms,end_ms,duration_s,n_points,median_lon,"
              "median_lat\n";
  while (std::getline(file, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (line == 1) {
      if (text != "track_id,timestamp_ms,lon,lat")
        return bad(line, "header: expected 'track_id,timestamp_ms,lon,lat'");
      continue;
    }
    if (text.empty()) continue;
    std::string_view fields[4];
    std::string_view rest = text;
    std::size_t count = 0;
    while (count < 4) {
      const auto comma = rest.find(',');
      fields[count++] = rest.substr(0, comma);
      if (comma == std::string_view::npos) {
        rest = {};
        break;
      }
      rest.remove_prefix(comma + 1);
      if (count == 4) return bad(line, "lat: unexpected fifth field");
    }
    static constexpr const char* kNames[] = {"track_id", "timestamp_ms", "lon", "lat"};
    if (count < 4) return bad(line, std::string(kNames[count]) + ": missing");
    if (fields[0].empty()) return bad(line, "track_id: empty");
    std::int64_t t = 0;
    geo_point p;
    if (!parse_int(fields[1], t) || t < 0)
      return bad(line, "timestamp_ms: not a non-negative integer '" + std::string(fields[1]) + "'");
    if (!parse_double(fields[2], p.lon) || !(p.lon >= -180 && p.lon <= 180))
      return bad(line, "lon: not a longitude in [-180, 180] '" + std::string(fields[2]) + "'");
    if (!parse_double(fields[3], p.lat) || !(p.lat >= -90 && p.lat <= 90))
      return bad(line, "lat: not a latitude in [-90, 90] '" + std::string(fields[3]) + "'");
    if (!have_track || fields[0] != current) {
      if (have_track && !writer.flush(current, error)) return bad(line, error);
      current.assign(fields[0]);
      have_track = true;
    }
    if (only && *only != current) continue;
    writer.times.push_back(t);
    writer.points.push_back(p);
  }
  if (have_track && !writer.flush(current, error)) return bad(line, error);
  return exit_ok;
}

const bool registered = register_command(
    {"stops", "stop detection on a normalized GPS file (MovingPandas-compatible)", run});

}  // namespace
}  // namespace xiaoxiang::cli
