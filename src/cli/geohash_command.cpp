// `xiaoxiang geohash encode|decode`: GeoHash conversion of text streams, one
// record per line, for shell pipelines and data preparation.
#include <charconv>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>

#include "command.hpp"
#include "xiaoxiang/geo/geohash.hpp"

namespace xiaoxiang::cli {
namespace {

constexpr const char* kHelp =
    "usage: xiaoxiang geohash <encode|decode> [options]\n"
    "\n"
    "GeoHash conversion of stdin to stdout, one record per line (GeographicLib's\n"
    "conventions: a point on a cell border belongs to the upper / eastern cell).\n"
    "\n"
    "  encode --precision N   'lon,lat' lines -> GeoHash of N characters (1..12, default 12)\n"
    "  decode                 GeoHash lines -> 'lon,lat,lon_err,lat_err': the cell centre\n"
    "                         and half its width and height, in degrees\n"
    "\n"
    "Numbers may be in any decimal or exponent notation; output doubles are the\n"
    "shortest text that reads back to the same value. On a bad line the command\n"
    "stops with exit code 1 and a message naming the line and the field.\n"
    "Run 'xiaoxiang geohash encode --help' or '... decode --help' for details.\n";

constexpr const char* kEncodeHelp =
    "usage: xiaoxiang geohash encode [--precision N] < points.csv\n"
    "\n"
    "Reads 'lon,lat' lines (degrees, WGS-84; spaces around the numbers allowed)\n"
    "and writes one GeoHash of N characters (1..12, default 12) per line.\n"
    "Exit codes: 0 ok, 1 bad input line, 2 bad usage.\n";

constexpr const char* kDecodeHelp =
    "usage: xiaoxiang geohash decode < hashes.txt\n"
    "\n"
    "Reads one GeoHash per line (1..12 characters of 0-9 b-z without i, l, o;\n"
    "upper case accepted) and writes 'lon,lat,lon_err,lat_err': the cell\n"
    "centre and half the cell's width and height, in degrees.\n"
    "Exit codes: 0 ok, 1 bad input line, 2 bad usage.\n";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A whole field as a double: decimal or exponent notation, optional sign.
bool parse_number(std::string_view text, double& value) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

void write_double(std::ostream& out, double v) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  out.write(buffer, end - buffer);
}

int bad_line(invocation& call, const char* sub, long line, const std::string& what) {
  call.err << "xiaoxiang geohash " << sub << ": line " << line << ": " << what << "\n";
  return exit_bad_input;
}

int encode(invocation& call, const std::vector<std::string>& args) {
  options opts({}, {"precision"});
  if (!opts.parse(args)) {
    call.err << "xiaoxiang geohash encode: " << opts.error() << "\n" << kEncodeHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kEncodeHelp;
    return exit_ok;
  }
  const auto precision = opts.get_int("precision", geohash_max_precision, 1, geohash_max_precision);
  if (!precision || !opts.positional().empty()) {
    call.err << "xiaoxiang geohash encode: "
             << (precision ? "unexpected argument '" + opts.positional().front() + "'" : opts.error())
             << "\n";
    return exit_usage;
  }
  std::string text;
  long line = 0;
  while (std::getline(call.in, text)) {
    ++line;
    const std::string_view record = text;
    const auto comma = record.find(',');
    if (comma == std::string_view::npos) {
      return bad_line(call, "encode", line,
                      trim(record).empty() ? "lon: missing (expected 'lon,lat')"
                                           : "lat: missing (expected 'lon,lat')");
    }
    const std::string_view lon_text = record.substr(0, comma);
    const std::string_view lat_text = record.substr(comma + 1);
    geo_point p;
    if (!parse_number(lon_text, p.lon))
      return bad_line(call, "encode", line, "lon: not a number '" + std::string(trim(lon_text)) + "'");
    if (lat_text.find(',') != std::string_view::npos)
      return bad_line(call, "encode", line, "lat: unexpected third field (expected 'lon,lat')");
    if (!parse_number(lat_text, p.lat))
      return bad_line(call, "encode", line, "lat: not a number '" + std::string(trim(lat_text)) + "'");
    const auto h = point_to_geohash(p, static_cast<int>(*precision));
    if (!h) return bad_line(call, "encode", line, h.message());
    call.out << h->view() << '\n';
  }
  return exit_ok;
}

int decode_lines(invocation& call, const std::vector<std::string>& args) {
  options opts({}, {});
  if (!opts.parse(args)) {
    call.err << "xiaoxiang geohash decode: " << opts.error() << "\n" << kDecodeHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kDecodeHelp;
    return exit_ok;
  }
  if (!opts.positional().empty()) {
    call.err << "xiaoxiang geohash decode: unexpected argument '" << opts.positional().front() << "'\n";
    return exit_usage;
  }
  std::string text;
  long line = 0;
  while (std::getline(call.in, text)) {
    ++line;
    const auto cell = decode_geohash(trim(text));
    if (!cell) return bad_line(call, "decode", line, cell.message());
    write_double(call.out, cell->center.lon);
    call.out << ',';
    write_double(call.out, cell->center.lat);
    call.out << ',';
    write_double(call.out, cell->lon_err);
    call.out << ',';
    write_double(call.out, cell->lat_err);
    call.out << '\n';
  }
  return exit_ok;
}

int run(invocation& call) {
  if (call.args.empty()) {
    call.err << kHelp;
    return exit_usage;
  }
  const std::string& sub = call.args.front();
  const std::vector<std::string> rest(call.args.begin() + 1, call.args.end());
  if (sub == "--help" || sub == "-h" || sub == "help") {
    call.out << kHelp;
    return exit_ok;
  }
  if (sub == "encode") return encode(call, rest);
  if (sub == "decode") return decode_lines(call, rest);
  call.err << "xiaoxiang geohash: unknown subcommand '" << sub << "'\n" << kHelp;
  return exit_usage;
}

const bool registered = register_command({"geohash", "GeoHash encode / decode of lon,lat lines", run});

}  // namespace
}  // namespace xiaoxiang::cli
