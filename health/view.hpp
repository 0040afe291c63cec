// health/view.hpp — the read-only health answer routing consults.
//
// Owns: the question "may this hop be used now?". Routing depends on this interface
// only, never on probes or trackers. Implementations are immutable snapshots or
// single-threaded owners; see health/hop_health.hpp.
#pragma once

#include <cstddef>

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

}  // namespace health
