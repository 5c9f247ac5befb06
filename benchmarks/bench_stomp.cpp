// STOMP: the frame codec and the session's delivery path. Baseline: the
// parser people write first (getline over an istringstream, a std::map of
// headers per frame), in the same binary.
#include <benchmark/benchmark.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "xiaoxiang/server/stomp_session.hpp"
#include "xiaoxiang/transport/broker.hpp"
#include "xiaoxiang/transport/stomp_frame.hpp"

namespace {

using namespace xiaoxiang;

// A rider app's SEND of one position, as @stomp/stompjs writes it.
std::string send_frame(int i) {
  const std::string body = R"({"type":"rider_position","eventId":"E)" + std::to_string(i) +
                           R"(","time":1764000015000,"riderId":"R1","longitude":116.41,"latitude":39.905})";
  const std::string receipt = "r-" + std::to_string(i);
  const stomp_header hs[] = {{"destination", "/app/tracking"},
                             {"content-type", "application/json"},
                             {"receipt", receipt}};
  std::string out;
  encode_frame(stomp_frame{stomp_command::send, hs, body}, out);
  return out;
}

std::string send_stream(std::size_t frames) {
  std::string stream;
  for (std::size_t i = 0; i < frames; ++i) stream += send_frame(static_cast<int>(i)) + "\n";
  return stream;
}

// Feeds the stream in `chunk`-byte slices (a WebSocket message each).
void BM_StompParse(benchmark::State& state) {
  const std::string stream = send_stream(static_cast<std::size_t>(state.range(0)));
  const auto chunk = static_cast<std::size_t>(state.range(1));
  stomp_parser parser;
  std::size_t frames = 0;
  for (auto _ : state) {
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      const auto st = parser.feed(std::string_view(stream).substr(at, chunk), [&](const stomp_frame& f) {
        benchmark::DoNotOptimize(f.body.data());
        ++frames;
      });
      if (!st.ok()) state.SkipWithError("parse failed");
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(frames));
  state.SetBytesProcessed(static_cast<std::int64_t>(stream.size()) * state.iterations());
}
BENCHMARK(BM_StompParse)->ArgNames({"frames", "chunk"})->Args({1000, 4096})->Args({1000, 64});

// The baseline: whole stream in memory, split at NUL, getline per header,
// a std::map per frame, no escapes, no limits.
void BM_StompParseNaiveBaseline(benchmark::State& state) {
  const std::string stream = send_stream(static_cast<std::size_t>(state.range(0)));
  std::size_t frames = 0;
  for (auto _ : state) {
    std::size_t start = 0;
    while (start < stream.size()) {
      while (start < stream.size() && stream[start] == '\n') ++start;
      const std::size_t nul = stream.find('\0', start);
      if (nul == std::string::npos) break;
      std::istringstream in(stream.substr(start, nul - start));
      std::string command, line;
      std::getline(in, command);
      std::map<std::string, std::string> headers;
      while (std::getline(in, line) && !line.empty()) {
        const auto colon = line.find(':');
        headers.emplace(line.substr(0, colon), line.substr(colon + 1));
      }
      std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      benchmark::DoNotOptimize(body.data());
      ++frames;
      start = nul + 1;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(frames));
  state.SetBytesProcessed(static_cast<std::int64_t>(stream.size()) * state.iterations());
}
BENCHMARK(BM_StompParseNaiveBaseline)->ArgNames({"frames"})->Arg(1000);

// One MESSAGE frame as the session writes it, into a reused buffer.
void BM_StompEncodeMessage(benchmark::State& state) {
  const std::string body(static_cast<std::size_t>(state.range(0)), 'x');
  const std::string length = std::to_string(body.size());
  const stomp_header hs[] = {{"subscription", "sub-0"},       {"message-id", "123456"},
                             {"destination", "/topic/orders/O123456"},
                             {"content-type", "application/json"},
                             {"content-length", length},
                             {"x-version", "42"}};
  std::string out;
  for (auto _ : state) {
    out.clear();
    encode_frame(stomp_frame{stomp_command::message, hs, body}, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StompEncodeMessage)->ArgNames({"body_bytes"})->Arg(120)->Arg(600);

// A channel that only counts (the socket's cost is the server's).
class null_channel final : public message_channel {
 public:
  void send(std::string_view message) override { bytes_ += message.size(); }
  std::size_t queued_bytes() const noexcept override { return 0; }
  void close(int, std::string_view) override {}
  std::size_t bytes_ = 0;
};

// broker.publish of one position delta per order to `sessions` STOMP
// sessions, each subscribed to its own order: the per-MESSAGE cost of the
// session (lock, bound check, encode, send) plus the broker's fan-out.
void BM_StompSessionDeliver(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  broker hub;
  std::vector<null_channel> channels(n);
  std::vector<std::unique_ptr<stomp_session>> sessions;
  std::vector<tracking_state> states(n);
  for (std::size_t i = 0; i < n; ++i) {
    sessions.push_back(std::make_unique<stomp_session>(stomp_session_options{}, hub, nullptr, channels[i]));
    states[i].order = *order_id::make("O" + std::to_string(i));
    states[i].version = 1;
    states[i].status = order_status::delivering;
    hub.publish(states[i], field::all);
    sessions[i]->on_message(std::string("CONNECT\naccept-version:1.2\n\n\0", 29));
    const std::string sub = "SUBSCRIBE\nid:0\ndestination:/topic/orders/" + states[i].order.str() +
                            "\nx-since-version:1\n\n" + std::string(1, '\0');
    sessions[i]->on_message(sub);
  }
  std::size_t messages = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) {
      auto& s = states[i];
      ++s.version;
      s.position = {116.40 + 1e-6 * static_cast<double>(s.version % 1000), 39.90};
      s.has_position = true;
      hub.publish(s, field::position);
      ++messages;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  std::uint64_t out = 0;
  for (auto& s : sessions) out += s->metrics().messages_out;
  state.counters["messages_out"] = static_cast<double>(out);
}
BENCHMARK(BM_StompSessionDeliver)->ArgNames({"sessions"})->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
