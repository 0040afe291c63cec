// health/run_tracker.hpp — the up/down decision for one path, with hysteresis.
//
// Owns: the last runs of one path (each run = all its checks once), the path's state
// (UP/DOWN), since when, and the rules that change it: a run FAILS when at least
// `fail_threshold` of its checks failed; UP → DOWN when at least `down_failed` of the
// last `down_runs` runs failed; DOWN → UP when at least `up_succeeded` of the last
// `up_runs` runs succeeded. Like HAProxy/Envoy, a transition needs fresh evidence: the
// run history is cleared on every state change, so a full window of runs must be seen
// before the next change ("2 runs have been made, which is the minimum").
// Also computes the delay to the next run: `fast_interval` while the latest run
// disagrees with the state (HAProxy fastinter), else `interval`, plus jitter.
// Pure: time and randomness are passed in. Not thread-safe (one owner: the monitor).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

#include "conf/config.hpp"

namespace health {

enum class State : std::uint8_t { down, up };

constexpr const char* to_string(State s) noexcept { return s == State::up ? "UP" : "DOWN"; }

class RunTracker {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Duration = Clock::duration;

  struct Transition {
    State from;
    State to;
    TimePoint at;
  };

  RunTracker(const conf::HealthRules& rules, TimePoint now);

  /// Records one run: `failed_checks` of `checks` failed. Returns the transition the run
  /// caused, if any.
  std::optional<Transition> record(TimePoint now, std::uint32_t failed_checks, std::uint32_t checks);
  /// Forces a state (maintenance_state = "up"/"down"); clears the history on a change.
  std::optional<Transition> force(State state, TimePoint now);

  /// Whether a run with this many failed checks counts as failed.
  bool run_failed(std::uint32_t failed_checks) const noexcept { return failed_checks >= rules_.fail_threshold; }
  State state() const noexcept { return state_; }
  TimePoint since() const noexcept { return since_; }
  /// Failed flags of the runs since the last transition (oldest first, bounded).
  const std::deque<bool>& history() const noexcept { return history_; }
  /// True while the latest run disagrees with the state: a change may be under way.
  bool changing() const noexcept;
  /// Delay before the next run; `unit` is a random number in [0, 1) for the jitter.
  Duration next_delay(double unit) const noexcept;

 private:
  conf::HealthRules rules_;
  State state_;
  TimePoint since_;
  std::deque<bool> history_;  // true = failed
};

}  // namespace health
