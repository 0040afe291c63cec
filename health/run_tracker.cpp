// health/run_tracker.cpp — the failover rules with hysteresis (see the header).
#include "health/run_tracker.hpp"

#include <algorithm>

namespace health {

RunTracker::RunTracker(const conf::HealthRules& rules, TimePoint now)
    : rules_(rules), state_(rules.initial_up ? State::up : State::down), since_(now) {
  // A zero in the rules would make every window trivially satisfied; the loader forbids it.
  rules_.down_runs = std::max<std::uint32_t>(rules_.down_runs, 1);
  rules_.up_runs = std::max<std::uint32_t>(rules_.up_runs, 1);
  rules_.fail_threshold = std::max<std::uint32_t>(rules_.fail_threshold, 1);
}

std::optional<RunTracker::Transition> RunTracker::record(TimePoint now, std::uint32_t failed_checks,
                                                         std::uint32_t checks) {
  // A path with no checks can never fail a run; the loader requires at least one.
  const bool failed = checks > 0 && run_failed(failed_checks);
  history_.push_back(failed);
  const std::size_t keep = std::max(rules_.down_runs, rules_.up_runs);
  while (history_.size() > keep) history_.pop_front();

  const std::uint32_t window = state_ == State::up ? rules_.down_runs : rules_.up_runs;
  if (history_.size() < window) return std::nullopt;  // not enough runs yet to decide
  const auto last = std::ranges::subrange(history_.end() - window, history_.end());
  const auto failures = static_cast<std::uint32_t>(std::ranges::count(last, true));
  if (state_ == State::up && failures >= rules_.down_failed) return force(State::down, now);
  if (state_ == State::down && window - failures >= rules_.up_succeeded) return force(State::up, now);
  return std::nullopt;
}

std::optional<RunTracker::Transition> RunTracker::force(State state, TimePoint now) {
  if (state == state_) return std::nullopt;
  Transition t{state_, state, now};
  state_ = state;
  since_ = now;
  history_.clear();
  return t;
}

bool RunTracker::changing() const noexcept {
  if (history_.empty()) return false;
  return history_.back() == (state_ == State::up);
}

RunTracker::Duration RunTracker::next_delay(double unit) const noexcept {
  const auto base = changing() && rules_.fast_interval.count() > 0 ? rules_.fast_interval : rules_.interval;
  unit = std::clamp(unit, 0.0, 1.0);
  const auto jitter = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, std::milli>(static_cast<double>(rules_.jitter.count()) * unit));
  return std::chrono::duration_cast<Duration>(base) + jitter;
}

}  // namespace health
