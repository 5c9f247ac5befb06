// The geo layer in a minute: GeoHash a landmark, look at its neighbours,
// cover a delivery radius with cells, and measure distances three ways.
#include <iostream>
#include <vector>

#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/geo/geohash.hpp"
#include "xiaoxiang/geo/polyline.hpp"

int main() {
  using namespace xiaoxiang;
  const geo_point forbidden_city{116.3972, 39.9163};  // lon, lat
  const geo_point warehouse{116.4551, 39.9219};       // a front warehouse in Chaoyang

  // Encode: 12 characters is a ~3.7 cm x 1.9 cm cell; 7 is ~150 m.
  const auto hash = point_to_geohash(forbidden_city, 7);
  if (!hash) {
    std::cerr << hash.message() << "\n";
    return 1;
  }
  std::cout << "Forbidden City: " << hash->view() << "\n";
  const geohash_cell cell = *decode_geohash(hash->view());
  std::cout << "  cell centre " << cell.center.lon << "," << cell.center.lat << " +- "
            << cell.lon_err << "," << cell.lat_err << " degrees\n";

  // The 8 neighbours, N first, clockwise.
  std::cout << "  neighbours:";
  for (const geohash_int n : neighbours(*geohash_to_int(hash->view())))
    std::cout << " " << int_to_geohash(n).view();
  std::cout << "\n";

  // Which 30-bit cells (~0.94 km x 0.61 km here) can hold a rider within 3 km?
  std::vector<geohash_int> cells;
  const auto count = cover(warehouse, 3000.0, 30, cells);
  std::cout << "cells covering 3 km around the warehouse: " << *count << "\n";

  // Distances: haversine on the mean sphere, and the cheap ruler of the city.
  const cheap_ruler beijing(39.9);
  std::cout << "Forbidden City -> warehouse: haversine " << haversine_m(forbidden_city, warehouse)
            << " m, cheap ruler " << beijing.distance_m(forbidden_city, warehouse)
            << " m, bearing " << bearing_deg(forbidden_city, warehouse) << " deg\n";

  // A route and a rider on it.
  const auto route = polyline::make({warehouse, {116.4551, 39.9050}, {116.4340, 39.9050}});
  const polyline_projection at = route->project({116.4500, 39.9053});
  std::cout << "rider is " << at.distance_m << " m off the route, " << at.along_m << " m along, "
            << at.remaining_m << " m to go\n";

  // Bad input is a value, naming the field.
  std::cout << "bad latitude: " << point_to_geohash({116.4, 95.0}, 7).message() << "\n";
  return 0;
}
