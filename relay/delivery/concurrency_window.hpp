// relay/delivery/concurrency_window.hpp — how many sessions a hop gets now (concurrency feedback).
//
// Owns: the per-hop connection window between 1 and the hop's max_connections, after the
// Postfix queue manager's destination concurrency feedback (SCHEDULER_README): the window
// starts small, a throttling reply (421 "too many connections", 4.7.x rate limits) shrinks
// it at once, and successful transactions grow it back slowly, so a smart host that
// enforces a session or rate limit sees hubrelay settle just under it instead of being
// hammered and punishing us.
// Rules (time and session counts are passed in, never read):
//   - start: min(initial, max); never below 1, never above max.
//   - throttle(now, sessions): window = max(1, min(window - 1, sessions)); `sessions` is
//     how many other sessions the hop was serving when it refused: the server told us
//     where its limit is, so one step below our window is not enough when many
//     connections were opened at once and several are refused together.
//   - success(now, sessions): + 1/floor(window) (one whole step per window's worth of
//     successes, Postfix's positive feedback 1/concurrency), only while the window is in
//     use (sessions >= floor(window): an idle hop proves nothing about a larger window)
//     and not within `hold` after the last throttle (the server just said no; growing
//     again at once would only find the same limit and lose another transaction).
// Pure: no clock reads, no I/O. One owner (the delivery engine's thread).
#pragma once

#include <chrono>
#include <cstdint>

namespace relay {

class ConcurrencyWindow {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Duration = Clock::duration;

  /// Start value when a hop's window is not configured otherwise.
  static constexpr std::uint32_t default_initial = 5;
  static constexpr Duration default_hold = std::chrono::seconds(10);

  explicit ConcurrencyWindow(std::uint32_t max, std::uint32_t initial = default_initial,
                             Duration hold = default_hold) noexcept;

  /// Sessions the hop may have open now.
  std::uint32_t limit() const noexcept { return static_cast<std::uint32_t>(window_); }
  std::uint32_t max() const noexcept { return max_; }

  /// A throttling reply or a session refused by policy, with `sessions` other sessions open.
  /// @return true when the window shrank.
  bool throttle(TimePoint now, std::uint32_t sessions) noexcept;
  /// A transaction that delivered, with `sessions` sessions open (this one included).
  /// @return true when the whole window grew by one.
  bool success(TimePoint now, std::uint32_t sessions) noexcept;

 private:
  std::uint32_t max_;
  Duration hold_;
  double window_;
  bool throttled_ = false;
  TimePoint last_throttle_{};
};

}  // namespace relay
