// tracker_metrics: the engine's counters, read as one consistent-enough
// snapshot (each counter exact, the set not taken atomically). Exported by
// the CLI, the Python bindings and (later) /metrics.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/track/latency_histogram.hpp"

namespace xiaoxiang {

struct tracker_metrics {
  std::uint64_t events = 0;            // every ingest() call
  std::uint64_t accepted = 0;          // events applied
  std::uint64_t duplicates = 0;        // events recognised by their id
  std::uint64_t rejected = 0;          // events refused (sum of rejected_by_code)
  std::uint64_t positions = 0;         // position fixes applied to the live index
  std::uint64_t order_updates = 0;     // versions produced (one per order changed)
  std::uint64_t records = 0;           // tracking records handed to storage
  std::uint64_t published = 0;         // changes pushed to the publisher
  std::uint64_t fixes_rejected = 0;    // fixes of batches dropped by the filters
  std::uint64_t stale_fixes = 0;       // fixes older than the rider's live one: trajectory only
  std::uint64_t evicted = 0;           // terminal orders that left the hot cache
  std::uint64_t alerts_raised = 0;     // alerts that became active (all kinds)
  std::uint64_t alerts_cleared = 0;    // alerts that ended
  std::uint64_t storage_backlog = 0;   // records queued for the writer now
  std::uint64_t durable_sequence = 0;  // the write-behind's durable sequence
  // Rejections (events and batch fixes) by code, only codes seen, by code value.
  std::vector<std::pair<errc, std::uint64_t>> rejected_by_code;
  // Seconds from ingest() entry until the publisher was handed the event's
  // last change (accepted events, with a publisher).
  histogram_snapshot ingest_to_publish_seconds;
  // Seconds from ingest() entry until the storage committed the event's
  // write (sampled when the backlog exceeds 4096 writes; clock ticks'
  // writes are not counted).
  histogram_snapshot ingest_to_durable_seconds;

  std::uint64_t rejected_count(errc code) const noexcept {
    for (const auto& [c, n] : rejected_by_code)
      if (c == code) return n;
    return 0;
  }
};

}  // namespace xiaoxiang
