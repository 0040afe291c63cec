// health/view.hpp — the read-only health answer routing consults.
//
// Owns: the question "may this hop be used now?". Routing depends on this interface
// only, never on probes or trackers. Implementations are immutable snapshots or
// single-threaded owners; see health/hop_health.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace health {

class View {
 public:
  virtual ~View() = default;
  /// `hop` is the index of the hop in conf::Config::hops.
  virtual bool usable(std::size_t hop) const noexcept = 0;
};

/// Every hop usable: for `route explain` without a daemon and for tests.
class AllUsable final : public View {
 public:
  bool usable(std::size_t) const noexcept override { return true; }
};

/// Why a hop may or may not be used, in the words `hubrelay health`, `route explain`, the
/// status page and /metrics share. Order is precedence when several hold: an ejected hop
/// whose path is also DOWN is reported "path down" (the path, not the hop, is the thing
/// to fix first). `suspended`: the only DOWN paths are inside a maintenance window (held
/// or forced DOWN): planned, so it ranks after the faults and before an ejection.
enum class HopCondition { usable, path_down, check_down, suspended, ejected };

/// Every condition, in precedence order: the states metrics export one-hot.
inline constexpr std::array hop_conditions{HopCondition::usable, HopCondition::path_down, HopCondition::check_down,
                                           HopCondition::suspended, HopCondition::ejected};

constexpr std::string_view to_string(HopCondition c) noexcept {
  switch (c) {
    case HopCondition::usable: return "usable";
    case HopCondition::path_down: return "path down";
    case HopCondition::check_down: return "check down";
    case HopCondition::suspended: return "suspended";
    case HopCondition::ejected: return "ejected";
  }
  return "usable";
}

}  // namespace health
