// health/hop_suspension.cpp — suspensions asked for by upstream replies.
#include "health/hop_suspension.hpp"

namespace health {

bool HopSuspension::suspend(std::size_t hop, TimePoint now, TimePoint until, std::string reason) {
  if (hop >= hops_.size()) return false;
  const bool was = suspended(hop, now);
  Entry& entry = hops_[hop];
  if (!was || until > entry.until) {
    entry.until = until;
    entry.reason = std::move(reason);
  }
  return !was;
}

void HopSuspension::set(std::size_t hop, TimePoint until, std::string reason) {
  if (hop >= hops_.size()) return;
  hops_[hop] = Entry{until, std::move(reason)};
}

bool HopSuspension::resume(std::size_t hop, TimePoint now) {
  if (!suspended(hop, now)) return false;
  hops_[hop].until = now;
  return true;
}

bool HopSuspension::suspended(std::size_t hop, TimePoint now) const noexcept {
  return hop < hops_.size() && hops_[hop].until != TimePoint{} && now < hops_[hop].until;
}

const std::string& HopSuspension::reason(std::size_t hop) const noexcept {
  static const std::string none;
  return hop < hops_.size() ? hops_[hop].reason : none;
}

}  // namespace health
