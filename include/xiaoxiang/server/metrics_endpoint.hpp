// metrics_endpoint: /metrics in the Prometheus text format (0.0.4). A
// registry of collectors, each a callback run at scrape time that reads the
// counters a component already keeps (tracker::metrics(), web_server::stats(),
// broker::metrics(), stomp_session::metrics() ...) and writes them as metric
// families. Nothing is added to the hot paths: the components count with
// relaxed atomics as they did, and the text is built only when Prometheus
// asks. docs/operations.md lists every metric and shows how to add one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xiaoxiang/server/web_server.hpp"
#include "xiaoxiang/track/latency_histogram.hpp"

namespace xiaoxiang {

class tracker;
class broker;

// Label pairs of one sample, e.g. {{"code", "301"}, {"name", "position_too_fast"}}.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

// The text of one scrape. Families keep the order of their first sample;
// calling counter()/gauge()/histogram() again with the same name adds a
// sample (other labels) to that family, so HELP and TYPE appear once.
class metrics_text {
 public:
  // A monotonic count; `name` must end in "_total".
  void counter(std::string_view name, std::string_view help, double value,
               const metric_labels& labels = {});
  // A value that goes up and down (open connections, queue depth).
  void gauge(std::string_view name, std::string_view help, double value,
             const metric_labels& labels = {});
  // A histogram: name_bucket{le=...} for each bound and +Inf, name_sum, name_count.
  void histogram(std::string_view name, std::string_view help, const histogram_snapshot& h,
                 const metric_labels& labels = {});
  // A family with HELP and TYPE and no sample yet (a labelled counter none
  // of whose label values has happened: the name exists in every scrape).
  void declare(std::string_view name, std::string_view type, std::string_view help);

  // The exposition, families in order, ending in a newline.
  std::string str() const;

 private:
  struct family {
    std::string name, type, help, samples;
  };
  family& get(std::string_view name, std::string_view type, std::string_view help);
  std::vector<family> families_;
};

// Writes one collector's families at scrape time; called from the server's
// I/O thread, concurrently with the components' own threads.
using metrics_collector = std::function<void(metrics_text&)>;

// The collectors of a process, scraped together.
class metrics_registry {
 public:
  // Adds a collector (any time, thread-safe). What it reads must outlive
  // the registry's scrapes.
  void add(metrics_collector collector);
  // Runs every collector and returns the exposition. A collector that
  // throws is skipped and counted (xiaoxiang_metrics_collector_errors_total).
  std::string scrape() const;
  // Answers GET/HEAD `path` on `server` with scrape() (405 for other
  // methods). Before server.start(); the registry must outlive the server.
  void mount(web_server& server, std::string path = "/metrics");

 private:
  mutable std::mutex mutex_;
  std::vector<metrics_collector> collectors_;
  mutable std::uint64_t errors_ = 0;  // under mutex_
  mutable std::uint64_t scrapes_ = 0; // under mutex_
};

// The engine's counters: events, accepted, duplicates, rejected by errc
// (labels code and name), published, alerts, the write-behind's backlog
// and the ingest-to-publish / ingest-to-durable latency histograms.
metrics_collector tracker_collector(const tracker& engine);
// The server's connections (TCP, WebSocket, SockJS sessions), requests and
// overflowed channels (web_server::stats()).
metrics_collector web_server_collector(const web_server& server);
// The push broker's subscriptions, deliveries and encodes.
metrics_collector broker_collector(const broker& hub);

// Tracks the live channels of a mount (WebSocket connections or SockJS
// sessions) to report, at scrape time, their STOMP counters (messages in
// and out, errors) and their send-queue depth (the backlog per client) as a
// histogram over connections. Wrap the mount's channel_factory with wrap();
// the object may be destroyed before the channels (they share its state).
class channel_metrics {
 public:
  // `endpoint` labels this mount's samples (e.g. "/ws").
  explicit channel_metrics(std::string endpoint);
  ~channel_metrics();
  channel_metrics(const channel_metrics&) = delete;
  channel_metrics& operator=(const channel_metrics&) = delete;

  // A factory that makes inner's handler and registers the channel for as
  // long as the handler lives (one virtual call more per message).
  channel_factory wrap(channel_factory inner);
  // Reports the channels of this mount (several mounts may share families).
  metrics_collector collector() const;
  // Channels alive now.
  std::size_t open_channels() const;

  struct state;  // internal

 private:
  std::shared_ptr<state> state_;
};

// Upper bounds of the send-queue histogram, bytes: 0 (idle) to 1 MiB.
inline constexpr std::uint64_t kSendQueueBoundsBytes[] = {0,          1024,        4096,
                                                          16 * 1024,  64 * 1024,   256 * 1024,
                                                          512 * 1024, 1024 * 1024};

}  // namespace xiaoxiang
