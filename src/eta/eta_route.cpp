#include "xiaoxiang/eta/eta_route.hpp"

#include <algorithm>
#include <cmath>

#include "xiaoxiang/eta/eta_model.hpp"

namespace xiaoxiang {

result<eta_route> eta_route::make(const eta_model& model, std::vector<geo_point> points,
                                  timestamp_ms depart_at) {
  auto line = polyline::make(std::move(points));
  if (!line) return {line.error(), line.field()};
  const std::vector<geo_point>& pts = line->points();
  std::vector<double> times(pts.size(), 0.0);
  double t = 0;
  for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
    const double len = line->along_at(i + 1) - line->along_at(i);
    const int pieces = std::max(1, static_cast<int>(std::ceil(len / kPieceM)));
    const double piece = len / pieces;
    for (int k = 0; k < pieces; ++k) {
      // The piece's midpoint, at the time the rider is expected there.
      const double f = (k + 0.5) / pieces;
      const geo_point mid{pts[i].lon + (pts[i + 1].lon - pts[i].lon) * f,
                          pts[i].lat + (pts[i + 1].lat - pts[i].lat) * f};
      const auto when = depart_at + static_cast<timestamp_ms>(t * 1000);
      t += piece / model.speeds().speed_mps(mid, when);
    }
    times[i + 1] = t;
  }
  return eta_route(std::move(*line), std::move(times));
}

double eta_route::time_in_segment(std::size_t seg, double along_m) const noexcept {
  const double a0 = line_.along_at(seg), a1 = line_.along_at(seg + 1);
  if (a1 <= a0) return time_s_[seg];
  const double f = std::clamp((along_m - a0) / (a1 - a0), 0.0, 1.0);
  return time_s_[seg] + f * (time_s_[seg + 1] - time_s_[seg]);
}

double eta_route::time_at(const polyline_projection& p) const noexcept {
  const std::size_t seg = std::min(p.segment, time_s_.size() - 2);
  return time_in_segment(seg, p.along_m);
}

double eta_route::time_at_along(double along_m) const noexcept {
  if (along_m <= 0) return 0;
  if (along_m >= length_m()) return total_s();
  // The last vertex at or before along_m.
  std::size_t lo = 0, hi = time_s_.size() - 1;
  while (hi - lo > 1) {
    const std::size_t mid = (lo + hi) / 2;
    if (line_.along_at(mid) <= along_m) lo = mid; else hi = mid;
  }
  return time_in_segment(lo, along_m);
}

}  // namespace xiaoxiang
