// health/hop_health.hpp — the health::View routing reads during one delivery decision.
//
// Owns: combining the sources of hop health into one answer for one instant. Today that
// is passive ejection (health/passive_ejection.hpp) and reply-asked suspension
// (health/hop_suspension.hpp) at a caller-supplied "now"; probe-
// driven path states plug in as `probes`, a second View that must also say yes.
// A HopHealth is a cheap, short-lived object: build one per routing decision, with the
// time the caller read from its clock. It holds references: the PassiveEjection (and
// probe view) must outlive it and must not be modified while it is being queried.
// Pure: no I/O, no clock reads. Same threading as the PassiveEjection it reads.
#pragma once

#include <cstddef>

#include "health/hop_suspension.hpp"
#include "health/passive_ejection.hpp"
#include "health/view.hpp"

namespace health {

class HopHealth final : public View {
 public:
  /// `probes`: optional probe-driven view (nullptr: no probes, every hop's paths are up).
  /// `suspension`: optional reply-asked suspensions (health/hop_suspension.hpp).
  HopHealth(const PassiveEjection& ejection, PassiveEjection::TimePoint now,
            const View* probes = nullptr, const HopSuspension* suspension = nullptr) noexcept
      : ejection_(ejection), now_(now), probes_(probes), suspension_(suspension) {}

  /// Usable when not ejected nor suspended at `now` and, if probes are given, the probe
  /// view agrees.
  bool usable(std::size_t hop) const noexcept override;

 private:
  const PassiveEjection& ejection_;
  PassiveEjection::TimePoint now_;
  const View* probes_;
  const HopSuspension* suspension_;
};

}  // namespace health
