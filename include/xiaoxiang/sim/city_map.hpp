// city_map: the street network and front warehouses of the simulated city —
// a jittered grid with a few diagonal avenues and missing blocks, streets
// whose traffic slows them at some times, and a shortest-path tree per
// warehouse so that routing a delivery costs a walk up a tree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/time.hpp"

namespace xiaoxiang {

// Shape of the generated city. Distances in metres.
struct city_options {
  std::uint64_t seed = 1;              // same seed, same city
  int warehouses = 4;                  // front warehouses, laid out on a square grid
  geo_point center{116.397, 39.908};   // the city's centre (Beijing by default)
  double warehouse_spacing_m = 4500;   // between neighbouring warehouses
  double service_radius_m = 3000;      // customers live within this of their warehouse
  double block_m = 250;                // street grid spacing
  double node_jitter_m = 25;           // irregularity of the grid's crossings
  double missing_street_rate = 0.06;   // share of grid streets left out (parks, rails)
  int diagonal_every_blocks = 7;       // a diagonal avenue every N blocks (0: none)
  int utc_offset_hours = 8;            // local time of the city, for rush hours
};

// Kinds of street, which set free-flow speed and how much traffic slows them.
enum class street_class : std::uint8_t {
  local = 0,     // small streets
  arterial = 1,  // every 4th grid line: faster, congested at peaks
  diagonal = 2,  // diagonal avenues: the irregular streets
};

struct street_edge {
  std::uint32_t a = 0, b = 0;  // node indices (streets are two-way)
  float length_m = 0;          // along the street, metres
  float congestion = 0;        // 0..1: share of speed lost at the worst of a traffic wave
  float wave_phase = 0;        // radians: when this street's traffic wave peaks
  street_class kind = street_class::local;
};

struct warehouse_site {
  warehouse_id id;                 // "W0", "W1", ...
  geo_point point;                 // at its street node
  std::uint32_t node = 0;          // the street node it sits on
  std::vector<std::uint32_t> customer_nodes;  // nodes within the service radius, reachable
};

// A path through the network: nodes[i] -- edges[i] --> nodes[i + 1].
struct street_path {
  std::vector<std::uint32_t> nodes;
  std::vector<std::uint32_t> edges;
  void clear() { nodes.clear(); edges.clear(); }
};

// Reusable buffers of shortest_path(), so routing allocates nothing in steady state.
struct path_scratch {
  std::vector<double> dist;
  std::vector<std::uint32_t> parent_edge;
  std::vector<std::uint32_t> stamp;
  std::uint32_t generation = 0;
  std::vector<std::pair<double, std::uint32_t>> heap;
};

class city_map {
 public:
  // Generates the city; deterministic for equal options.
  explicit city_map(const city_options& options);

  const city_options& options() const noexcept { return options_; }
  const std::vector<geo_point>& nodes() const noexcept { return nodes_; }
  const std::vector<street_edge>& edges() const noexcept { return edges_; }
  const std::vector<warehouse_site>& warehouses() const noexcept { return warehouses_; }

  // The edges leaving a node: {neighbour node, edge index} pairs.
  struct arc {
    std::uint32_t node, edge;
  };
  const arc* arcs_begin(std::uint32_t node) const noexcept { return arcs_.data() + arc_start_[node]; }
  const arc* arcs_end(std::uint32_t node) const noexcept { return arcs_.data() + arc_start_[node + 1]; }

  // The shortest path (by length) from warehouse w to one of its customer
  // nodes, appended to `out` (its first node is the warehouse's unless `out`
  // already ends there). Requires: node in warehouses()[w].customer_nodes.
  void path_from_warehouse(std::size_t w, std::uint32_t node, street_path& out) const;
  // The same path backwards: from the node back to warehouse w.
  void path_to_warehouse(std::size_t w, std::uint32_t node, street_path& out) const;
  // Length of the shortest path from warehouse w to node, metres.
  double distance_from_warehouse_m(std::size_t w, std::uint32_t node) const;

  // A* shortest path by length between any two nodes, appended to `out`;
  // false when `to` is unreachable (then `out` is unchanged).
  bool shortest_path(std::uint32_t from, std::uint32_t to, path_scratch& scratch,
                     street_path& out) const;

  // Factor (0..1.15] applied to a rider's free-flow speed on an edge at
  // time t: the street's class, its traffic wave and the city's rush hours.
  double speed_factor(std::uint32_t edge, timestamp_ms t) const noexcept {
    return speed_factor(edges_[edge], t);
  }
  // The same for a copy of an edge (riders keep one of the street they are on).
  double speed_factor(const street_edge& e, timestamp_ms t) const noexcept;

  // The nearest node to a point (linear scan; for tests and tools).
  std::uint32_t nearest_node(geo_point p) const noexcept;

  // GeoJSON FeatureCollection: one LineString per street (properties kind,
  // congestion) and one Point per warehouse (properties id, serviceRadiusM).
  std::string to_geojson() const;

 private:
  struct tree_entry {
    std::uint32_t parent_node;
    std::uint32_t parent_edge;
    double dist_m;
  };
  void build_trees();

  city_options options_;
  std::vector<geo_point> nodes_;
  std::vector<street_edge> edges_;
  std::vector<std::uint32_t> arc_start_;  // CSR: arcs of node i are arcs_[arc_start_[i] .. arc_start_[i+1])
  std::vector<arc> arcs_;
  std::vector<warehouse_site> warehouses_;
  // Per warehouse: its shortest-path tree, node -> parent, stored densely
  // over the grid window it spans (a hash map costs a cache miss per step).
  struct warehouse_tree {
    int i0 = 0, j0 = 0, width = 0, height = 0;  // grid window
    std::vector<tree_entry> entries;            // parent_node UINT32_MAX: not in the tree
    const tree_entry& at(std::uint32_t node, int nx) const;
  };
  std::vector<warehouse_tree> trees_;
  int nx_ = 0;  // grid columns: node = j * nx_ + i
  double kx_ = 0, ky_ = 0;  // metres per degree of longitude / latitude at the centre
};

}  // namespace xiaoxiang
