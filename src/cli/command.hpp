// The xiaoxiang command-line tool's plumbing: subcommands register
// themselves (one <name>_command.cpp each), and a small option parser gives
// every subcommand the same --help and error conventions.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xiaoxiang::cli {

// What a subcommand gets: its arguments (without the program and subcommand
// names) and the streams to use, so tests can run it in-process.
struct invocation {
  std::vector<std::string> args;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

struct command {
  const char* name;     // "geohash"
  const char* summary;  // one line for `xiaoxiang --help`
  int (*run)(invocation&);
};

// Registers a subcommand at static-initialisation time; returns true.
bool register_command(const command& c);
const std::map<std::string, command>& commands();

// Exit codes: 0 success, 1 bad input data, 2 bad usage, 3 environment failure.
inline constexpr int exit_ok = 0;
inline constexpr int exit_bad_input = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_failure = 3;

// Parses "--name value", "--name=value" and boolean "--flag" options.
// Unknown options and missing values are usage errors naming the option.
class options {
 public:
  // `flags` are options without a value; `valued` take one.
  options(std::vector<std::string> flags, std::vector<std::string> valued);

  // False (and `error` set) on a usage error. Positional arguments are kept.
  bool parse(const std::vector<std::string>& args);

  bool has(std::string_view name) const;
  std::optional<std::string> get(std::string_view name) const;
  // Typed getters: nullopt and `error` set when present but malformed.
  std::optional<std::int64_t> get_int(std::string_view name, std::int64_t fallback,
                                      std::int64_t min, std::int64_t max);
  std::optional<double> get_double(std::string_view name, double fallback, double min,
                                   double max);
  const std::vector<std::string>& positional() const { return positional_; }
  const std::string& error() const { return error_; }

 private:
  std::vector<std::string> flags_, valued_;
  std::map<std::string, std::string, std::less<>> values_;
  std::vector<std::string> positional_;
  std::string error_;
};

}  // namespace xiaoxiang::cli
