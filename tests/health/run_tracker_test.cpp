// tests/health/run_tracker_test.cpp — the failover rules, hysteresis and run scheduling,
// driven by an injected clock (no sleeping).
#include "health/run_tracker.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace {

using health::RunTracker;
using health::State;
using std::chrono::minutes;
using std::chrono::seconds;

const RunTracker::TimePoint t0{seconds{100000}};

conf::HealthRules two_site_failover() {
  conf::HealthRules r;
  r.interval = minutes{2};  // "Hour 0:00 run 1, hour 0:02 run 2"
  r.fail_threshold = 2;     // 3 checks, down when 2 or more fail
  r.down_runs = 2;
  r.down_failed = 2;
  r.up_runs = 2;
  r.up_succeeded = 2;
  r.initial_up = true;
  return r;
}

// The failover worked example (docs/health.md), verbatim: 3 checks; a run fails when 2 or more fail; 2 runs,
// 2 failed -> DOWN after the second run and not before.
TEST(RunTracker, TwoSiteFailoverWorkedExample) {
  RunTracker t(two_site_failover(), t0);
  ASSERT_EQ(t.state(), State::up);
  EXPECT_FALSE(t.record(t0, 2, 3));  // 0:00 run 1 of 2 failed
  EXPECT_EQ(t.state(), State::up);
  const auto change = t.record(t0 + minutes{2}, 3, 3);  // 0:02 run 2 of 2 failed
  ASSERT_TRUE(change);
  EXPECT_EQ(change->from, State::up);
  EXPECT_EQ(change->to, State::down);
  EXPECT_EQ(change->at, t0 + minutes{2});
  EXPECT_EQ(t.state(), State::down);
  EXPECT_EQ(t.since(), t0 + minutes{2});
}

TEST(RunTracker, RunFailsOnlyAtTheThreshold) {
  RunTracker t(two_site_failover(), t0);
  struct Case {
    std::uint32_t failed;
    bool run_failed;
  };
  for (const Case c : std::vector<Case>{{0, false}, {1, false}, {2, true}, {3, true}})
    EXPECT_EQ(t.run_failed(c.failed), c.run_failed) << c.failed;
  // One failing check of three, run after run: never DOWN.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(t.record(t0 + minutes{2 * i}, 1, 3));
  EXPECT_EQ(t.state(), State::up);
}

TEST(RunTracker, TableOfRunSequences) {
  struct Case {
    const char* name;
    std::uint32_t down_runs, down_failed, up_runs, up_succeeded;
    bool initial_up;
    std::vector<bool> runs_failed;  // true = run failed
    std::vector<int> change_at;     // run indices that cause a transition
    State final_state;
  };
  const std::vector<Case> cases{
      {"2 of 2 down", 2, 2, 2, 2, true, {true, false, true, true}, {3}, State::down},
      {"2 of 3 down", 3, 2, 2, 2, true, {true, false, true}, {2}, State::down},
      {"flapping never reaches 2 of 2", 2, 2, 2, 2, true, {true, false, true, false, true, false}, {}, State::up},
      {"initial down, up after 2 good", 2, 2, 2, 2, false, {false, false}, {1}, State::up},
      {"initial down, 1 good is not enough", 2, 2, 2, 2, false, {false}, {}, State::down},
      {"hysteresis: down fast (1 of 1), up slow (3 of 3)", 1, 1, 3, 3, true,
       {true, false, false, true, false, false, false}, {0, 6}, State::up},
      {"fresh evidence after a change", 2, 1, 1, 1, true, {true, false, true, false}, {1, 3}, State::up},
  };
  for (const auto& c : cases) {
    conf::HealthRules r;
    r.fail_threshold = 1;
    r.down_runs = c.down_runs;
    r.down_failed = c.down_failed;
    r.up_runs = c.up_runs;
    r.up_succeeded = c.up_succeeded;
    r.initial_up = c.initial_up;
    RunTracker t(r, t0);
    std::vector<int> changes;
    for (std::size_t i = 0; i < c.runs_failed.size(); ++i)
      if (t.record(t0 + seconds{static_cast<int>(i)}, c.runs_failed[i] ? 1 : 0, 1)) changes.push_back(static_cast<int>(i));
    EXPECT_EQ(changes, c.change_at) << c.name;
    EXPECT_EQ(t.state(), c.final_state) << c.name;
  }
}

TEST(RunTracker, FastIntervalWhileChangingAndJitter) {
  auto r = two_site_failover();
  r.fast_interval = seconds{10};
  r.jitter = seconds{4};
  RunTracker t(r, t0);
  EXPECT_EQ(t.next_delay(0.0), minutes{2});
  EXPECT_EQ(t.next_delay(0.5), minutes{2} + seconds{2});
  t.record(t0, 3, 3);  // one failed run while UP: a change may be under way
  EXPECT_TRUE(t.changing());
  EXPECT_EQ(t.next_delay(0.0), seconds{10});
  t.record(t0 + seconds{10}, 3, 3);  // now DOWN, history cleared: steady again
  EXPECT_EQ(t.state(), State::down);
  EXPECT_FALSE(t.changing());
  EXPECT_EQ(t.next_delay(0.0), minutes{2});
  t.record(t0 + minutes{3}, 3, 3);  // still failing while DOWN: agrees with the state
  EXPECT_FALSE(t.changing());
}

TEST(RunTracker, ForcedStateForMaintenance) {
  RunTracker t(two_site_failover(), t0);
  EXPECT_FALSE(t.force(State::up, t0));  // already up
  const auto change = t.force(State::down, t0 + seconds{1});
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, State::down);
  EXPECT_TRUE(t.history().empty());
}

}  // namespace
