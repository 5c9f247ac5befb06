// tracking_api: the HTTP API of xiaoxiang, mounted on a web_server (under
// "/api"):
//   GET  /api/orders?limit=N                 current snapshots, newest first
//   GET  /api/orders/{id}                    the order's snapshot (JSON of json_codec)
//   GET  /api/orders/{id}/track              trajectory: GeoJSON Feature, LineString + times
//   GET  /api/orders/{id}/route              planned route: GeoJSON Feature, LineString
//   GET  /api/orders/{id}/updates?since=V&timeout=S   long polling (JSON array)
//   GET  /api/riders/nearby?lon&lat&radius&k nearest live riders
//   GET  /api/city                           the city's streets and warehouses (GeoJSON)
//   POST /api/events                         JSON-lines batch of events
// Errors are JSON {"error":{"code","field","message"}} with a 4xx status
// naming the field (docs/server.md lists them).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "xiaoxiang/server/event_batch.hpp"
#include "xiaoxiang/server/web_server.hpp"

namespace xiaoxiang {

class authenticator;
class tracker;
class broker;
class storage;

struct tracking_api_options {
  std::size_t default_order_limit = 100;  // GET /api/orders without limit
  std::size_t max_order_limit = 10'000;   // largest accepted limit
  std::chrono::seconds max_poll_timeout{60};  // largest accepted long-poll timeout
  double max_radius_m = 50'000;           // largest nearby radius
  std::size_t max_k = 1'000;              // largest nearby k
  event_batch_limits batch{};             // POST /api/events bounds
  // Issue 9 (docs/security.md): `Authorization: Bearer <JWT>` (or the
  // access_token parameter) on every request: 401 naming the reason when it
  // does not verify; 403 access_denied (the same for an order that does not
  // exist) outside the role's rights; order bodies at the role's view.
  // Null: an open API.
  std::shared_ptr<authenticator> auth;
};

class tracking_api {
 public:
  // `engine` and `hub` must outlive the API; `store` (may be null) serves
  // trajectories.
  tracking_api(tracker& engine, broker& hub, storage* store, tracking_api_options options = {});
  ~tracking_api();
  tracking_api(const tracking_api&) = delete;
  tracking_api& operator=(const tracking_api&) = delete;

  // The GeoJSON GET /api/city serves (404 until set). Thread-safe.
  void set_city_geojson(std::string geojson);

  // Mounts every route under `prefix` on the server (before its start()).
  // Long polls use the server's io_context for their timers.
  void mount(web_server& server, std::string prefix = "/api");

  struct impl;  // internal

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace xiaoxiang
