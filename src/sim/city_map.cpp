#include "xiaoxiang/sim/city_map.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <functional>
#include <queue>
#include <unordered_map>

#include "random.hpp"
#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr double kWavePeriodMs = 45.0 * 60'000;  // a traffic wave every 45 minutes
constexpr int kArterialEvery = 4;                // every 4th grid line is an arterial road
constexpr int kZoneBlocks = 8;                   // streets of an 8x8-block zone share a wave

void append_number(std::string& out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

city_map::city_map(const city_options& options) : options_(options) {
  sim_detail::random rng(options.seed ^ 0xC17C17C17ull);
  const cheap_ruler ruler(options.center.lat);
  kx_ = ruler.kx();
  ky_ = ruler.ky();

  const int count = std::max(1, options.warehouses);
  const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(count))));
  const int rows = (count + cols - 1) / cols;
  const double margin = options.service_radius_m + 2 * options.block_m;
  const double half_w = (cols - 1) * 0.5 * options.warehouse_spacing_m + margin;
  const double half_h = (rows - 1) * 0.5 * options.warehouse_spacing_m + margin;
  const int nx = static_cast<int>(std::ceil(2 * half_w / options.block_m)) + 1;
  const int ny = static_cast<int>(std::ceil(2 * half_h / options.block_m)) + 1;
  nx_ = nx;
  const auto at = [nx](int i, int j) { return static_cast<std::uint32_t>(j * nx + i); };
  // Node coordinates to 1e-7 degrees (~1 cm), so routes print short.
  const auto to_point = [&](double x, double y) {
    const auto round7 = [](double v) { return static_cast<double>(std::llround(v * 1e7)) / 1e7; };
    return geo_point{round7(options.center.lon + x / kx_), round7(options.center.lat + y / ky_)};
  };

  nodes_.resize(static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny));
  for (int j = 0; j < ny; ++j)
    for (int i = 0; i < nx; ++i) {
      const double x = -half_w + i * options.block_m + rng.uniform(-1, 1) * options.node_jitter_m;
      const double y = -half_h + j * options.block_m + rng.uniform(-1, 1) * options.node_jitter_m;
      nodes_[at(i, j)] = to_point(x, y);
    }

  // Each zone of the city has its own traffic wave, so congestion moves
  // around the city instead of striking everywhere at once.
  const int zx = nx / kZoneBlocks + 1, zy = ny / kZoneBlocks + 1;
  std::vector<float> zone_phase(static_cast<std::size_t>(zx * zy));
  for (auto& p : zone_phase) p = static_cast<float>(rng.uniform(0, kTwoPi));

  const auto add_edge = [&](int i0, int j0, int i1, int j1, street_class kind) {
    street_edge e;
    e.a = at(i0, j0);
    e.b = at(i1, j1);
    const geo_point pa = nodes_[e.a], pb = nodes_[e.b];
    e.length_m = static_cast<float>(std::hypot((pa.lon - pb.lon) * kx_, (pa.lat - pb.lat) * ky_));
    e.kind = kind;
    switch (kind) {
      case street_class::arterial: e.congestion = 0.55f; break;
      case street_class::diagonal: e.congestion = 0.4f; break;
      case street_class::local: e.congestion = rng.chance(0.12) ? 0.5f : 0.1f; break;
    }
    e.wave_phase = zone_phase[static_cast<std::size_t>((j0 / kZoneBlocks) * zx + i0 / kZoneBlocks)];
    edges_.push_back(e);
  };
  const int diag = options.diagonal_every_blocks;
  for (int j = 0; j < ny; ++j)
    for (int i = 0; i < nx; ++i) {
      if (i + 1 < nx) {
        const bool arterial = j % kArterialEvery == 0;
        if (arterial || !rng.chance(options.missing_street_rate))
          add_edge(i, j, i + 1, j, arterial ? street_class::arterial : street_class::local);
      }
      if (j + 1 < ny) {
        const bool arterial = i % kArterialEvery == 0;
        if (arterial || !rng.chance(options.missing_street_rate))
          add_edge(i, j, i, j + 1, arterial ? street_class::arterial : street_class::local);
      }
      if (diag > 0 && i + 1 < nx && j + 1 < ny && (i - j) % diag == 0)
        add_edge(i, j, i + 1, j + 1, street_class::diagonal);
      if (diag > 0 && i + 1 < nx && j > 0 && (i + j) % diag == 0)
        add_edge(i, j, i + 1, j - 1, street_class::diagonal);
    }

  // Compressed adjacency: both directions of every street.
  arc_start_.assign(nodes_.size() + 1, 0);
  for (const auto& e : edges_) {
    ++arc_start_[e.a + 1];
    ++arc_start_[e.b + 1];
  }
  for (std::size_t i = 1; i < arc_start_.size(); ++i) arc_start_[i] += arc_start_[i - 1];
  arcs_.resize(arc_start_.back());
  std::vector<std::uint32_t> fill(arc_start_.begin(), arc_start_.end() - 1);
  for (std::uint32_t k = 0; k < edges_.size(); ++k) {
    arcs_[fill[edges_[k].a]++] = {edges_[k].b, k};
    arcs_[fill[edges_[k].b]++] = {edges_[k].a, k};
  }

  for (int w = 0; w < count; ++w) {
    const int c = w % cols, r = w / cols;
    const double x = (c - (cols - 1) * 0.5) * options.warehouse_spacing_m;
    const double y = (r - (rows - 1) * 0.5) * options.warehouse_spacing_m;
    int i = static_cast<int>(std::lround((x + half_w) / options.block_m));
    const int j = static_cast<int>(std::lround((y + half_h) / options.block_m));
    // A warehouse fronts a street: move along the row until a node has one.
    while (arc_start_[at(i, j) + 1] == arc_start_[at(i, j)] && i + 1 < nx) ++i;
    warehouse_site site;
    char name[16] = "W";
    const auto end = std::to_chars(name + 1, name + sizeof name - 1, w).ptr;
    site.id = *id::make(std::string_view(name, static_cast<std::size_t>(end - name)));
    site.node = at(i, j);
    site.point = nodes_[site.node];
    warehouses_.push_back(std::move(site));
  }
  build_trees();
}

void city_map::build_trees() {
  // Dijkstra from each warehouse, bounded a little beyond the service radius
  // (streets wind), so a delivery route is a walk up the tree.
  const double limit = options_.service_radius_m * 1.8;
  trees_.resize(warehouses_.size());
  std::vector<double> dist(nodes_.size(), INFINITY);
  std::vector<std::uint32_t> touched;
  using item = std::pair<double, std::uint32_t>;
  for (std::size_t w = 0; w < warehouses_.size(); ++w) {
    std::unordered_map<std::uint32_t, tree_entry> parents;
    warehouse_site& site = warehouses_[w];
    std::priority_queue<item, std::vector<item>, std::greater<>> heap;
    dist[site.node] = 0;
    touched.push_back(site.node);
    parents[site.node] = {site.node, UINT32_MAX, 0};
    heap.push({0, site.node});
    while (!heap.empty()) {
      const auto [d, n] = heap.top();
      heap.pop();
      if (d > dist[n]) continue;
      for (const arc* a = arcs_begin(n); a != arcs_end(n); ++a) {
        const double nd = d + edges_[a->edge].length_m;
        if (nd > limit || nd >= dist[a->node]) continue;
        if (std::isinf(dist[a->node])) touched.push_back(a->node);
        dist[a->node] = nd;
        parents[a->node] = {n, a->edge, nd};
        heap.push({nd, a->node});
      }
    }
    // Customers: reachable nodes within the service radius as the crow
    // flies, but not on the warehouse's doorstep.
    for (const std::uint32_t n : touched) {
      const geo_point p = nodes_[n];
      const double straight =
          std::hypot((p.lon - site.point.lon) * kx_, (p.lat - site.point.lat) * ky_);
      if (straight <= options_.service_radius_m && straight >= 2 * options_.block_m)
        site.customer_nodes.push_back(n);
    }
    std::sort(site.customer_nodes.begin(), site.customer_nodes.end());
    warehouse_tree& dense = trees_[w];
    int i1 = 0, j1 = 0;
    dense.i0 = dense.j0 = INT32_MAX;
    for (const std::uint32_t n : touched) {
      const int i = static_cast<int>(n) % nx_, j = static_cast<int>(n) / nx_;
      dense.i0 = std::min(dense.i0, i);
      dense.j0 = std::min(dense.j0, j);
      i1 = std::max(i1, i);
      j1 = std::max(j1, j);
    }
    dense.width = i1 - dense.i0 + 1;
    dense.height = j1 - dense.j0 + 1;
    dense.entries.assign(static_cast<std::size_t>(dense.width * dense.height),
                         tree_entry{UINT32_MAX, UINT32_MAX, 0});
    for (const auto& [n, e] : parents) {
      const int i = static_cast<int>(n) % nx_ - dense.i0, j = static_cast<int>(n) / nx_ - dense.j0;
      dense.entries[static_cast<std::size_t>(j * dense.width + i)] = e;
    }
    for (const std::uint32_t n : touched) dist[n] = INFINITY;
    touched.clear();
  }
}

const city_map::tree_entry& city_map::warehouse_tree::at(std::uint32_t node, int nx) const {
  const int i = static_cast<int>(node) % nx - i0, j = static_cast<int>(node) / nx - j0;
  assert(i >= 0 && i < width && j >= 0 && j < height);
  const tree_entry& e = entries[static_cast<std::size_t>(j * width + i)];
  assert(e.parent_node != UINT32_MAX);
  return e;
}

void city_map::path_to_warehouse(std::size_t w, std::uint32_t node, street_path& out) const {
  const auto& wtree = trees_[w];
  const std::uint32_t root = warehouses_[w].node;
  if (out.nodes.empty() || out.nodes.back() != node) out.nodes.push_back(node);
  while (node != root) {
    const tree_entry& e = wtree.at(node, nx_);
    out.edges.push_back(e.parent_edge);
    out.nodes.push_back(e.parent_node);
    node = e.parent_node;
  }
}

void city_map::path_from_warehouse(std::size_t w, std::uint32_t node, street_path& out) const {
  // Walk up the tree appending, then reverse the appended part in place.
  const std::uint32_t root = warehouses_[w].node;
  const bool joint = !out.nodes.empty() && out.nodes.back() == root;
  const std::size_t node_base = out.nodes.size(), edge_base = out.edges.size();
  path_to_warehouse(w, node, out);  // node ... root
  if (joint) out.nodes.pop_back();  // `out` ends at the root already
  std::reverse(out.nodes.begin() + static_cast<std::ptrdiff_t>(node_base), out.nodes.end());
  std::reverse(out.edges.begin() + static_cast<std::ptrdiff_t>(edge_base), out.edges.end());
}

double city_map::distance_from_warehouse_m(std::size_t w, std::uint32_t node) const {
  return trees_[w].at(node, nx_).dist_m;
}

bool city_map::shortest_path(std::uint32_t from, std::uint32_t to, path_scratch& s,
                             street_path& out) const {
  if (s.stamp.size() != nodes_.size()) {
    s.dist.assign(nodes_.size(), 0);
    s.parent_edge.assign(nodes_.size(), UINT32_MAX);
    s.stamp.assign(nodes_.size(), 0);
    s.generation = 0;
  }
  if (++s.generation == 0) {  // wrapped: forget every stamp
    std::fill(s.stamp.begin(), s.stamp.end(), 0);
    s.generation = 1;
  }
  const geo_point goal = nodes_[to];
  const auto h = [&](std::uint32_t n) {
    return std::hypot((nodes_[n].lon - goal.lon) * kx_, (nodes_[n].lat - goal.lat) * ky_);
  };
  const auto greater = [](const auto& a, const auto& b) { return a.first > b.first; };
  s.heap.clear();
  s.stamp[from] = s.generation;
  s.dist[from] = 0;
  s.parent_edge[from] = UINT32_MAX;
  s.heap.push_back({h(from), from});
  bool found = false;
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), greater);
    const auto [f, n] = s.heap.back();
    s.heap.pop_back();
    if (n == to) {
      found = true;
      break;
    }
    const double d = s.dist[n];
    if (f > d + h(n) + 1e-9) continue;  // a stale entry
    for (const arc* a = arcs_begin(n); a != arcs_end(n); ++a) {
      const double nd = d + edges_[a->edge].length_m;
      if (s.stamp[a->node] == s.generation && nd >= s.dist[a->node]) continue;
      s.stamp[a->node] = s.generation;
      s.dist[a->node] = nd;
      s.parent_edge[a->node] = a->edge;
      s.heap.push_back({nd + h(a->node), a->node});
      std::push_heap(s.heap.begin(), s.heap.end(), greater);
    }
  }
  if (!found) return false;
  const std::size_t node_base = out.nodes.size(), edge_base = out.edges.size();
  for (std::uint32_t n = to; n != from;) {
    const std::uint32_t e = s.parent_edge[n];
    out.nodes.push_back(n);
    out.edges.push_back(e);
    n = edges_[e].a == n ? edges_[e].b : edges_[e].a;
  }
  if (node_base == 0 || out.nodes[node_base - 1] != from) {
    out.nodes.push_back(from);
  } else {
    // `out` already ends at `from`: do not repeat it.
  }
  std::reverse(out.nodes.begin() + static_cast<std::ptrdiff_t>(node_base), out.nodes.end());
  std::reverse(out.edges.begin() + static_cast<std::ptrdiff_t>(edge_base), out.edges.end());
  return true;
}

double city_map::speed_factor(const street_edge& e, timestamp_ms t) const noexcept {
  const double base = e.kind == street_class::arterial ? 1.1 : e.kind == street_class::diagonal ? 1.0 : 0.9;
  constexpr std::int64_t kDayMs = 86'400'000;
  const std::int64_t local = ((t + options_.utc_offset_hours * 3'600'000LL) % kDayMs + kDayMs) % kDayMs;
  const bool rush = (local >= 27'000'000 && local < 34'200'000) ||  // 7:30 - 9:30
                    (local >= 61'200'000 && local < 70'200'000);    // 17:00 - 19:30
  // The street's traffic wave: a parabolic bump over half of each period
  // (peak 1), free-flowing the other half. Arithmetic only: deterministic
  // everywhere and cheap on the hot path.
  double u = static_cast<double>(local) / kWavePeriodMs + e.wave_phase / kTwoPi;
  u -= static_cast<double>(static_cast<std::int64_t>(u));  // u >= 0
  const double wave = u < 0.5 ? 16.0 * u * (0.5 - u) : 0.0;
  const double slow = e.congestion * wave * (rush ? 1.0 : 0.6);
  return base * (rush ? 0.8 : 1.0) * (1.0 - slow);
}

std::uint32_t city_map::nearest_node(geo_point p) const noexcept {
  std::uint32_t best = 0;
  double best_d = INFINITY;
  for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
    const double d = std::hypot((nodes_[i].lon - p.lon) * kx_, (nodes_[i].lat - p.lat) * ky_);
    if (d < best_d) {
      best_d = d;
      best = i;
    }
  }
  return best;
}

std::string city_map::to_geojson() const {
  static constexpr const char* kKinds[] = {"local", "arterial", "diagonal"};
  std::string out = "{\"type\":\"FeatureCollection\",\"features\":[";
  bool first = true;
  for (const auto& e : edges_) {
    out += first ? "" : ",";
    first = false;
    out += "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[";
    append_number(out, nodes_[e.a].lon);
    out += ',';
    append_number(out, nodes_[e.a].lat);
    out += "],[";
    append_number(out, nodes_[e.b].lon);
    out += ',';
    append_number(out, nodes_[e.b].lat);
    out += "]]},\"properties\":{\"kind\":\"";
    out += kKinds[static_cast<int>(e.kind)];
    out += "\",\"congestion\":";
    append_number(out, static_cast<double>(e.congestion));
    out += "}}";
  }
  for (const auto& w : warehouses_) {
    out += first ? "" : ",";
    first = false;
    out += "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[";
    append_number(out, w.point.lon);
    out += ',';
    append_number(out, w.point.lat);
    out += "]},\"properties\":{\"kind\":\"warehouse\",\"id\":\"";
    out += w.id.view();
    out += "\",\"serviceRadiusM\":";
    append_number(out, options_.service_radius_m);
    out += "}}";
  }
  out += "]}";
  return out;
}

}  // namespace xiaoxiang
