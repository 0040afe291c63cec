// queue/retry_schedule.cpp — retry delays with jitter, and queue lifetime.
#include "queue/retry_schedule.hpp"

#include <algorithm>
#include <chrono>

namespace queue {
namespace {

// conf validation rejects an empty schedule; this keeps the class total anyway.
constexpr std::int64_t fallback_delay_ms = 300'000;

}  // namespace

RetrySchedule::RetrySchedule(const conf::QueueConfig& config)
    : lifetime_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(config.lifetime).count()) {
  delays_ms_.reserve(config.retry_schedule.size());
  for (const conf::Seconds delay : config.retry_schedule) {
    delays_ms_.push_back(std::max<std::int64_t>(std::chrono::milliseconds(delay).count(), 0));
  }
  if (delays_ms_.empty()) delays_ms_.push_back(fallback_delay_ms);
}

std::int64_t RetrySchedule::base_delay_ms(std::uint32_t attempts_so_far) const noexcept {
  // A recipient released without an attempt (attempts 0) waits like after the first try.
  const std::size_t n = std::clamp<std::size_t>(attempts_so_far, 1, delays_ms_.size());
  return delays_ms_[n - 1];
}

UnixMillis RetrySchedule::next_attempt(UnixMillis now, std::uint32_t attempts_so_far,
                                       double jitter_unit) const noexcept {
  return now + jittered(base_delay_ms(attempts_so_far), jitter_unit);
}

UnixMillis RetrySchedule::parked_until(UnixMillis now, UnixMillis received_at, std::int64_t floor_ms,
                                       double jitter_unit) const noexcept {
  const std::int64_t ceiling = std::max(delays_ms_.back(), floor_ms);
  return now + jittered(std::clamp<std::int64_t>(now - received_at, floor_ms, ceiling), jitter_unit);
}

std::int64_t RetrySchedule::jittered(std::int64_t base, double jitter_unit) noexcept {
  // Integer band [base - 10%, base + 10%): floating point alone could round u close to 1
  // onto the excluded upper bound.
  const std::int64_t lowest = base - base / 10;
  const std::int64_t span = base / 5;
  if (!(jitter_unit >= 0.0)) jitter_unit = 0.0;  // also catches NaN
  std::int64_t offset = 0;
  if (span > 0) {
    offset = jitter_unit >= 1.0 ? span - 1
                                : std::min(static_cast<std::int64_t>(static_cast<double>(span) * jitter_unit), span - 1);
  }
  return lowest + offset;
}

bool RetrySchedule::expired(UnixMillis received_at, UnixMillis now) const noexcept {
  return now - received_at >= lifetime_ms_;
}

bool RetrySchedule::delay_notice_due(UnixMillis received_at, UnixMillis now,
                                     std::chrono::seconds after) const noexcept {
  if (after.count() <= 0) return false;
  return now - received_at >= std::chrono::duration_cast<std::chrono::milliseconds>(after).count();
}

}  // namespace queue
