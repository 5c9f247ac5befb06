#include "xiaoxiang/core/time.hpp"

#include <cstdio>
#include <ctime>

namespace xiaoxiang {

std::string format_iso8601(timestamp_ms t) {
  // Floor division so that times before 1970 still print correctly.
  std::int64_t seconds = t / 1000;
  std::int64_t millis = t % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

}  // namespace xiaoxiang
