// health/passive_ejection.cpp — consecutive-failure ejection with doubling backoff.
#include "health/passive_ejection.hpp"

#include <algorithm>
#include <limits>

namespace health {

PassiveEjection::PassiveEjection(std::size_t hop_count, Duration base, Duration max,
                                 std::uint32_t threshold)
    : hops_(hop_count),
      base_(std::max(base, Duration::zero())),
      max_(std::max(max, Duration::zero())),
      threshold_(std::max<std::uint32_t>(threshold, 1)) {}

bool PassiveEjection::record_failure(std::size_t hop, TimePoint now) noexcept {
  if (hop >= hops_.size()) return false;
  HopState& state = hops_[hop];
  // In-flight deliveries that fail after the hop was ejected must not lengthen the
  // streak: one outage would otherwise jump straight to the maximum backoff.
  if (state.until && now < *state.until) return false;
  if (++state.failures < threshold_) return false;
  state.failures = 0;
  if (state.streak < std::numeric_limits<std::uint32_t>::max()) ++state.streak;
  state.until = now + backoff(state.streak);
  return true;
}

bool PassiveEjection::record_success(std::size_t hop) noexcept {
  if (hop >= hops_.size()) return false;
  const bool was_ejected = hops_[hop].until.has_value();
  hops_[hop] = HopState{};
  return was_ejected;
}

bool PassiveEjection::ejected(std::size_t hop, TimePoint now) const noexcept {
  return hop < hops_.size() && hops_[hop].until && now < *hops_[hop].until;
}

std::optional<PassiveEjection::TimePoint> PassiveEjection::ejected_until(
    std::size_t hop) const noexcept {
  return hop < hops_.size() ? hops_[hop].until : std::nullopt;
}

std::uint32_t PassiveEjection::consecutive_failures(std::size_t hop) const noexcept {
  return hop < hops_.size() ? hops_[hop].failures : 0;
}

std::uint32_t PassiveEjection::ejection_streak(std::size_t hop) const noexcept {
  return hop < hops_.size() ? hops_[hop].streak : 0;
}

PassiveEjection::Duration PassiveEjection::backoff(std::uint32_t streak) const noexcept {
  // Doubling stops at the cap (or at once for a zero base), so the loop runs at most
  // log2(max/base) times and the arithmetic cannot overflow.
  Duration delay = std::min(base_, max_);
  for (std::uint32_t i = 1; i < streak && delay > Duration::zero() && delay < max_; ++i) {
    delay = delay > max_ / 2 ? max_ : delay * 2;
  }
  return delay;
}

}  // namespace health
