#include "xiaoxiang/redis/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/time.h>

#include <charconv>
#include <string>

#include "xiaoxiang/core/error.hpp"

namespace xiaoxiang {
namespace {

timeval to_timeval(duration_ms ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms % 1000) * 1000);
  return tv;
}

redis_value convert(const redisReply* r) {
  redis_value v;
  if (r == nullptr) return v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = redis_type::string;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = redis_type::status;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.type = redis_type::error;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = redis_type::integer;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = redis_type::array;
      v.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;  // nil
  }
  return v;
}

struct reply_deleter {
  void operator()(void* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<void, reply_deleter>;

}  // namespace

std::string redis_endpoint::to_string() const { return host + ":" + std::to_string(port); }

result<redis_endpoint> parse_redis_endpoint(std::string_view text) {
  redis_endpoint e;
  const auto colon = text.rfind(':');
  std::string_view host = text, port;
  if (colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) host = "127.0.0.1";
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return {errc::invalid_field, "redis"};
    e.port = static_cast<std::uint16_t>(value);
  }
  if (host.empty()) return {errc::invalid_field, "redis"};
  e.host = std::string(host);
  return e;
}

struct redis_connection::impl {
  redisContext* ctx = nullptr;
  std::size_t appended = 0;  // pipelined commands whose reply is not read yet

  ~impl() { close(); }
  void close() noexcept {
    if (ctx) redisFree(ctx);
    ctx = nullptr;
    appended = 0;
  }
};

namespace {

[[noreturn]] void fail(const redis_connection_options& o, const char* what, const char* detail) {
  throw error(make_error_code(errc::redis_io),
              "redis " + o.endpoint.to_string() + ": " + what + ": " + detail);
}

void open(redis_connection_options const& o, redisContext*& ctx) {
  ctx = redisConnectWithTimeout(o.endpoint.host.c_str(), o.endpoint.port,
                                to_timeval(o.connect_timeout_ms));
  if (ctx == nullptr) fail(o, "connect", "out of memory");
  if (ctx->err) {
    const std::string detail = ctx->errstr;
    redisFree(ctx);
    ctx = nullptr;
    fail(o, "connect", detail.c_str());
  }
  if (redisSetTimeout(ctx, to_timeval(o.io_timeout_ms)) != REDIS_OK) {
    redisFree(ctx);
    ctx = nullptr;
    fail(o, "connect", "cannot set the I/O timeout");
  }
  redisEnableKeepAlive(ctx);
}

}  // namespace

redis_connection::redis_connection(redis_connection_options options)
    : options_(std::move(options)), impl_(std::make_unique<impl>()) {
  open(options_, impl_->ctx);
}

redis_connection::~redis_connection() = default;
redis_connection::redis_connection(redis_connection&&) noexcept = default;
redis_connection& redis_connection::operator=(redis_connection&&) noexcept = default;

void redis_connection::reconnect() {
  impl_->close();
  open(options_, impl_->ctx);
}

void redis_connection::append(std::span<const std::string_view> args) {
  if (!impl_->ctx) fail(options_, "append", "not connected");
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(impl_->ctx, static_cast<int>(args.size()), argv.data(), lens.data()) !=
      REDIS_OK)
    fail(options_, "append", impl_->ctx->errstr);
  ++impl_->appended;
}

void redis_connection::append(std::initializer_list<std::string_view> args) {
  append(std::span<const std::string_view>(args.begin(), args.size()));
}

redis_value redis_connection::get_reply() {
  if (!impl_->ctx) fail(options_, "read", "not connected");
  void* raw = nullptr;
  if (redisGetReply(impl_->ctx, &raw) != REDIS_OK) {
    const std::string detail = impl_->ctx->errstr;
    impl_->close();  // hiredis contexts are unusable after an error
    fail(options_, "read", detail.c_str());
  }
  reply_ptr owned(raw);
  if (impl_->appended > 0) --impl_->appended;
  return convert(static_cast<const redisReply*>(raw));
}

redis_value redis_connection::command(std::span<const std::string_view> args) {
  append(args);
  return get_reply();
}

redis_value redis_connection::command(std::initializer_list<std::string_view> args) {
  return command(std::span<const std::string_view>(args.begin(), args.size()));
}

std::optional<redis_value> redis_connection::poll_reply(std::chrono::milliseconds timeout) {
  if (!impl_->ctx) fail(options_, "read", "not connected");
  redisContext* ctx = impl_->ctx;
  void* raw = nullptr;
  // Replies already buffered first; then wait for the socket ourselves, so
  // that a timeout does not poison the hiredis context.
  if (redisGetReplyFromReader(ctx, &raw) != REDIS_OK) {
    const std::string detail = ctx->errstr;
    impl_->close();
    fail(options_, "read", detail.c_str());
  }
  if (raw == nullptr) {
    int wdone = 0;
    while (!wdone) {  // flush anything appended (SUBSCRIBE)
      if (redisBufferWrite(ctx, &wdone) != REDIS_OK) {
        const std::string detail = ctx->errstr;
        impl_->close();
        fail(options_, "write", detail.c_str());
      }
    }
    pollfd p{ctx->fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n <= 0) return std::nullopt;
    if (redisBufferRead(ctx) != REDIS_OK || redisGetReplyFromReader(ctx, &raw) != REDIS_OK) {
      const std::string detail = ctx->errstr;
      impl_->close();
      fail(options_, "read", detail.c_str());
    }
    if (raw == nullptr) return std::nullopt;  // a partial reply: the rest comes next time
  }
  reply_ptr owned(raw);
  if (impl_->appended > 0) --impl_->appended;
  return convert(static_cast<const redisReply*>(raw));
}

}  // namespace xiaoxiang
