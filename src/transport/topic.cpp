#include <string>

#include "xiaoxiang/transport/publisher.hpp"

namespace xiaoxiang {

std::string order_topic(const order_id& order) {
  std::string topic;
  topic.reserve(14 + order.size());
  topic.append("/topic/orders/");
  topic.append(order.view());
  return topic;
}

}  // namespace xiaoxiang
