// health/hop_suspension.hpp — hops suspended because their reply text or an administrator asked.
//
// Owns: per hop, "suspended until T because of reply R" after an upstream reply matched
// one of the hop's `suspend_on` rules (conf HopConfig::suspend_on), and the question
// "is it suspended at now?". A suspension is not a health failure: the hop is not
// ejected and its failure counts do not change; it only takes no work until T (its
// work goes to other hops of its tier or waits, as for an ejected hop). A later match
// while suspended extends it when it ends later.
// Pure: time is passed in. One owner (the delivery engine's thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace health {

class HopSuspension {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  explicit HopSuspension(std::size_t hop_count) : hops_(hop_count) {}

  /// Suspends `hop` until `until` because of `reason` (the reply that matched).
  /// @return true when the hop was not suspended at `now` (a state change worth logging).
  bool suspend(std::size_t hop, TimePoint now, TimePoint until, std::string reason);
  /// An administrator's suspension (or its extension or shortening): until exactly `until`.
  void set(std::size_t hop, TimePoint until, std::string reason);
  /// Ends a suspension now; false when `hop` was not suspended at `now`.
  bool resume(std::size_t hop, TimePoint now);
  bool suspended(std::size_t hop, TimePoint now) const noexcept;
  /// End of the latest suspension (possibly past); nullopt-like: epoch when never suspended.
  TimePoint until(std::size_t hop) const noexcept { return hop < hops_.size() ? hops_[hop].until : TimePoint{}; }
  const std::string& reason(std::size_t hop) const noexcept;

 private:
  struct Entry {
    TimePoint until{};
    std::string reason;
  };
  std::vector<Entry> hops_;
};

}  // namespace health
