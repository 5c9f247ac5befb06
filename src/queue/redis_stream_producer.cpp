#include "xiaoxiang/queue/redis_stream_producer.hpp"

#include "xiaoxiang/order/event_json.hpp"

namespace xiaoxiang {

std::string event_stream_name(const redis_stream_options& streams, std::uint32_t partition) {
  return streams.stream_prefix + std::to_string(partition);
}

redis_stream_producer::redis_stream_producer(redis_stream_producer_options options)
    : options_(std::move(options)),
      connection_(options_.connection),
      router_(options_.streams.partitions) {
  for (std::uint32_t p = 0; p < router_.partitions(); ++p)
    streams_.push_back(event_stream_name(options_.streams, p));
  if (options_.max_stream_length > 0) maxlen_ = std::to_string(options_.max_stream_length);
}

redis_stream_producer::~redis_stream_producer() {
  try {
    flush();
  } catch (...) {  // a destructor must not throw; flush() reports failures
  }
}

std::size_t redis_stream_producer::add(const event& e) {
  router_.route(e, targets_);
  json_.clear();
  event_to_json(e, json_);
  // A position written to several partitions names them all in field "p",
  // so that a consumer owning more than one of them ingests one copy
  // (docs/scaling.md: copies of a shared position).
  copies_.clear();
  if (targets_.size() > 1)
    for (const std::uint32_t p : targets_) {
      if (!copies_.empty()) copies_ += ',';
      copies_ += std::to_string(p);
    }
  args_.clear();
  args_.push_back("XADD");
  args_.push_back("");  // the stream, below
  if (!maxlen_.empty()) {
    args_.push_back("MAXLEN");
    args_.push_back("~");
    args_.push_back(maxlen_);
  }
  args_.push_back("*");
  args_.push_back("e");
  args_.push_back(json_);
  if (!copies_.empty()) {
    args_.push_back("p");
    args_.push_back(copies_);
  }
  for (const std::uint32_t p : targets_) {
    args_[1] = streams_[p];
    connection_.append(std::span<const std::string_view>(args_));
    ++in_flight_;
  }
  ++events_;
  entries_ += targets_.size();
  if (in_flight_ >= options_.pipeline_entries) flush();
  return targets_.size();
}

void redis_stream_producer::flush() {
  while (in_flight_ > 0) {
    --in_flight_;
    expect_no_error(connection_.get_reply(), "XADD");
  }
}

}  // namespace xiaoxiang
