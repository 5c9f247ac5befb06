#include "xiaoxiang/order/tracking_record.hpp"

namespace xiaoxiang {

id make_record_id(const order_id& order, std::uint64_t version) noexcept {
  // Written by hand (it runs once per record on the ingest path): the same
  // text as "%016llx-%llx", clamped to the schema's 32 characters.
  static constexpr char kHex[] = "0123456789abcdef";
  char text[40];
  const std::uint64_t h = order.hash();
  for (int i = 0; i < 16; ++i) text[i] = kHex[(h >> (60 - 4 * i)) & 0xf];
  text[16] = '-';
  std::size_t n = 17;
  int shift = 60;
  while (shift > 0 && ((version >> shift) & 0xf) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) text[n++] = kHex[(version >> shift) & 0xf];
  return *id::make(std::string_view(text, n < 32 ? n : 32));
}

}  // namespace xiaoxiang
