// policy/auth_throttle.cpp — see auth_throttle.hpp for the rules.
#include "policy/auth_throttle.hpp"

#include <algorithm>

namespace policy {

AuthThrottle::Verdict AuthThrottle::check(const std::string& address, Clock::time_point now) {
  const auto it = entries_.find(address);
  if (it == entries_.end()) return {};
  Entry& e = it->second;
  const bool locked = e.failures >= settings_.lock_after;
  // Old failures are forgotten: after the lockout for a locked address, after the
  // window otherwise.
  if (now - e.last >= (locked ? settings_.lockout : settings_.window)) {
    entries_.erase(it);
    return {};
  }
  if (locked) return Verdict{.refused = true, .delay = {}};
  if (e.failures < settings_.slow_after) return {};
  const auto extra = static_cast<Clock::rep>(e.failures - settings_.slow_after + 1);
  const Clock::duration delay = std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)) * extra;
  return Verdict{.refused = false, .delay = std::min(delay, settings_.max_delay)};
}

void AuthThrottle::failure(const std::string& address, Clock::time_point now) {
  auto it = entries_.find(address);
  if (it == entries_.end()) {
    if (entries_.size() >= settings_.max_entries) evict_one();
    it = entries_.emplace(address, Entry{}).first;
  }
  ++it->second.failures;
  it->second.last = now;
}

void AuthThrottle::success(const std::string& address) { entries_.erase(address); }

// Linear, but only when the table is full (10 000 addresses), i.e. under attack from
// many sources, where forgetting the stalest is the right call.
void AuthThrottle::evict_one() {
  const auto stalest = std::ranges::min_element(entries_, {}, [](const auto& kv) { return kv.second.last; });
  if (stalest != entries_.end()) entries_.erase(stalest);
}

}  // namespace policy
