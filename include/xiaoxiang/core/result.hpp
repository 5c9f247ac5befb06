// result<T>: a value or the reason it could not be produced (an error code
// and the field it concerns). Expected rejections travel as results, never
// as exceptions.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "xiaoxiang/core/error.hpp"

namespace xiaoxiang {

template <class T>
class [[nodiscard]] result {
 public:
  using value_type = T;

  result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  result(errc code, const char* field = nullptr) noexcept  // NOLINT
      : code_(static_cast<int>(code)), category_(&error_category()), field_(field) {}
  result(std::error_code code, const char* field = nullptr) noexcept  // NOLINT
      : code_(code.value()), category_(&code.category()), field_(field) {
    assert(code && "a failed result needs a non-zero code");
  }

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }

  // Requires: ok().
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The code of a failure; a default (zero) error_code when ok().
  std::error_code error() const noexcept {
    return category_ ? std::error_code(code_, *category_) : std::error_code();
  }
  // The field a failure concerns ("lat", "orderId"), or nullptr.
  const char* field() const noexcept { return field_; }
  // "lat: latitude is NaN, infinite or outside [-90, 90]"; "" when ok().
  std::string message() const { return ok() ? std::string() : describe(error(), field_); }

 private:
  // The code as value + category rather than a std::error_code: a default
  // error_code calls the out-of-line std::system_category(), which would
  // cost every successful result on hot paths (GeoHash encode, id checks).
  std::optional<T> value_;
  int code_ = 0;
  const std::error_category* category_ = nullptr;
  const char* field_ = nullptr;
};

// A status without a value: ok, or a code and a field.
struct [[nodiscard]] status_result {
  std::error_code code;
  const char* field = nullptr;

  status_result() = default;
  status_result(errc e, const char* f = nullptr) noexcept  // NOLINT
      : code(make_error_code(e)), field(f) {}
  status_result(std::error_code c, const char* f = nullptr) noexcept : code(c), field(f) {}  // NOLINT
  bool ok() const noexcept { return !code; }
  explicit operator bool() const noexcept { return ok(); }
  std::string message() const { return ok() ? std::string() : describe(code, field); }
};

}  // namespace xiaoxiang
