// redis_stream_consumer: a tracker node's reader of the ingest queue. It
// reads its partitions' streams with a consumer group (XREADGROUP), feeds
// every event to tracker.ingest, and acknowledges (XACK) an entry only when
// the records its event produced are durable in storage (the write-behind's
// durable sequence reaches the event's durable_ticket). An entry whose
// event changed nothing (rejected, or a malformed entry) is acknowledged at
// once; a duplicate once everything this consumer ingested before it is
// durable (its first copy may still be on the way to storage). A crash
// therefore loses nothing: unacknowledged entries stay pending in the group
// and come back — to the restarted consumer (it reads its own pending
// entries first) or to a survivor that claims them (claim(): XAUTOCLAIM
// after a minimum idle time) — and the tracker's idempotency (event ids)
// absorbs what was applied already. A rider's position that the producer
// wrote to several partitions of this consumer ("p" field) is ingested once,
// when its copy in the last of them arrives.
//
// Each partition must have one reading consumer at a time (per-order order);
// docs/scaling.md describes the takeover. Not thread-safe: one thread drives
// a consumer; several consumers may feed one tracker from their own threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "xiaoxiang/queue/redis_stream_producer.hpp"
#include "xiaoxiang/redis/redis_connection.hpp"
#include "xiaoxiang/track/tracker.hpp"

namespace xiaoxiang {

struct redis_stream_consumer_options {
  redis_connection_options connection;
  redis_stream_options streams;
  std::string group = "trackers";             // consumer group (created if missing, from the start)
  std::string consumer = "node-1";            // this consumer's name: stable across restarts
  std::vector<std::uint32_t> partitions;      // the streams it reads; empty: all
  std::size_t batch_entries = 512;            // COUNT of one XREADGROUP per stream
  duration_ms block_ms = 100;                 // BLOCK of XREADGROUP when idle
  duration_ms claim_min_idle_ms = 30'000;     // XAUTOCLAIM: pending at least this long
  std::size_t max_unacked_entries = 100'000;  // read no more while this many await durability
  duration_ms shared_copy_wait_ms = 5'000;    // a shared position waits this long for its copies
                                              // in this consumer's other partitions
};

// Counters of a consumer (monotonic, except unacked).
struct redis_consumer_metrics {
  std::uint64_t entries_read = 0;   // stream entries delivered to this consumer (incl. claimed)
  std::uint64_t accepted = 0;       // events the tracker accepted
  std::uint64_t duplicates = 0;     // events the tracker had applied already (redelivery)
  std::uint64_t rejected = 0;       // events the tracker rejected
  std::uint64_t shared_copies = 0;  // copies of a shared position beyond the one ingested:
                                    // a position in k partitions of this consumer is ingested
                                    // once, when its last copy arrives (acked with it)
  std::uint64_t shared_copies_timed_out = 0;  // shared positions ingested before all their
                                              // copies came (after shared_copy_wait_ms)
  std::uint64_t malformed = 0;      // entries without a decodable "e" field
  std::uint64_t malformed_copies = 0;  // entries whose "p" field (the partitions of a shared
                                       // position) is not a list of numbers like "2,5": the
                                       // event is ingested at once, as if "p" were absent
  std::uint64_t acked = 0;          // entries acknowledged (XACK)
  std::uint64_t claimed = 0;        // entries taken over from other consumers (XAUTOCLAIM)
  std::uint64_t queue_full_waits = 0;  // ingests retried after a full write-behind queue
  std::uint64_t unacked = 0;        // entries ingested, waiting for durability now
  std::uint64_t waiting_copies = 0; // copies of shared positions waiting for their siblings now
};

class redis_stream_consumer {
 public:
  // Connects and creates the group on each stream if missing (XGROUP CREATE
  // MKSTREAM, from the first entry). Throws xiaoxiang::error(errc::redis_io
  // / errc::redis_reply). `engine` must outlive the consumer.
  redis_stream_consumer(tracker& engine, redis_stream_consumer_options options);
  ~redis_stream_consumer();
  redis_stream_consumer(const redis_stream_consumer&) = delete;
  redis_stream_consumer& operator=(const redis_stream_consumer&) = delete;

  // One round: acknowledges what became durable, then reads (this
  // consumer's own pending entries first after a start, new entries after
  // that; blocking up to block_ms when there are none) and ingests. Returns
  // the entries ingested.
  std::size_t poll();
  // Takes over the entries of these partitions pending at other consumers
  // for at least claim_min_idle_ms (a dead node's) and ingests them.
  // Returns the entries claimed.
  std::size_t claim();
  // XACKs the entries whose events are durable now; returns how many.
  std::size_t ack_durable();
  // Waits until everything ingested is durable (tracker.flush()) and acks it.
  void drain();
  // poll() until `stop`, claim() every claim_min_idle_ms / 2, then drain().
  void run(const std::atomic<bool>& stop);

  redis_consumer_metrics metrics() const;  // from the consumer's thread (or after run())
  const redis_stream_consumer_options& options() const noexcept { return options_; }

 private:
  struct unacked_entry {
    std::uint32_t stream;   // index into streams_
    std::string id;         // stream entry id
    std::uint64_t ticket;   // durable when tracker.durable_sequence() >= ticket
  };

  std::size_t ingest_entries(std::uint32_t stream, const redis_value& entries, bool claimed);
  void ingest_entry(std::uint32_t stream, const redis_value& entry);
  using entry_refs = std::vector<std::pair<std::uint32_t, std::string>>;  // (stream, entry id)
  struct waiting_copies {
    std::vector<std::uint32_t> partitions;  // whose copy arrived
    entry_refs entries;                     // acknowledged with the one ingest
    std::chrono::steady_clock::time_point since;
  };
  // How many of the partitions listed in `copies` ("2,5") this consumer
  // reads (1 when the list does not name `partition`); 0 when `copies` does
  // not parse.
  std::size_t owned_copies(std::uint32_t partition, std::string_view copies) const;
  // The orders of some partitions (a position's scope).
  struct partition_scope final : order_scope {
    std::uint32_t count = 1;
    std::vector<bool> in;  // by partition number
    bool includes(const order_id& order) const noexcept override;
  };
  // Ingests `e`, read from these partitions, and acknowledges its entries
  // by the outcome.
  void ingest_and_ack(const event& e, std::span<std::pair<std::uint32_t, std::string>> entries,
                      std::span<const std::uint32_t> partitions);
  void ingest_waiting();  // those past shared_copy_wait_ms
  void send_acks(std::vector<std::pair<std::uint32_t, std::string>>& ready);

  tracker& engine_;
  redis_stream_consumer_options options_;
  redis_connection connection_;
  std::vector<std::uint32_t> partitions_;
  std::vector<bool> owned_;  // by partition number: whether partitions_ has it
  std::vector<std::string> streams_;
  std::vector<std::string> history_from_;  // per stream: own pending read from here ("" when done)
  std::deque<unacked_entry> unacked_;
  std::vector<std::pair<std::uint32_t, std::string>> ack_now_;
  // Shared positions by event JSON (the same bytes in every copy): one
  // instance per time the producer added it.
  std::unordered_map<std::string, std::deque<waiting_copies>> waiting_;
  std::uint64_t waiting_entries_ = 0;
  partition_scope scope_;
  std::uint64_t last_ticket_ = 0;  // highest durable ticket of an event this consumer ingested
  std::string count_, block_, min_idle_;
  redis_consumer_metrics metrics_;
};

}  // namespace xiaoxiang
