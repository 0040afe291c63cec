// health/hop_health.cpp — one instant's combined hop health.
#include "health/hop_health.hpp"

namespace health {

bool HopHealth::usable(std::size_t hop) const noexcept {
  if (ejection_.ejected(hop, now_)) return false;
  if (suspension_ != nullptr && suspension_->suspended(hop, now_)) return false;
  return probes_ == nullptr || probes_->usable(hop);
}

}  // namespace health
