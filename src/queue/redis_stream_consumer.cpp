#include "xiaoxiang/queue/redis_stream_consumer.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <thread>
#include <unordered_map>

#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/redis/partition.hpp"

namespace xiaoxiang {

redis_stream_consumer::redis_stream_consumer(tracker& engine,
                                             redis_stream_consumer_options options)
    : engine_(engine), options_(std::move(options)), connection_(options_.connection) {
  partitions_ = options_.partitions;
  if (partitions_.empty())
    for (std::uint32_t p = 0; p < std::max(options_.streams.partitions, 1u); ++p)
      partitions_.push_back(p);
  scope_.count = std::max(options_.streams.partitions, 1u);
  scope_.in.assign(scope_.count, false);
  for (const std::uint32_t p : partitions_) {
    streams_.push_back(event_stream_name(options_.streams, p));
    history_from_.push_back("0");
    if (p >= owned_.size()) owned_.resize(p + 1, false);
    owned_[p] = true;
  }
  count_ = std::to_string(std::max<std::size_t>(options_.batch_entries, 1));
  block_ = std::to_string(std::max<duration_ms>(options_.block_ms, 1));
  min_idle_ = std::to_string(std::max<duration_ms>(options_.claim_min_idle_ms, 0));
  for (const std::string& s : streams_) {
    const redis_value r =
        connection_.command({"XGROUP", "CREATE", s, options_.group, "0", "MKSTREAM"});
    if (r.is_error() && r.str.rfind("BUSYGROUP", 0) != 0) expect_no_error(r, "XGROUP CREATE " + s);
  }
}

redis_stream_consumer::~redis_stream_consumer() = default;

redis_consumer_metrics redis_stream_consumer::metrics() const {
  redis_consumer_metrics m = metrics_;
  m.unacked = unacked_.size();
  m.waiting_copies = waiting_entries_;
  return m;
}

std::size_t redis_stream_consumer::owned_copies(std::uint32_t partition,
                                                std::string_view copies) const {
  // How many of the event's partitions ("2,5") this consumer reads. A list
  // that does not name this partition counts as one: the copy is ingested
  // at once (the engine's event ids decide). 0: the list does not parse.
  std::size_t owned = 0;
  bool names_this = false;
  std::size_t start = 0;
  while (start <= copies.size()) {
    const std::size_t comma = std::min(copies.find(',', start), copies.size());
    std::uint32_t p = 0;
    const char* first = copies.data() + start;
    const char* last = copies.data() + comma;
    const auto [end, ec] = std::from_chars(first, last, p);
    if (ec != std::errc() || end != last) return 0;  // also an empty item
    names_this |= p == partition;
    if (p < owned_.size() && owned_[p]) ++owned;
    start = comma + 1;
  }
  return names_this ? std::max<std::size_t>(owned, 1) : 1;
}

void redis_stream_consumer::ingest_entry(std::uint32_t stream, const redis_value& entry) {
  ++metrics_.entries_read;
  std::string id(entry.at(0).text());
  const redis_value& fields = entry.at(1);
  std::string_view json, copies;
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    if (fields.elements[i].text() == "e") json = fields.elements[i + 1].text();
    else if (fields.elements[i].text() == "p") copies = fields.elements[i + 1].text();
  }
  auto decoded = event_from_json(json);
  if (json.empty() || !decoded) {
    // Never decodable, so never ingestible: acknowledge (a poison entry must
    // not block the partition) and count it.
    ++metrics_.malformed;
    ack_now_.emplace_back(stream, std::move(id));
    return;
  }
  const std::uint32_t partition = partitions_[stream];
  std::size_t expected = copies.empty() ? 1 : owned_copies(partition, copies);
  if (expected == 0) {
    // A producer's bug or a foreign writer: the event itself is good, so it
    // is not lost; ingested at once like an unshared one, and counted.
    ++metrics_.malformed_copies;
    expected = 1;
  }
  if (expected == 1) {
    // On the stack: no allocation per entry on the common path.
    std::pair<std::uint32_t, std::string> one[] = {{stream, std::move(id)}};
    const std::uint32_t only[] = {partition};
    ingest_and_ack(*decoded, one, only);
    return;
  }
  // A rider's position written to several partitions this consumer reads:
  // ingest it once, when the copy of the last of them arrives. Each copy
  // stands after the events of its partition the producer wrote before it
  // (the rider's assignment to an order there), so by then every order the
  // position concerns is known here, however far apart the partitions'
  // backlogs are; and the other copies are not ingested again later, when
  // the rider's duplicate memory may have forgotten the event.
  auto& instances = waiting_[std::string(json)];
  auto it = std::find_if(instances.begin(), instances.end(), [&](const waiting_copies& w) {
    return std::find(w.partitions.begin(), w.partitions.end(), partition) == w.partitions.end();
  });
  if (it == instances.end()) {  // the first copy (or the event was added twice)
    instances.emplace_back();
    it = std::prev(instances.end());
    it->since = std::chrono::steady_clock::now();
  }
  it->partitions.push_back(partition);
  it->entries.emplace_back(stream, std::move(id));
  ++waiting_entries_;
  if (it->partitions.size() < expected) return;
  entry_refs entries = std::move(it->entries);
  const std::vector<std::uint32_t> merged = std::move(it->partitions);
  instances.erase(it);
  if (instances.empty()) waiting_.erase(std::string(json));
  waiting_entries_ -= entries.size();
  metrics_.shared_copies += entries.size() - 1;
  ingest_and_ack(*decoded, entries, merged);
}

void redis_stream_consumer::ingest_waiting() {
  // Copies whose siblings never came (trimmed, or a producer's list naming a
  // partition it did not write): ingest what arrived, once.
  const auto limit = std::chrono::steady_clock::now() -
                     std::chrono::milliseconds(std::max<duration_ms>(options_.shared_copy_wait_ms, 0));
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto& instances = it->second;
    for (auto w = instances.begin(); w != instances.end();) {
      if (w->since > limit) {
        ++w;
        continue;
      }
      const auto decoded = event_from_json(it->first);
      entry_refs entries = std::move(w->entries);
      const std::vector<std::uint32_t> merged = std::move(w->partitions);
      waiting_entries_ -= entries.size();
      metrics_.shared_copies += entries.size() - 1;
      ++metrics_.shared_copies_timed_out;
      w = instances.erase(w);
      if (decoded) ingest_and_ack(*decoded, entries, merged);
    }
    it = instances.empty() ? waiting_.erase(it) : std::next(it);
  }
}

bool redis_stream_consumer::partition_scope::includes(const order_id& order) const noexcept {
  const std::uint32_t p = partition_of(order.view(), count);
  return p < in.size() && in[p];
}

void redis_stream_consumer::ingest_and_ack(const event& e,
                                           std::span<std::pair<std::uint32_t, std::string>> entries,
                                           std::span<const std::uint32_t> partitions) {
  // A position moves only the rider's orders of the partitions it was read
  // from: this node may not have read its other partitions up to it.
  const bool scoped =
      e.kind == event_kind::rider_position || e.kind == event_kind::position_batch;
  if (scoped)
    for (const std::uint32_t p : partitions)
      if (p < scope_.in.size()) scope_.in[p] = true;
  auto ingest = [&] { return scoped ? engine_.ingest(e, scope_) : engine_.ingest(e); };
  ingest_result r = ingest();
  while (r.code == errc::queue_full) {
    // Back-pressure: the write-behind queue is full; wait for it to drain.
    ++metrics_.queue_full_waits;
    engine_.flush();
    r = ingest();
  }
  if (scoped)
    for (const std::uint32_t p : partitions)
      if (p < scope_.in.size()) scope_.in[p] = false;
  std::uint64_t ticket = 0;  // 0: acknowledge at once
  switch (r.status) {
    case ingest_status::accepted:
      ++metrics_.accepted;
      if (r.durable_ticket != 0) {
        last_ticket_ = std::max(last_ticket_, r.durable_ticket);
        ticket = r.durable_ticket;
      }
      break;
    case ingest_status::duplicate:
      // Its first copy may be this consumer's own, not yet durable: ack it
      // behind everything ingested so far.
      ++metrics_.duplicates;
      ticket = last_ticket_;
      break;
    case ingest_status::rejected:
      ++metrics_.rejected;
      break;
  }
  for (auto& [stream, id] : entries) {
    if (ticket == 0) ack_now_.emplace_back(stream, std::move(id));
    else unacked_.push_back({stream, std::move(id), ticket});
  }
}

std::size_t redis_stream_consumer::ingest_entries(std::uint32_t stream, const redis_value& entries,
                                                  bool claimed) {
  for (const redis_value& entry : entries.elements) {
    if (entry.at(1).is_nil()) {
      // A pending entry deleted from the stream (trimmed): nothing to ingest.
      ack_now_.emplace_back(stream, std::string(entry.at(0).text()));
      ++metrics_.malformed;
      continue;
    }
    ingest_entry(stream, entry);
    if (claimed) ++metrics_.claimed;
  }
  return entries.elements.size();
}

void redis_stream_consumer::send_acks(std::vector<std::pair<std::uint32_t, std::string>>& ready) {
  if (ready.empty()) return;
  // One XACK per stream, pipelined.
  std::unordered_map<std::uint32_t, std::vector<std::string_view>> by_stream;
  for (const auto& [stream, id] : ready) {
    auto& args = by_stream[stream];
    if (args.empty()) {
      args.push_back("XACK");
      args.push_back(streams_[stream]);
      args.push_back(options_.group);
    }
    args.push_back(id);
  }
  for (const auto& [stream, args] : by_stream) connection_.append(args);
  for (std::size_t i = 0; i < by_stream.size(); ++i) expect_no_error(connection_.get_reply(), "XACK");
  metrics_.acked += ready.size();
  ready.clear();
}

std::size_t redis_stream_consumer::ack_durable() {
  const std::uint64_t durable = engine_.durable_sequence();
  while (!unacked_.empty() && unacked_.front().ticket <= durable) {
    ack_now_.emplace_back(unacked_.front().stream, std::move(unacked_.front().id));
    unacked_.pop_front();
  }
  const std::size_t n = ack_now_.size();
  send_acks(ack_now_);
  return n;
}

std::size_t redis_stream_consumer::poll() {
  ack_durable();
  if (unacked_.size() >= options_.max_unacked_entries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return 0;
  }
  std::size_t ingested = 0;
  // After a start: this consumer's own pending entries (delivered before a
  // crash, never acknowledged), stream by stream, before anything new.
  bool history = false;
  for (std::uint32_t s = 0; s < streams_.size(); ++s) {
    if (history_from_[s].empty()) continue;
    history = true;
    const redis_value r = expect_no_error(
        connection_.command({"XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT",
                             count_, "STREAMS", streams_[s], history_from_[s]}),
        "XREADGROUP");
    const redis_value& entries = r.at(0).at(1);
    if (entries.elements.empty()) {
      history_from_[s].clear();
      continue;
    }
    history_from_[s] = std::string(entries.elements.back().at(0).text());
    ingested += ingest_entries(s, entries, false);
  }
  if (history) {
    ack_durable();
    return ingested;
  }

  std::vector<std::string_view> args{"XREADGROUP", "GROUP", options_.group, options_.consumer,
                                     "COUNT", count_, "BLOCK", block_, "STREAMS"};
  for (const std::string& s : streams_) args.push_back(s);
  for (std::size_t i = 0; i < streams_.size(); ++i) args.push_back(">");
  const redis_value r = expect_no_error(connection_.command(args), "XREADGROUP");
  for (const redis_value& per_stream : r.elements) {
    const std::string_view name = per_stream.at(0).text();
    for (std::uint32_t s = 0; s < streams_.size(); ++s)
      if (streams_[s] == name) {
        ingested += ingest_entries(s, per_stream.at(1), false);
        break;
      }
  }
  if (!waiting_.empty()) ingest_waiting();
  ack_durable();
  return ingested;
}

std::size_t redis_stream_consumer::claim() {
  std::size_t claimed = 0;
  for (std::uint32_t s = 0; s < streams_.size(); ++s) {
    std::string start = "0-0";
    do {
      const redis_value r = expect_no_error(
          connection_.command({"XAUTOCLAIM", streams_[s], options_.group, options_.consumer,
                               min_idle_, start, "COUNT", count_}),
          "XAUTOCLAIM");
      if (!r.is_array()) throw error(make_error_code(errc::redis_reply), "XAUTOCLAIM: not an array");
      start = std::string(r.at(0).text());
      claimed += ingest_entries(s, r.at(1), true);
      ack_durable();
    } while (!start.empty() && start != "0-0");
  }
  return claimed;
}

void redis_stream_consumer::drain() {
  engine_.flush();
  ack_durable();
}

void redis_stream_consumer::run(const std::atomic<bool>& stop) {
  const auto claim_every = std::chrono::milliseconds(std::max<duration_ms>(options_.claim_min_idle_ms / 2, 10));
  auto next_claim = std::chrono::steady_clock::now();
  while (!stop.load(std::memory_order_relaxed)) {
    if (std::chrono::steady_clock::now() >= next_claim) {
      claim();
      next_claim = std::chrono::steady_clock::now() + claim_every;
    }
    poll();
  }
  drain();
}

}  // namespace xiaoxiang
