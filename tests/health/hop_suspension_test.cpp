// tests/health/hop_suspension_test.cpp — suspensions asked for by upstream replies, and
// how routing's HopHealth and the state files see them.
#include "health/hop_suspension.hpp"

#include <gtest/gtest.h>

#include "health/hop_health.hpp"
#include "health/report.hpp"

namespace health {
namespace {

using namespace std::chrono_literals;
using TimePoint = HopSuspension::TimePoint;

TEST(HopSuspension, SuspendsUntilTheEndAndExtendsOnlyLater) {
  HopSuspension s(2);
  const TimePoint t0{std::chrono::hours(1)};
  EXPECT_FALSE(s.suspended(0, t0));
  EXPECT_TRUE(s.suspend(0, t0, t0 + 5s, "451 4.7.0 rate"));
  EXPECT_TRUE(s.suspended(0, t0 + 4s));
  EXPECT_FALSE(s.suspended(1, t0 + 4s));
  EXPECT_FALSE(s.suspend(0, t0 + 1s, t0 + 3s, "shorter"));  // already suspended, ends sooner: kept
  EXPECT_EQ(s.until(0), t0 + 5s);
  EXPECT_EQ(s.reason(0), "451 4.7.0 rate");
  EXPECT_FALSE(s.suspend(0, t0 + 2s, t0 + 9s, "longer"));
  EXPECT_EQ(s.until(0), t0 + 9s);
  EXPECT_FALSE(s.suspended(0, t0 + 9s));
  EXPECT_FALSE(s.suspend(7, t0, t0 + 1s, "out of range"));
}

TEST(HopSuspension, RoutingSeesItWithoutAnEjection) {
  HopSuspension s(2);
  PassiveEjection ejection(2, 30s, 300s);
  const TimePoint t0{std::chrono::hours(1)};
  s.suspend(1, t0, t0 + 2s, "421 4.7.0 Too many connections");
  EXPECT_TRUE(HopHealth(ejection, t0, nullptr, &s).usable(0));
  EXPECT_FALSE(HopHealth(ejection, t0, nullptr, &s).usable(1));
  EXPECT_TRUE(HopHealth(ejection, t0 + 2s, nullptr, &s).usable(1));
  EXPECT_FALSE(ejection.ejected(1, t0));
}

TEST(HopSuspension, StateFilesShowSuspendedUntilWithTheReply) {
  HealthSnapshot snapshot;
  snapshot.taken_at = 1'700'000'000'000;
  snapshot.hops.push_back({"isp", {}, true});
  EjectionReport report{"isp"};
  report.suspended_until = 1'700'000'005'000;
  report.suspended_by = "451 4.7.0 rate limit exceeded";
  const auto states = hop_states(snapshot, {report});
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].condition, HopCondition::suspended);
  EXPECT_EQ(states[0].last_error, "451 4.7.0 rate limit exceeded");
  EXPECT_EQ(describe(states[0]),
            "NOT usable: suspended until 2023-11-14T22:13:25Z; last error: 451 4.7.0 rate limit exceeded");
  const auto back = parse_state(render_json(snapshot, {report}));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->hops[0].condition, HopCondition::suspended);
  EXPECT_EQ(back->hops[0].suspended_until, 1'700'000'005'000);
}

}  // namespace
}  // namespace health
