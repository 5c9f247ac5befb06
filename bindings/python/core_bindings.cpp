// core: the exception type, error codes, and the array / string conversions
// every other binding uses.
#include <sys/mman.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "common.hpp"

namespace xiaoxiang::python {
namespace {

// The Python class xiaoxiang.Error; set once by bind_core, never freed (a
// module-lifetime object, as pybind11's own exception types).
PyObject* g_error_type = nullptr;

std::string dtype_text(py::handle h) {
  if (py::hasattr(h, "dtype")) return py::str(h.attr("dtype")).cast<std::string>();
  return py::str(py::type::handle_of(h).attr("__name__")).cast<std::string>();
}

py::array as_array(py::handle h, const char* argument) {
  if (h.is_none()) throw_value_error(argument, "expected an array, got None");
  if (py::isinstance<py::str>(h) || py::isinstance<py::bytes>(h))
    throw_value_error(argument, "expected an array, got a string");
  try {
    return py::module_::import("numpy").attr("asarray")(h);
  } catch (py::error_already_set& e) {
    throw_value_error(argument, std::string("cannot be read as an array: ") + e.what());
  }
}

void check_1d(const py::array& a, const char* argument) {
  if (a.ndim() > 1)
    throw_value_error(argument, "expected a 1-D array, got " + std::to_string(a.ndim()) +
                                    " dimensions");
}

template <std::size_t N>
void fill_text(short_text<N>& out, std::string_view text) {
  // Python strings may hold NUL; a NUL-padded NumPy item has its padding cut already.
  if (text.size() > N) {
    out.too_long = true;
    text = text.substr(0, N);
  }
  std::memcpy(out.chars.data(), text.data(), text.size());
  out.size = static_cast<std::uint8_t>(text.size());
}

}  // namespace

void throw_value_error(std::string_view argument, std::string_view message) {
  std::string text(argument);
  text += ": ";
  text += message;
  throw py::value_error(text);
}

void throw_rejection(std::error_code code, const char* field, const char* argument) {
  std::string text = code.message();
  text += " [";
  text += code_name(code);
  text += "]";
  throw_value_error(argument ? argument : (field ? field : "argument"), text);
}

const char* code_name(std::error_code code) noexcept {
  if (!code) return "ok";
  if (code.category() != error_category()) return "unknown";
  return errc_name(static_cast<errc>(code.value()));
}

bool is_scalar(py::handle h) {
  if (py::isinstance<py::float_>(h) || py::isinstance<py::int_>(h)) return true;
  if (py::isinstance<py::str>(h) || py::isinstance<py::bytes>(h)) return false;
  if (py::hasattr(h, "ndim") && !py::isinstance<py::array>(h) && py::hasattr(h, "dtype")) {
    // NumPy scalar types (np.float32(1)) have ndim 0 but are not arrays.
    return h.attr("ndim").cast<int>() == 0;
  }
  if (py::isinstance<py::array>(h)) return py::reinterpret_borrow<py::array>(h).ndim() == 0;
  return false;
}

f64_array to_f64(py::handle h, const char* argument) {
  py::array a = as_array(h, argument);
  check_1d(a, argument);
  const char kind = a.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw_value_error(argument, "expected numbers, got dtype " + dtype_text(a));
  auto out = f64_array::ensure(a);
  if (!out) throw_value_error(argument, "cannot be converted to float64 from dtype " + dtype_text(a));
  if (out.ndim() == 0) out = out.reshape({py::ssize_t{1}});
  return out;
}

i64_array to_time_ms(py::handle h, const char* argument) {
  py::array a = as_array(h, argument);
  check_1d(a, argument);
  const char kind = a.dtype().kind();
  if (kind == 'M') {
    // datetime64 of any unit: NaT is the smallest int64, mapped to -1 below.
    py::array ms = a.attr("astype")("datetime64[ms]").attr("view")("int64");
    auto out = i64_array::ensure(ms);
    if (out.ndim() == 0) out = out.reshape({py::ssize_t{1}});
    auto* d = out.mutable_data();
    for (py::ssize_t i = 0; i < out.size(); ++i)
      if (d[i] == std::numeric_limits<std::int64_t>::min()) d[i] = -1;
    return out;
  }
  if (kind == 'f') {
    const f64_array f = to_f64(a, argument);
    i64_array out(f.size());
    const double* src = f.data();
    auto* dst = out.mutable_data();
    for (py::ssize_t i = 0; i < f.size(); ++i) {
      // 9.2e18 ms is beyond any timestamp the engine accepts; keep the cast defined.
      const bool ok = std::isfinite(src[i]) && std::fabs(src[i]) < 9.0e18;
      dst[i] = ok ? static_cast<std::int64_t>(std::llround(src[i])) : -1;
    }
    return out;
  }
  if (kind != 'i' && kind != 'u' && kind != 'b')
    throw_value_error(argument, "expected int64 milliseconds or datetime64, got dtype " +
                                    dtype_text(a));
  if (kind == 'u' && a.dtype().itemsize() == 8) {
    // uint64 beyond int64 would wrap to negative: clamp to an invalid time.
    py::array big = a.attr("__gt__")(std::numeric_limits<std::int64_t>::max());
    if (big.attr("any")().cast<bool>()) a = a.attr("clip")(0, std::numeric_limits<std::int64_t>::max());
  }
  auto out = i64_array::ensure(a);
  if (!out) throw_value_error(argument, "cannot be converted to int64 from dtype " + dtype_text(a));
  if (out.ndim() == 0) out = out.reshape({py::ssize_t{1}});
  return out;
}

std::size_t common_length(std::initializer_list<std::pair<const char*, std::size_t>> sizes,
                          bool broadcast) {
  std::size_t n = 0;
  bool any = false;
  for (const auto& [name, size] : sizes) {
    if (broadcast && size == 1) continue;
    if (!any) {
      n = size;
      any = true;
    } else if (size != n) {
      throw_value_error(name, "length " + std::to_string(size) + " differs from " +
                                  std::to_string(n) + " (the other arrays' length)");
    }
  }
  if (!any) n = sizes.size() == 0 ? 0 : 1;
  return n;
}

template <std::size_t N>
std::vector<short_text<N>> to_texts(py::handle h, const char* argument) {
  py::array a;
  if (py::isinstance<py::str>(h) || py::isinstance<py::bytes>(h)) {
    a = py::module_::import("numpy").attr("asarray")(py::make_tuple(h), "dtype"_a = "object");
  } else {
    a = as_array(h, argument);
  }
  check_1d(a, argument);
  if (a.ndim() == 0) a = a.attr("reshape")(1);
  const auto n = static_cast<std::size_t>(a.size());
  std::vector<short_text<N>> out(n);
  const char kind = a.dtype().kind();
  if (kind == 'U') {
    py::array c = py::array::ensure(a, py::array::c_style);
    const auto width = static_cast<std::size_t>(c.itemsize()) / 4;
    const auto* base = static_cast<const std::uint32_t*>(c.data());
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t* item = base + i * width;
      std::size_t len = width;
      while (len > 0 && item[len - 1] == 0) --len;
      short_text<N>& t = out[i];
      if (len > N) t.too_long = true;
      const std::size_t take = len < N ? len : N;
      for (std::size_t k = 0; k < take; ++k)
        // Non-ASCII code points become a byte no id or GeoHash allows.
        t.chars[k] = item[k] < 0x80 ? static_cast<char>(item[k]) : '\x7f';
      t.size = static_cast<std::uint8_t>(take);
    }
  } else if (kind == 'S') {
    py::array c = py::array::ensure(a, py::array::c_style);
    const auto width = static_cast<std::size_t>(c.itemsize());
    const auto* base = static_cast<const char*>(c.data());
    for (std::size_t i = 0; i < n; ++i) {
      std::string_view item(base + i * width, width);
      while (!item.empty() && item.back() == '\0') item.remove_suffix(1);
      fill_text(out[i], item);
    }
  } else if (kind == 'O') {
    py::array c = py::array::ensure(a, py::array::c_style);
    auto* const* items = static_cast<PyObject* const*>(c.data());
    for (std::size_t i = 0; i < n; ++i) {
      PyObject* item = items[i];
      if (item != nullptr && PyUnicode_Check(item)) {
        Py_ssize_t size = 0;
        const char* text = PyUnicode_AsUTF8AndSize(item, &size);
        if (text == nullptr) {
          PyErr_Clear();  // lone surrogates: not representable, so not a valid id
          out[i].bad = true;
          continue;
        }
        fill_text(out[i], std::string_view(text, static_cast<std::size_t>(size)));
      } else if (item != nullptr && PyBytes_Check(item)) {
        fill_text(out[i], std::string_view(PyBytes_AS_STRING(item),
                                           static_cast<std::size_t>(PyBytes_GET_SIZE(item))));
      } else if (item != nullptr && PyLong_Check(item)) {
        fill_text(out[i], py::str(item).cast<std::string>());
      } else {
        out[i].bad = true;  // None, NaN (pandas' missing value), other objects
      }
    }
  } else if (kind == 'i' || kind == 'u') {
    auto ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!ints) throw_value_error(argument, "cannot read integer ids");
    const auto* d = ints.data();
    for (std::size_t i = 0; i < n; ++i) fill_text(out[i], std::to_string(d[i]));
  } else {
    throw_value_error(argument, "expected strings, got dtype " + dtype_text(a));
  }
  return out;
}

template std::vector<short_text<12>> to_texts<12>(py::handle, const char*);
template std::vector<short_text<32>> to_texts<32>(py::handle, const char*);

id_column to_ids(py::handle h, const char* argument) {
  const auto texts = to_texts<id::max_size>(h, argument);
  id_column out;
  out.ids.resize(texts.size());
  out.codes.resize(texts.size(), errc::ok);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto& t = texts[i];
    if (t.bad) {
      out.codes[i] = errc::empty_id;
      continue;
    }
    if (t.too_long) {
      out.codes[i] = errc::id_too_long;
      continue;
    }
    auto r = id::make(t.view());
    if (r.ok()) {
      out.ids[i] = *r;
    } else {
      out.codes[i] = static_cast<errc>(r.error().value());
    }
  }
  return out;
}

py::object make_table(const std::vector<std::pair<std::string, py::object>>& columns) {
  py::object pandas;
  try {
    pandas = py::module_::import("pandas");
  } catch (py::error_already_set&) {
    pandas = py::none();
  }
  if (!pandas.is_none()) {
    py::dict data;
    for (const auto& [name, column] : columns) data[py::str(name)] = column;
    return pandas.attr("DataFrame")(data);
  }
  py::list arrays;
  py::list names;
  for (const auto& [name, column] : columns) {
    arrays.append(column);
    names.append(py::str(name));
  }
  py::module_ np = py::module_::import("numpy");
  if (columns.empty()) return np.attr("zeros")(0);
  return np.attr("rec").attr("fromarrays")(arrays, "names"_a = names);
}

namespace {

// Large string results (1,000,000 GeoHashes are 48 MB of UCS-4) come from a
// small cache of freed result buffers. A fresh page costs a fault on first
// touch, and on a virtualised host that fault is the whole cost: on the
// project's VM NumPy's own np.empty + fill of 48 MB takes 160 ms (~14 us per
// 4 KiB page) against 4 ms to encode into it. A buffer handed back when its
// array dies is reused by the next result of a similar size; new buffers are
// mapped with MAP_POPULATE (the kernel faults them in one go, half the cost).
// The cache is bounded (kCachedBuffers, kCachedBytes) and freed by
// xiaoxiang.release_buffers().
constexpr std::size_t kPooledFrom = std::size_t{1} << 20;
constexpr std::size_t kCachedBytes = std::size_t{256} << 20;
constexpr std::size_t kCachedBuffers = 4;
constexpr std::size_t kMapGranule = std::size_t{2} << 20;

struct mapped_buffer {
  void* data = nullptr;
  std::size_t bytes = 0;
};

struct buffer_cache {
  std::mutex mutex;
  std::vector<mapped_buffer> idle;  // oldest first
  std::size_t idle_bytes = 0;
};

buffer_cache& result_buffers() {
  static auto* cache = new buffer_cache;  // module lifetime; capsules may outlive statics
  return *cache;
}

void unmap(const mapped_buffer& b) { ::munmap(b.data, b.bytes); }

mapped_buffer take_buffer(std::size_t bytes) {
  buffer_cache& cache = result_buffers();
  {
    std::lock_guard lock(cache.mutex);
    // The smallest idle buffer that fits without wasting more than half.
    auto best = cache.idle.end();
    for (auto it = cache.idle.begin(); it != cache.idle.end(); ++it)
      if (it->bytes >= bytes && it->bytes / 2 <= bytes && (best == cache.idle.end() || it->bytes < best->bytes))
        best = it;
    if (best != cache.idle.end()) {
      const mapped_buffer b = *best;
      cache.idle.erase(best);
      cache.idle_bytes -= b.bytes;
      return b;
    }
  }
  const std::size_t mapped = (bytes + kMapGranule - 1) / kMapGranule * kMapGranule;
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return {p, mapped};
}

void give_back(mapped_buffer b) {
  buffer_cache& cache = result_buffers();
  std::vector<mapped_buffer> evicted;
  {
    std::lock_guard lock(cache.mutex);
    if (b.bytes > kCachedBytes) {
      evicted.push_back(b);
    } else {
      cache.idle.push_back(b);
      cache.idle_bytes += b.bytes;
      while (cache.idle.size() > kCachedBuffers || cache.idle_bytes > kCachedBytes) {
        evicted.push_back(cache.idle.front());
        cache.idle_bytes -= cache.idle.front().bytes;
        cache.idle.erase(cache.idle.begin());
      }
    }
  }
  for (const auto& e : evicted) unmap(e);
}

}  // namespace

std::size_t release_result_buffers() {
  buffer_cache& cache = result_buffers();
  std::vector<mapped_buffer> idle;
  {
    std::lock_guard lock(cache.mutex);
    idle.swap(cache.idle);
    cache.idle_bytes = 0;
  }
  std::size_t bytes = 0;
  for (const auto& b : idle) {
    bytes += b.bytes;
    unmap(b);
  }
  return bytes;
}

py::array make_str_array(std::vector<std::size_t> shape, std::size_t width, std::uint32_t** data) {
  if (width == 0) width = 1;  // NumPy has no '<U0'
  const py::dtype type("<U" + std::to_string(width));
  std::size_t items = 1;
  for (const std::size_t d : shape) items *= d;
  const std::size_t bytes = items * width * sizeof(std::uint32_t);
  if (bytes < kPooledFrom) {
    py::array out(type, shape);
    *data = static_cast<std::uint32_t*>(out.mutable_data());
    return out;
  }
  struct returned_on_error {  // until the capsule owns it
    mapped_buffer* buffer;
    ~returned_on_error() {
      if (buffer) give_back(*buffer);
      delete buffer;
    }
  } pending{new mapped_buffer(take_buffer(bytes))};
  void* const where = pending.buffer->data;
  py::capsule owner(pending.buffer, [](void* p) {
    auto* b = static_cast<mapped_buffer*>(p);
    give_back(*b);
    delete b;
  });
  pending.buffer = nullptr;
  py::array out(type, shape, where, owner);  // writeable, owned by the capsule
  *data = static_cast<std::uint32_t*>(out.mutable_data());
  return out;
}

py::array make_str_array(std::size_t n, std::size_t width, std::uint32_t** data) {
  return make_str_array(std::vector<std::size_t>{n}, width, data);
}

py::object id_or_none(const id& v) {
  if (v.empty()) return py::none();
  return py::str(v.view().data(), v.size());
}

void bind_core(py::module_& m) {
  m.def("release_buffers", &release_result_buffers,
        "Unmap the cached buffers of freed large string results (kept, up to 4 buffers and "
        "256 MiB, so that the next result of a similar size needs no fresh pages). "
        "Returns the bytes released.");
  py::object base = py::reinterpret_borrow<py::object>(PyExc_RuntimeError);
  py::dict ns;
  ns["__doc__"] = py::str(
      "A failure of the environment (the database cannot be opened, disk full). "
      "`code` is the error name ('storage_io'), `value` its number.");
  ns["__module__"] = py::str("xiaoxiang");
  ns["code"] = py::str("unknown");
  ns["value"] = py::int_(0);
  py::object type = py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(&PyType_Type));
  py::object error_type = type(py::str("Error"), py::make_tuple(base), ns);
  g_error_type = error_type.release().ptr();  // module lifetime
  m.attr("Error") = py::handle(g_error_type);

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const xiaoxiang::error& e) {
      py::object instance = py::handle(g_error_type)(py::str(e.what()));
      instance.attr("code") = py::str(code_name(e.code()));
      instance.attr("value") = py::int_(e.code().value());
      PyErr_SetObject(g_error_type, instance.ptr());
    }
  });

  m.def(
      "errc_name", [](int value) { return std::string(errc_name(static_cast<errc>(value))); },
      "value"_a, "The stable name of an error code number (400 -> 'position_null_island').");
  m.def(
      "errc_message",
      [](const std::string& name) {
        for (int v = 0; v < 1000; ++v) {
          if (name == errc_name(static_cast<errc>(v)))
            return make_error_code(static_cast<errc>(v)).message();
        }
        throw_value_error("name", "no error code is called '" + name + "'");
      },
      "name"_a, "The message of an error code, by name ('invalid_latitude').");
  py::dict codes;
  for (int v = 0; v < 1000; ++v) {
    const char* name = errc_name(static_cast<errc>(v));
    if (std::string_view(name) != "unknown") codes[py::str(name)] = v;
  }
  m.attr("ERRC") = codes;
}

}  // namespace xiaoxiang::python
