// tests/relay/delivery/concurrency_window_test.cpp — the concurrency feedback, fed outcomes and time.
#include "relay/delivery/concurrency_window.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace relay {
namespace {

using namespace std::chrono_literals;
using TimePoint = ConcurrencyWindow::TimePoint;

/// One step of a table: an outcome at a time offset, and the window expected after it.
struct Step {
  char what;               // 's': success, 't': throttle
  int at_seconds;
  std::uint32_t sessions;  // sessions open (success: this one included; throttle: the others)
  std::uint32_t want;
};

struct Case {
  const char* name;
  std::uint32_t max;
  std::uint32_t initial;
  std::uint32_t start;
  std::vector<Step> steps;
};

TEST(ConcurrencyWindow, Table) {
  const std::vector<Case> cases{
      {"starts at initial, clamped to max", 3, 5, 3, {}},
      {"never starts below one", 10, 0, 1, {}},
      {"a throttle takes one step off", 20, 5, 5, {{'t', 0, 10, 4}}},
      {"a throttle drops to the sessions the hop was serving", 20, 8, 8, {{'t', 0, 3, 3}}},
      {"never below one while the hop is usable", 20, 2, 2, {{'t', 0, 0, 1}, {'t', 1, 0, 1}, {'t', 2, 5, 1}}},
      {"positive feedback: one step per window's worth of successes",
       20, 2, 2, {{'s', 0, 2, 2}, {'s', 0, 2, 3}, {'s', 0, 3, 3}, {'s', 0, 3, 3}, {'s', 0, 3, 4}}},
      {"an idle window does not grow", 20, 4, 4, {{'s', 0, 1, 4}, {'s', 0, 2, 4}, {'s', 0, 3, 4}, {'s', 0, 3, 4}}},
      {"never above max", 2, 2, 2, {{'s', 0, 2, 2}, {'s', 0, 2, 2}, {'s', 0, 2, 2}}},
      {"no growth within the hold after a throttle, then it grows back",
       20, 4, 4, {{'t', 0, 3, 3}, {'s', 1, 3, 3}, {'s', 2, 3, 3}, {'s', 9, 3, 3},
                  {'s', 10, 3, 3}, {'s', 10, 3, 3}, {'s', 11, 3, 4}}},
  };
  for (const auto& c : cases) {
    ConcurrencyWindow window(c.max, c.initial, 10s);
    EXPECT_EQ(window.limit(), c.start) << c.name;
    const TimePoint t0{std::chrono::hours(1)};
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
      const Step& s = c.steps[i];
      const TimePoint now = t0 + std::chrono::seconds(s.at_seconds);
      if (s.what == 't') window.throttle(now, s.sessions);
      else window.success(now, s.sessions);
      EXPECT_EQ(window.limit(), s.want) << c.name << ", step " << i;
    }
  }
}

TEST(ConcurrencyWindow, ReportsChanges) {
  ConcurrencyWindow window(4, 1, 0s);
  const TimePoint now{std::chrono::hours(1)};
  EXPECT_TRUE(window.success(now, 1));   // 1 → 2
  EXPECT_FALSE(window.success(now, 2));  // 2.5
  EXPECT_TRUE(window.success(now, 2));   // 3
  EXPECT_TRUE(window.throttle(now, 5));  // 2
  window.throttle(now, 0);
  EXPECT_FALSE(window.throttle(now, 0));  // stays 1
  EXPECT_EQ(window.max(), 4u);
}

}  // namespace
}  // namespace relay
