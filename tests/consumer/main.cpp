// A host program linking the installed library: proves the package works.
#include <cstdio>

#include "xiaoxiang/xiaoxiang.hpp"

int main() {
  const auto order = xiaoxiang::id::make("O-1001", "orderId");
  if (!order) return 1;
  const auto bad = xiaoxiang::id::make("", "orderId");
  if (bad || bad.error() != xiaoxiang::errc::empty_id) return 2;
  std::printf("consumer ok: %s\n", order->str().c_str());
  return 0;
}
