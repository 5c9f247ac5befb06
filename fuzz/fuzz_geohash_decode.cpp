// libFuzzer target: GeoHash decoding of arbitrary bytes (text and integer
// forms). Bad input must come back as the right errc; good input must obey
// the round-trip and containment invariants. Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "xiaoxiang/geo/geohash.hpp"

namespace {

using namespace xiaoxiang;

void require(bool condition) {
  if (!condition) std::abort();
}

bool inside(const geo_box& b, geo_point p) {
  return p.lon >= b.min_lon && p.lon <= b.max_lon && p.lat >= b.min_lat && p.lat <= b.max_lat;
}

void check_cell(geohash_int h) {
  require(check_geohash_int(h).ok());
  const geo_box box = geohash_box(h);
  const geohash_cell cell = decode(h);
  require(inside(box, cell.center));
  require(cell.lon_err > 0 && cell.lat_err > 0);
  require(box.min_lon >= -180 && box.max_lon <= 180 && box.min_lat >= -90 && box.max_lat <= 90);
  // The centre encodes back to the same cell.
  const auto again = point_to_geohash_int(cell.center, h.bit_count);
  require(again.ok() && *again == h);
  for (const geohash_int n : neighbours(h)) require(check_geohash_int(n).ok() && n.bit_count == h.bit_count);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto as_int = geohash_to_int(text);
  const auto cell = decode_geohash(text);
  require(as_int.ok() == cell.ok());
  if (!as_int.ok()) {
    require(as_int.error() == cell.error());
    require(std::strcmp(as_int.field(), "geohash") == 0);
    if (size == 0) require(as_int.error() == make_error_code(errc::empty_geohash));
    else if (size > 12) require(as_int.error() == make_error_code(errc::geohash_too_long));
    else require(as_int.error() == make_error_code(errc::invalid_geohash_character));
  } else {
    require(size >= 1 && size <= 12 && as_int->bit_count == 5 * static_cast<int>(size));
    const geohash back = int_to_geohash(*as_int);
    require(back.precision() == static_cast<int>(size));
    for (std::size_t i = 0; i < size; ++i) {
      char c = text[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      require(back.view()[i] == c);
    }
    check_cell(*as_int);
    const geohash_cell direct = decode(*as_int);
    require(direct.center == cell->center && direct.lon_err == cell->lon_err &&
            direct.lat_err == cell->lat_err);
  }
  // The same bytes read as an integer hash from outside: 8 bytes of bits and
  // one of bit count.
  if (size >= 9) {
    geohash_int h;
    std::memcpy(&h.bits, data, 8);
    h.bit_count = static_cast<std::int8_t>(data[8]);
    if (check_geohash_int(h).ok()) check_cell(h);
    else require(h.bit_count < 1 || h.bit_count > 60 || (h.bits >> h.bit_count) != 0);
  }
  return 0;
}
