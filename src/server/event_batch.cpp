#include "xiaoxiang/server/event_batch.hpp"

namespace xiaoxiang {

result<std::vector<event_batch_line>> decode_event_batch(std::string_view body,
                                                         const event_batch_limits& limits) {
  std::vector<event_batch_line> out;
  std::size_t number = 0;
  while (!body.empty()) {
    const auto nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (out.size() >= limits.max_lines) return {errc::too_large, "body"};
    out.push_back({number, event_from_json(line, limits.line)});
  }
  if (out.empty()) return {errc::missing_field, "body"};
  return out;
}

}  // namespace xiaoxiang
