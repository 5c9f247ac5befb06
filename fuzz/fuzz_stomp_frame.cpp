// Parses arbitrary bytes as a STOMP frame stream (the first byte picks the
// version: escaping differs); every frame that parses must re-encode to bytes
// that parse to the same frame (encode_frame may add a content-length).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "xiaoxiang/transport/stomp_frame.hpp"

namespace {

bool same_frame(const xiaoxiang::stomp_frame_copy& original, xiaoxiang::stomp_frame_copy again) {
  if (again.headers.size() == original.headers.size() + 1 &&
      again.headers.back().first == "content-length" &&
      again.headers.back().second == std::to_string(original.body.size()))
    again.headers.pop_back();
  return again == original;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xiaoxiang;
  if (size == 0) return 0;
  const stomp_version version = data[0] % 3 == 0   ? stomp_version::v1_0
                                : data[0] % 3 == 1 ? stomp_version::v1_1
                                                   : stomp_version::v1_2;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  stomp_limits limits;
  limits.max_frame_bytes = 4096;
  limits.max_body_bytes = 2048;
  limits.max_header_line_bytes = 512;
  limits.max_headers = 16;

  // Parse in two slices (split at a point the input chooses) to exercise the
  // streaming state as well.
  const std::size_t cut = input.empty() ? 0 : static_cast<std::size_t>(data[0]) % (input.size() + 1);
  stomp_parser parser(limits, version);
  std::vector<stomp_frame_copy> frames;
  auto sink = [&](const stomp_frame& f) {
    if (f.headers.size() > limits.max_headers) std::abort();
    frames.push_back(copy_frame(f));
  };
  auto st = parser.feed(input.substr(0, cut), sink);
  if (st.ok()) st = parser.feed(input.substr(cut), sink);
  if (!st.ok()) {
    if (!st.code || st.field == nullptr) std::abort();
    (void)st.message();
  }

  for (const auto& f : frames) {
    std::string encoded;
    encode_frame(f, encoded, version);
    stomp_limits loose;  // the re-encoding may be longer (escapes, content-length)
    loose.max_frame_bytes = 1 << 20;
    loose.max_header_line_bytes = 1 << 20;
    loose.max_headers = limits.max_headers + 1;
    stomp_parser again(loose, version);
    std::vector<stomp_frame_copy> reparsed;
    const auto st2 = again.feed(encoded, [&](const stomp_frame& g) { reparsed.push_back(copy_frame(g)); });
    if (!st2.ok() || reparsed.size() != 1 || !same_frame(f, reparsed.front()) || !again.idle())
      std::abort();
  }
  return 0;
}
