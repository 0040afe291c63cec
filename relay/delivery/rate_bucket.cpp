// relay/delivery/rate_bucket.cpp — token bucket with time fed in.
#include "relay/delivery/rate_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace relay {

RateBucket::RateBucket(std::uint32_t count, Duration period) noexcept
    : count_(period > Duration::zero() ? count : 0), period_(period) {
  if (count_ == 0) return;
  const double per_second = count_ * (std::chrono::duration<double>(std::chrono::seconds(1)) / period_);
  capacity_ = std::max(1.0, std::floor(per_second));
  tokens_ = capacity_;
}

void RateBucket::refill(TimePoint now) noexcept {
  if (!started_) {
    started_ = true;
    last_ = now;
    return;
  }
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_) / std::chrono::duration<double>(period_);
  tokens_ = std::min(capacity_, tokens_ + elapsed * count_);
  last_ = now;
}

RateBucket::Duration RateBucket::take(TimePoint now) noexcept {
  if (count_ == 0) return Duration::zero();
  refill(now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return Duration::zero();
  }
  const double missing = (1.0 - tokens_) / count_;  // in periods
  const auto wait = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(period_) * missing);
  return std::max(wait, Duration(1));
}

}  // namespace relay
