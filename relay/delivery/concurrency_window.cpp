// relay/delivery/concurrency_window.cpp — the concurrency feedback of one hop.
#include "relay/delivery/concurrency_window.hpp"

#include <algorithm>
#include <cmath>

namespace relay {

ConcurrencyWindow::ConcurrencyWindow(std::uint32_t max, std::uint32_t initial, Duration hold) noexcept
    : max_(std::max<std::uint32_t>(max, 1)),
      hold_(hold),
      window_(static_cast<double>(std::clamp<std::uint32_t>(initial, 1, max_))) {}

bool ConcurrencyWindow::throttle(TimePoint now, std::uint32_t sessions) noexcept {
  const std::uint32_t before = limit();
  const double lowered = std::min(std::floor(window_) - 1.0, static_cast<double>(sessions));
  window_ = std::max(1.0, lowered);
  throttled_ = true;
  last_throttle_ = now;
  return limit() < before;
}

bool ConcurrencyWindow::success(TimePoint now, std::uint32_t sessions) noexcept {
  if (throttled_ && now - last_throttle_ < hold_) return false;
  const std::uint32_t before = limit();
  if (before >= max_ || sessions < before) return false;
  window_ = std::min(static_cast<double>(max_), window_ + 1.0 / std::floor(window_));
  return limit() > before;
}

}  // namespace relay
