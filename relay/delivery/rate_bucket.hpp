// relay/delivery/rate_bucket.hpp — a hop's optional message or connection rate (token bucket).
//
// Owns: "at most N per period" towards one hop: a bucket refilled at N per period, so the
// long-run rate is N per period, holding at most one second's worth of tokens (at least
// one), so a quiet hop is not sent a whole period's worth in one burst. A take that finds
// no token answers how long until one is there: the caller holds the work back that long
// (not a failure, not an attempt, no retry penalty).
// Pure: time is passed in. A disabled bucket (count 0) always gives a token.
#pragma once

#include <chrono>
#include <cstdint>

namespace relay {

class RateBucket {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Duration = Clock::duration;

  RateBucket() = default;
  /// `count` tokens per `period`; count 0 or a zero period: no limit.
  RateBucket(std::uint32_t count, Duration period) noexcept;

  bool enabled() const noexcept { return count_ != 0; }
  /// Takes a token at `now`: zero when taken, else the wait until the next one (none taken).
  Duration take(TimePoint now) noexcept;
  /// Tokens the bucket may hold.
  double capacity() const noexcept { return capacity_; }

 private:
  void refill(TimePoint now) noexcept;

  std::uint32_t count_ = 0;
  Duration period_{};
  double capacity_ = 0;
  double tokens_ = 0;
  bool started_ = false;
  TimePoint last_{};
};

}  // namespace relay
