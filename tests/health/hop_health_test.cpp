// tests/health/hop_health_test.cpp — the combined View over passive ejection (and an
// optional probe view) at one instant.
#include "health/hop_health.hpp"

#include <gtest/gtest.h>

#include "tests/support/down_hops.hpp"

#include <chrono>
#include <set>

namespace {

using health::HopHealth;
using health::PassiveEjection;
using std::chrono::seconds;

const PassiveEjection::TimePoint t0{seconds{5000}};

using test_support::DownHops;

TEST(HopHealth, UsableUnlessEjectedAtThatInstant) {
  PassiveEjection ejection(3, seconds{30}, seconds{300});
  ejection.record_failure(1, t0);
  struct Case {
    seconds at;
    std::size_t hop;
    bool want;
  };
  const Case cases[] = {
      {seconds{0}, 0, true},   {seconds{0}, 1, false},  {seconds{0}, 2, true},
      {seconds{29}, 1, false}, {seconds{30}, 1, true},  {seconds{0}, 9, true},
  };
  for (const auto& c : cases) {
    const HopHealth view(ejection, t0 + c.at);
    EXPECT_EQ(view.usable(c.hop), c.want) << "hop " << c.hop << " at +" << c.at.count();
  }
}

TEST(HopHealth, ProbeViewMustAlsoAgree) {
  PassiveEjection ejection(3, seconds{30}, seconds{300});
  ejection.record_failure(0, t0);
  const DownHops probes({2});
  const HopHealth view(ejection, t0, &probes);
  const health::View& as_view = view;
  EXPECT_FALSE(as_view.usable(0));  // ejected
  EXPECT_TRUE(as_view.usable(1));
  EXPECT_FALSE(as_view.usable(2));  // path down
}

TEST(HopHealth, ReflectsLaterChangesToTheEjectionState) {
  PassiveEjection ejection(1, seconds{30}, seconds{300});
  const HopHealth view(ejection, t0);
  EXPECT_TRUE(view.usable(0));
  ejection.record_failure(0, t0);
  EXPECT_FALSE(view.usable(0));
  ejection.record_success(0);
  EXPECT_TRUE(view.usable(0));
}

}  // namespace
