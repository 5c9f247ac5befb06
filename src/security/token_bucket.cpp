#include "xiaoxiang/security/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace xiaoxiang {

token_bucket::token_bucket(token_bucket_options options, std::int64_t now_ns) noexcept
    : interval_ns_(options.rate_per_s > 0 && std::isfinite(options.rate_per_s)
                       ? std::max<std::int64_t>(1, std::llround(1e9 / options.rate_per_s))
                       : 0),
      burst_(std::max<std::uint32_t>(1, options.burst)),
      tat_ns_(now_ns),
      last_ns_(now_ns) {}

bool token_bucket::try_take(std::int64_t now_ns) noexcept {
  if (interval_ns_ == 0) return true;
  now_ns = last_ns_ = std::max(last_ns_, now_ns);
  // GCRA: the bucket is "tat - now" worth of tokens in debt; one more token
  // is allowed while that debt stays within burst - 1 intervals.
  const std::int64_t tat = std::max(tat_ns_, now_ns);
  const std::int64_t debt_after = tat + interval_ns_ - now_ns;
  if (debt_after > static_cast<std::int64_t>(burst_) * interval_ns_) return false;
  tat_ns_ = tat + interval_ns_;
  return true;
}

std::uint32_t token_bucket::available(std::int64_t now_ns) const noexcept {
  if (interval_ns_ == 0) return burst_;
  now_ns = std::max(last_ns_, now_ns);
  const std::int64_t debt = std::max<std::int64_t>(0, tat_ns_ - now_ns);
  // Tokens are whole: a token is back only once its full interval passed.
  const std::int64_t used = (debt + interval_ns_ - 1) / interval_ns_;
  return static_cast<std::uint32_t>(std::max<std::int64_t>(0, burst_ - used));
}

}  // namespace xiaoxiang
