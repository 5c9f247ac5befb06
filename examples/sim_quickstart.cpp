// The simulated city in one page: run half an hour of a small city, print a
// few events as the JSON lines a host's queue would carry, the counters of
// what was injected on purpose, and the ground truth of the anomalies.
#include <cstdio>
#include <string>
#include <vector>

#include "xiaoxiang/sim/simulation.hpp"

int main() {
  using namespace xiaoxiang;
  sim_options options;
  options.seed = 7;
  options.riders = 20;
  options.route_deviation_rate = 0.2;  // make anomalies likely in a short run
  simulation city(options);

  std::vector<sim_event> items;
  city.step(30 * 60 * 1000, items);  // the stream does not depend on the step size

  std::string line;
  for (std::size_t i = 0; i < items.size() && i < 5; ++i) {
    line.clear();
    append_jsonl(items[i], line);
    std::printf("%s", line.c_str());
  }
  const sim_counters& c = city.counters();
  std::printf("\n%llu events: %llu positions, %llu duplicates, %llu late fixes, %llu batches\n",
              static_cast<unsigned long long>(c.events), static_cast<unsigned long long>(c.positions),
              static_cast<unsigned long long>(c.duplicates),
              static_cast<unsigned long long>(c.late_fixes),
              static_cast<unsigned long long>(c.batches));
  std::printf("orders: %llu created, %llu delivered, %llu cancelled\n",
              static_cast<unsigned long long>(c.orders_created),
              static_cast<unsigned long long>(c.orders_delivered),
              static_cast<unsigned long long>(c.orders_cancelled));
  std::string truth;
  append_ground_truth_csv(city.ground_truth(), truth);
  std::printf("ground truth:\n%s", truth.c_str());
  return items.empty() || c.orders_created == 0 ? 1 : 0;
}
