// Helpers shared by the <area>_bindings.cpp files: converting NumPy arrays
// and Python strings in, tables and errors out. Binding code only converts
// types; every rule lives in the C++ library.
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/result.hpp"

namespace xiaoxiang::python {

namespace py = pybind11;
using namespace pybind11::literals;  // "name"_a for keyword arguments

using f64_array = py::array_t<double, py::array::c_style>;
using i64_array = py::array_t<std::int64_t, py::array::c_style>;

// ValueError "<argument>: <message>": a bad argument, named as Python sees it.
[[noreturn]] void throw_value_error(std::string_view argument, std::string_view message);

// ValueError for a rejected result: "<argument>: <errc message> [<errc name>]".
// `argument` defaults to the library's field name.
[[noreturn]] void throw_rejection(std::error_code code, const char* field,
                                  const char* argument = nullptr);

template <class T>
T value_or_throw(result<T>&& r, const char* argument = nullptr) {
  if (!r.ok()) throw_rejection(r.error(), r.field(), argument);
  return std::move(r).value();
}

// True for Python / NumPy scalars (float, int, np.float32, 0-d arrays, ...).
bool is_scalar(py::handle h);

// A 1-D C-contiguous float64 copy or view of any array-like of numbers (ints,
// float32, pandas Series, lists, non-contiguous slices, 0-d: length 1).
// ValueError naming `argument` for None, strings, other shapes.
f64_array to_f64(py::handle h, const char* argument);

// A 1-D int64 array of milliseconds since the epoch from ints, floats (NaN
// and infinities become -1: an invalid timestamp the engine rejects), or
// datetime64 / pandas datetime (NaT becomes -1).
i64_array to_time_ms(py::handle h, const char* argument);

// Checks that every array is as long as `n` (length-1 arrays broadcast when
// `broadcast`); returns n. ValueError naming the argument otherwise.
std::size_t common_length(std::initializer_list<std::pair<const char*, std::size_t>> sizes,
                          bool broadcast);

// Up to N characters of one string taken from Python; `too_long` when the
// text had more, `bad` when it was not a string at all (None, a float NaN).
template <std::size_t N>
struct short_text {
  std::array<char, N> chars{};
  std::uint8_t size = 0;
  bool too_long = false;
  bool bad = false;
  std::string_view view() const noexcept { return {chars.data(), size}; }
};

// Reads a column of strings (list, NumPy U / S / object array, pandas
// Series) or of integers (written in decimal) into fixed-size texts, with
// the GIL held; the loop that uses them can then run without it.
template <std::size_t N>
std::vector<short_text<N>> to_texts(py::handle h, const char* argument);

// Ids from to_texts: each checked with id::check; `codes[i]` is errc::ok or
// the reason row i has no valid id.
struct id_column {
  std::vector<id> ids;
  std::vector<errc> codes;
};
id_column to_ids(py::handle h, const char* argument);

// A table from named columns: a pandas DataFrame when pandas imports, a
// NumPy structured (record) array otherwise.
py::object make_table(const std::vector<std::pair<std::string, py::object>>& columns);

// A NumPy array of `n` fixed-width str (dtype '<U{width}') and its UCS-4 buffer.
py::array make_str_array(std::size_t n, std::size_t width, std::uint32_t** data);
py::array make_str_array(std::vector<std::size_t> shape, std::size_t width, std::uint32_t** data);
std::size_t release_result_buffers();  // unmaps the cached result buffers; returns their bytes

// Writes text into one UCS-4 item of `width` characters (zero padded).
inline void put_ucs4(std::uint32_t* item, std::size_t width, std::string_view text) noexcept {
  std::size_t i = 0;
  for (; i < text.size() && i < width; ++i) item[i] = static_cast<unsigned char>(text[i]);
  for (; i < width; ++i) item[i] = 0;
}

// The 12 characters at `text` (zero-padded) as 12 UCS-4 code units at
// `item` (48 bytes written): NumPy's '<U' layout. SSE2 (every x86-64) widens
// 16 bytes in 3 stores instead of 12 scalar ones. With kStream (and `item`
// 16-byte aligned) the stores bypass the cache: a big output array is then
// written without first being read (4 bytes out per character make the
// memory traffic, not the encoding, the cost); call stream_fence() after.
template <bool kStream = false>
inline void widen_12(std::uint32_t* item, const char* text) noexcept {
#if defined(__SSE2__)
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text));
  const __m128i zero = _mm_setzero_si128();
  const __m128i lo16 = _mm_unpacklo_epi8(bytes, zero);  // characters 0..7
  const __m128i hi16 = _mm_unpackhi_epi8(bytes, zero);  // characters 8..15
  auto* out = reinterpret_cast<__m128i*>(item);
  if constexpr (kStream) {
    _mm_stream_si128(out, _mm_unpacklo_epi16(lo16, zero));
    _mm_stream_si128(out + 1, _mm_unpackhi_epi16(lo16, zero));
    _mm_stream_si128(out + 2, _mm_unpacklo_epi16(hi16, zero));
  } else {
    _mm_storeu_si128(out, _mm_unpacklo_epi16(lo16, zero));
    _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(lo16, zero));
    _mm_storeu_si128(out + 2, _mm_unpacklo_epi16(hi16, zero));
  }
#else
  for (int k = 0; k < 12; ++k) item[k] = static_cast<unsigned char>(text[k]);
#endif
}

// Orders widen_12<true>'s streaming stores before the array is handed back.
inline void stream_fence() noexcept {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

// An id as a Python str, None when empty.
py::object id_or_none(const id& v);

// The errc name of a code of this library ("invalid_latitude"), "ok" for none.
const char* code_name(std::error_code code) noexcept;

// bind_<area>: one per file, called by module.cpp in dependency order.
void bind_core(py::module_& m);
void bind_geo(py::module_& m);
void bind_trajectory(py::module_& m);
void bind_anomaly(py::module_& m);
void bind_eta(py::module_& m);
void bind_engine(py::module_& m);
void bind_sim(py::module_& m);

}  // namespace xiaoxiang::python
