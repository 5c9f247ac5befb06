// The engine in one page: a tracker with SQLite storage and the in-process
// broker; a watcher subscribes to an order's topic and prints every change
// while the order goes from placed to delivered.
#include <cstdio>
#include <filesystem>

#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

int main() {
  using namespace xiaoxiang;
  const auto path = std::filesystem::temp_directory_path() / "xiaoxiang-quickstart.sqlite";
  std::filesystem::remove(path);

  sqlite_storage db(path.string());  // the embedded default storage
  broker hub;                        // in-process publish/subscribe
  tracker engine({}, &db, &hub);     // wall clock, default filters

  const order_id order = *id::make("O-1001");
  auto watcher = hub.subscribe(order_topic(order), std::nullopt, [](const message_view& m) {
    std::printf("v%llu %.*s\n", static_cast<unsigned long long>(m.version),
                static_cast<int>(m.body.size()), m.body.data());
  });
  if (!watcher) return 1;

  // What a host's queue consumer would hand over, one event at a time.
  const timestamp_ms t = now_ms() - 10 * 60 * 1000;  // the order began ten minutes ago
  event e;
  e.kind = event_kind::order_created;
  e.id = *id::make("E1");
  e.time = t;
  e.order = order;
  e.user = *id::make("U-7");
  e.warehouse = *id::make("W-Chaoyang");
  e.amount = 4590;  // 45.90
  e.origin = {116.4600, 39.9200};
  e.destination = {116.4710, 39.9265};
  e.address = "朝阳区 光华路 9号";
  engine.ingest(e);

  auto next = [&](event_kind kind, const char* event_id, timestamp_ms at) {
    event x;
    x.kind = kind;
    x.id = *id::make(event_id);
    x.time = at;
    x.order = order;
    x.warehouse = *id::make("W-Chaoyang");
    x.rider = *id::make("R-42");
    return x;
  };
  engine.ingest(next(event_kind::order_paid, "E2", t + 5'000));
  event stage = next(event_kind::picking_stage, "E3", t + 60'000);
  stage.stage = picking_stage::packed;
  engine.ingest(stage);
  engine.ingest(next(event_kind::rider_assigned, "E4", t + 120'000));
  for (int i = 1; i <= 3; ++i) {
    event fix = next(event_kind::rider_position, ("E" + std::to_string(4 + i)).c_str(), t + 120'000 + i * 15'000);
    fix.position = {116.4600 + 0.001 * i, 39.9200 + 0.0006 * i};
    const ingest_result r = engine.ingest(fix);
    if (!r.accepted()) std::printf("%s\n", r.message().c_str());
  }
  const ingest_result done = engine.ingest(next(event_kind::order_delivered, "E8", t + 200'000));
  // A queue redelivers: recognised, nothing changes.
  const ingest_result again = engine.ingest(next(event_kind::order_delivered, "E8", t + 200'000));
  std::printf("redelivered E8: %s\n", ingest_status_name(again.status));

  engine.flush();  // everything accepted is on disk now
  std::printf("durable up to %llu (delivered event needed %llu); %zu records stored\n",
              static_cast<unsigned long long>(engine.durable_sequence()),
              static_cast<unsigned long long>(done.durable_ticket),
              db.trajectory(order).size());
  std::filesystem::remove(path);
  return done.accepted() && again.status == ingest_status::duplicate ? 0 : 1;
}
