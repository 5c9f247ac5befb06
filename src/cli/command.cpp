#include "command.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace xiaoxiang::cli {

namespace {
std::map<std::string, command>& table() {
  static std::map<std::string, command> instance;
  return instance;
}
}  // namespace

bool register_command(const command& c) {
  table().emplace(c.name, c);
  return true;
}

const std::map<std::string, command>& commands() { return table(); }

options::options(std::vector<std::string> flags, std::vector<std::string> valued)
    : flags_(std::move(flags)), valued_(std::move(valued)) {}

bool options::parse(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      if (arg.size() > 1 && arg[0] == '-' && arg != "-" && arg != "-h") {
        error_ = "unknown option '" + arg + "'";
        return false;
      }
      if (arg == "-h") {
        values_["help"] = "";
        continue;
      }
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const bool is_flag = name == "help" || std::count(flags_.begin(), flags_.end(), name) > 0;
    const bool is_valued = std::count(valued_.begin(), valued_.end(), name) > 0;
    if (!is_flag && !is_valued) {
      error_ = "unknown option '--" + name + "'";
      return false;
    }
    if (is_flag) {
      if (value) {
        error_ = "option '--" + name + "' takes no value";
        return false;
      }
      values_[name] = "";
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        error_ = "option '--" + name + "' needs a value";
        return false;
      }
      value = args[++i];
    }
    values_[name] = *value;
  }
  return true;
}

bool options::has(std::string_view name) const { return values_.find(name) != values_.end(); }

std::optional<std::string> options::get(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::int64_t> options::get_int(std::string_view name, std::int64_t fallback,
                                             std::int64_t min, std::int64_t max) {
  const auto text = get(name);
  if (!text) return fallback;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    error_ = "option '--" + std::string(name) + "' needs a whole number from " +
             std::to_string(min) + " to " + std::to_string(max) + ", got '" + *text + "'";
    return std::nullopt;
  }
  return value;
}

std::optional<double> options::get_double(std::string_view name, double fallback, double min,
                                          double max) {
  const auto text = get(name);
  if (!text) return fallback;
  double value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || !std::isfinite(value) ||
      value < min || value > max) {
    error_ = "option '--" + std::string(name) + "' needs a number from " + std::to_string(min) +
             " to " + std::to_string(max) + ", got '" + *text + "'";
    return std::nullopt;
  }
  return value;
}

}  // namespace xiaoxiang::cli
