// queue/retry_schedule.hpp — when a deferred recipient is tried again, and when it expires.
//
// Owns: the retry delay table (conf::QueueConfig::retry_schedule, the last entry repeating)
// with ±10% jitter, and the queue lifetime check. Jitter spreads retries of a burst that
// failed together so they do not all hit the recovered hop in the same second.
// Never: reads a clock or a random source — `now` and `jitter_unit` come from the caller.
// Pure; safe to share between threads (immutable after construction).
// See also: Exchange's transient failure retry intervals, RFC 5321 §4.5.4.1.
#pragma once

#include <cstdint>
#include <vector>

#include "conf/config.hpp"
#include "queue/message.hpp"

namespace queue {

class RetrySchedule {
 public:
  explicit RetrySchedule(const conf::QueueConfig& config);

  /// Time of the next attempt after `attempts_so_far` failed attempts. The delay is
  /// schedule[min(n, size) - 1] with n = max(attempts_so_far, 1), scaled by a factor in
  /// [0.9, 1.1) chosen by `jitter_unit` in [0, 1) (values outside are clamped).
  UnixMillis next_attempt(UnixMillis now, std::uint32_t attempts_so_far, double jitter_unit) const noexcept;

  /// When a recipient that found no usable hop (parked, schema v5) is looked at again if
  /// nothing releases it first: after as long as the message has been queued so far (the
  /// Postfix backoff idea), at least `floor_ms` and at most the last schedule entry, with
  /// the same jitter. Release on a hop's recovery is what normally moves it; this bounds
  /// the wait should health never change.
  UnixMillis parked_until(UnixMillis now, UnixMillis received_at, std::int64_t floor_ms,
                          double jitter_unit) const noexcept;

  /// True once the message has been queued for the whole lifetime (now - received_at >= lifetime).
  bool expired(UnixMillis received_at, UnixMillis now) const noexcept;

  /// [queue].delay_notice: true once a message received at `received_at` has waited at
  /// least `after` (> 0). Whether the notice was already sent is the caller's record.
  bool delay_notice_due(UnixMillis received_at, UnixMillis now, std::chrono::seconds after) const noexcept;

  /// Un-jittered delay before retry n (1-based), in milliseconds.
  std::int64_t base_delay_ms(std::uint32_t attempts_so_far) const noexcept;

 private:
  /// `base` scaled into [0.9 base, 1.1 base) by `jitter_unit` in [0, 1).
  static std::int64_t jittered(std::int64_t base, double jitter_unit) noexcept;

  std::vector<std::int64_t> delays_ms_;  // never empty
  std::int64_t lifetime_ms_;
};

}  // namespace queue
