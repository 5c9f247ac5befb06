#include "xiaoxiang/sim/city_map.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <queue>

#include "xiaoxiang/geo/distance.hpp"

namespace xiaoxiang {
namespace {

city_options small_city(std::uint64_t seed = 3) {
  city_options o;
  o.seed = seed;
  o.warehouses = 2;
  return o;
}

// The path is a walk along streets: each edge joins its two nodes.
void expect_walk(const city_map& city, const street_path& path) {
  ASSERT_EQ(path.nodes.size(), path.edges.size() + 1);
  for (std::size_t i = 0; i < path.edges.size(); ++i) {
    const street_edge& e = city.edges()[path.edges[i]];
    const bool joins = (e.a == path.nodes[i] && e.b == path.nodes[i + 1]) ||
                       (e.b == path.nodes[i] && e.a == path.nodes[i + 1]);
    ASSERT_TRUE(joins) << "edge " << i;
  }
}

double length_of(const city_map& city, const street_path& path) {
  double sum = 0;
  for (const auto e : path.edges) sum += city.edges()[e].length_m;
  return sum;
}

// Plain Dijkstra: the oracle for A* and the warehouse trees.
double dijkstra_m(const city_map& city, std::uint32_t from, std::uint32_t to) {
  std::vector<double> dist(city.nodes().size(), INFINITY);
  using item = std::pair<double, std::uint32_t>;
  std::priority_queue<item, std::vector<item>, std::greater<>> heap;
  dist[from] = 0;
  heap.push({0, from});
  while (!heap.empty()) {
    const auto [d, n] = heap.top();
    heap.pop();
    if (n == to) return d;
    if (d > dist[n]) continue;
    for (auto a = city.arcs_begin(n); a != city.arcs_end(n); ++a) {
      const double nd = d + city.edges()[a->edge].length_m;
      if (nd < dist[a->node]) {
        dist[a->node] = nd;
        heap.push({nd, a->node});
      }
    }
  }
  return INFINITY;
}

TEST(CityMap, SameSeedSameCityOtherSeedOtherCity) {
  const city_map a(small_city(3)), b(small_city(3)), c(small_city(4));
  EXPECT_EQ(a.nodes(), b.nodes());
  EXPECT_EQ(a.to_geojson(), b.to_geojson());
  EXPECT_NE(a.nodes(), c.nodes());
}

TEST(CityMap, WarehousesServeCustomersWithinTheRadius) {
  const city_map city(small_city());
  ASSERT_EQ(city.warehouses().size(), 2u);
  EXPECT_EQ(city.warehouses()[0].id.view(), "W0");
  for (std::size_t w = 0; w < city.warehouses().size(); ++w) {
    const warehouse_site& site = city.warehouses()[w];
    EXPECT_GT(site.customer_nodes.size(), 200u);
    for (const auto n : site.customer_nodes) {
      EXPECT_LE(haversine_m(site.point, city.nodes()[n]), city.options().service_radius_m * 1.01);
    }
  }
}

TEST(CityMap, HasDiagonalAndArterialStreets) {
  const city_map city(small_city());
  int diagonal = 0, arterial = 0;
  for (const auto& e : city.edges()) {
    diagonal += e.kind == street_class::diagonal;
    arterial += e.kind == street_class::arterial;
    EXPECT_GT(e.length_m, 0);
  }
  EXPECT_GT(diagonal, 50);
  EXPECT_GT(arterial, 200);
}

TEST(CityMap, WarehouseTreesAndAStarAgreeWithDijkstra) {
  const city_map city(small_city());
  path_scratch scratch;
  std::uint64_t x = 12345;
  const auto next = [&] { return x = x * 6364136223846793005ull + 1442695040888963407ull; };
  for (std::size_t w = 0; w < city.warehouses().size(); ++w) {
    const auto& site = city.warehouses()[w];
    for (int k = 0; k < 20; ++k) {
      const auto to = site.customer_nodes[(next() >> 33) % site.customer_nodes.size()];
      street_path out;
      city.path_from_warehouse(w, to, out);
      expect_walk(city, out);
      EXPECT_EQ(out.nodes.front(), site.node);
      EXPECT_EQ(out.nodes.back(), to);
      const double oracle = dijkstra_m(city, site.node, to);
      EXPECT_NEAR(length_of(city, out), oracle, 1e-3);
      EXPECT_NEAR(city.distance_from_warehouse_m(w, to), oracle, 1e-3);

      street_path back;
      city.path_to_warehouse(w, to, back);
      expect_walk(city, back);
      EXPECT_EQ(back.nodes.front(), to);
      EXPECT_EQ(back.nodes.back(), site.node);

      const auto from = site.customer_nodes[(next() >> 33) % site.customer_nodes.size()];
      street_path direct;
      ASSERT_TRUE(city.shortest_path(from, to, scratch, direct));
      expect_walk(city, direct);
      EXPECT_NEAR(length_of(city, direct), dijkstra_m(city, from, to), 1e-3);
    }
  }
}

TEST(CityMap, ShortestPathAppendsWithoutRepeatingTheJoint) {
  const city_map city(small_city());
  path_scratch scratch;
  const auto& site = city.warehouses()[0];
  street_path path;
  city.path_from_warehouse(0, site.customer_nodes[0], path);
  const std::size_t before = path.nodes.size();
  ASSERT_TRUE(city.shortest_path(site.customer_nodes[0], site.customer_nodes[50], scratch, path));
  expect_walk(city, path);
  EXPECT_GT(path.nodes.size(), before);
  street_path self;
  ASSERT_TRUE(city.shortest_path(site.node, site.node, scratch, self));
  EXPECT_EQ(self.nodes.size(), 1u);
  EXPECT_TRUE(self.edges.empty());
}

TEST(CityMap, TrafficSlowsSomeStreetsAtSomeTimes) {
  const city_map city(small_city());
  const timestamp_ms day = 1'764'000'000'000;
  double lo = 10, hi = 0;
  int congested_changes = 0;
  for (std::uint32_t e = 0; e < city.edges().size(); e += 7) {
    double first = -1;
    for (timestamp_ms t = day; t < day + 86'400'000; t += 600'000) {
      const double f = city.speed_factor(e, t);
      ASSERT_GT(f, 0.3);
      ASSERT_LE(f, 1.1);
      lo = std::min(lo, f);
      hi = std::max(hi, f);
      if (first < 0) first = f;
      if (std::abs(f - first) > 0.1) {
        ++congested_changes;
        break;
      }
    }
  }
  EXPECT_LT(lo, 0.65);
  EXPECT_GT(hi, 1.0);
  EXPECT_GT(congested_changes, 50);
}

TEST(CityMap, GeoJsonHasStreetsAndWarehouses) {
  const city_map city(small_city());
  const std::string json = city.to_geojson();
  EXPECT_EQ(json.rfind("{\"type\":\"FeatureCollection\",\"features\":[", 0), 0u);
  EXPECT_EQ(json.back(), '}');
  std::size_t lines = 0, points = 0;
  for (std::size_t at = 0; (at = json.find("\"LineString\"", at)) != std::string::npos; ++at) ++lines;
  for (std::size_t at = 0; (at = json.find("\"kind\":\"warehouse\"", at)) != std::string::npos; ++at)
    ++points;
  EXPECT_EQ(lines, city.edges().size());
  EXPECT_EQ(points, city.warehouses().size());
}

TEST(CityMap, NearestNodeFindsANodeItself) {
  const city_map city(small_city());
  for (std::uint32_t n = 0; n < city.nodes().size(); n += 97) EXPECT_EQ(city.nearest_node(city.nodes()[n]), n);
}

}  // namespace
}  // namespace xiaoxiang
