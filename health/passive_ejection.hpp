// health/passive_ejection.hpp — passive health: hops ejected after delivery failures.
//
// Owns: per-hop counts of consecutive hop-scope failures (connection refused, timeout,
// 421 — as judged by relay/client/judge) and the resulting ejections. When a hop's count
// reaches `threshold` it is ejected until now + backoff, backoff = base × 2^(streak-1)
// capped at `max`, where the streak counts ejections since the hop's last success (the
// OpenSMTPD/Envoy idea: a hop that keeps failing is retried less and less often).
// Failures reported while a hop is ejected are ignored: they are deliveries that were
// already in flight and say nothing new. A success clears everything for that hop.
// Pure: time is passed in, never read. Not thread-safe: one owner (the delivery engine's
// strand) records and queries. Out-of-range hop indices are ignored (never ejected).
// See also: health/hop_health.hpp (the health::View routing reads).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace health {

class PassiveEjection {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Duration = Clock::duration;

  /// `hop_count`: number of hops in conf::Config::hops. `base`: first ejection time;
  /// `max`: cap on any ejection time; `threshold`: consecutive failures that eject
  /// (0 is treated as 1).
  PassiveEjection(std::size_t hop_count, Duration base, Duration max,
                  std::uint32_t threshold = 1);

  /// Records one hop-scope failure at `now`.
  /// @return true when this failure ejected the hop (a state change worth logging).
  bool record_failure(std::size_t hop, TimePoint now) noexcept;
  /// Records a successful delivery (or hop-level success): clears the failure count,
  /// the ejection and the ejection streak.
  /// @return true when the hop had been ejected since its previous success.
  bool record_success(std::size_t hop) noexcept;

  /// True while `now` is before the end of the hop's current ejection.
  bool ejected(std::size_t hop, TimePoint now) const noexcept;
  /// End of the hop's latest ejection (possibly in the past); nullopt when the hop has
  /// not been ejected since its last success.
  std::optional<TimePoint> ejected_until(std::size_t hop) const noexcept;
  /// Consecutive failures counted toward the next ejection.
  std::uint32_t consecutive_failures(std::size_t hop) const noexcept;
  /// Ejections since the hop's last success.
  std::uint32_t ejection_streak(std::size_t hop) const noexcept;
  std::size_t hop_count() const noexcept { return hops_.size(); }

 private:
  struct HopState {
    std::uint32_t failures = 0;
    std::uint32_t streak = 0;
    std::optional<TimePoint> until;
  };

  Duration backoff(std::uint32_t streak) const noexcept;

  std::vector<HopState> hops_;
  Duration base_;
  Duration max_;
  std::uint32_t threshold_;
};

}  // namespace health
