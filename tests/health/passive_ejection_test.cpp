// tests/health/passive_ejection_test.cpp — consecutive-failure ejection, doubling
// backoff with a cap, and recovery, driven by an injected time.
#include "health/passive_ejection.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace {

using health::PassiveEjection;
using std::chrono::seconds;

const PassiveEjection::TimePoint t0{seconds{1'000'000}};

TEST(PassiveEjection, FreshHopsAreNotEjected) {
  const PassiveEjection ejection(3, seconds{30}, seconds{300});
  EXPECT_EQ(ejection.hop_count(), 3u);
  for (std::size_t hop = 0; hop < 3; ++hop) {
    EXPECT_FALSE(ejection.ejected(hop, t0));
    EXPECT_FALSE(ejection.ejected_until(hop).has_value());
    EXPECT_EQ(ejection.consecutive_failures(hop), 0u);
    EXPECT_EQ(ejection.ejection_streak(hop), 0u);
  }
}

// Each step: a failure at `at` seconds after t0 (or a success), then checks.
TEST(PassiveEjection, BackoffDoublesPerStreakCappedAndSuccessClears) {
  PassiveEjection ejection(2, seconds{30}, seconds{200});
  enum class Event { failure, success };
  struct Step {
    Event event;
    int at;                // seconds after t0
    bool want_transition;  // return value
    int want_until;        // seconds after t0; -1: no ejection recorded
  };
  const Step steps[] = {
      {Event::failure, 0, true, 30},      // streak 1: 30 s
      {Event::failure, 10, false, 30},    // in flight while ejected: ignored
      {Event::failure, 29, false, 30},
      {Event::failure, 30, true, 90},     // streak 2: 60 s (30 s has passed: usable again)
      {Event::failure, 90, true, 210},    // streak 3: 120 s
      {Event::failure, 210, true, 410},   // streak 4: 240 s capped at 200 s
      {Event::failure, 410, true, 610},   // stays capped
      {Event::success, 700, true, -1},    // clears everything
      {Event::failure, 800, true, 830},   // back to 30 s
  };
  for (const auto& s : steps) {
    const auto now = t0 + seconds{s.at};
    const bool got = s.event == Event::failure ? ejection.record_failure(0, now)
                                               : ejection.record_success(0);
    EXPECT_EQ(got, s.want_transition) << "step at " << s.at;
    const auto until = ejection.ejected_until(0);
    if (s.want_until < 0) {
      EXPECT_FALSE(until.has_value()) << "step at " << s.at;
    } else {
      ASSERT_TRUE(until.has_value()) << "step at " << s.at;
      EXPECT_EQ(*until, t0 + seconds{s.want_until}) << "step at " << s.at;
    }
  }
  EXPECT_FALSE(ejection.ejected(1, t0 + seconds{800})) << "other hops are independent";
}

TEST(PassiveEjection, EjectedBeforeUntilUsableFromUntil) {
  PassiveEjection ejection(1, seconds{30}, seconds{300});
  ASSERT_TRUE(ejection.record_failure(0, t0));
  struct Case {
    seconds at;
    bool want;
  };
  const Case cases[] = {
      {seconds{0}, true}, {seconds{1}, true}, {seconds{29}, true},
      {seconds{30}, false}, {seconds{31}, false}, {seconds{3600}, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ejection.ejected(0, t0 + c.at), c.want) << c.at.count();
  }
  // After expiry the end time is still reported until a success clears it.
  EXPECT_EQ(ejection.ejected_until(0), t0 + seconds{30});
}

TEST(PassiveEjection, ThresholdCountsConsecutiveFailures) {
  PassiveEjection ejection(1, seconds{10}, seconds{100}, 3);
  EXPECT_FALSE(ejection.record_failure(0, t0));
  EXPECT_FALSE(ejection.record_failure(0, t0));
  EXPECT_EQ(ejection.consecutive_failures(0), 2u);
  EXPECT_FALSE(ejection.ejected(0, t0));
  ejection.record_success(0);  // breaks the run
  EXPECT_EQ(ejection.consecutive_failures(0), 0u);
  EXPECT_FALSE(ejection.record_failure(0, t0));
  EXPECT_FALSE(ejection.record_failure(0, t0));
  EXPECT_TRUE(ejection.record_failure(0, t0));
  EXPECT_TRUE(ejection.ejected(0, t0 + seconds{9}));
  EXPECT_FALSE(ejection.ejected(0, t0 + seconds{10}));
  EXPECT_EQ(ejection.consecutive_failures(0), 0u);
  EXPECT_EQ(ejection.ejection_streak(0), 1u);
  // The next ejection needs another full run of failures, and doubles.
  const auto later = t0 + seconds{10};
  EXPECT_FALSE(ejection.record_failure(0, later));
  EXPECT_FALSE(ejection.record_failure(0, later));
  EXPECT_TRUE(ejection.record_failure(0, later));
  EXPECT_EQ(ejection.ejected_until(0), later + seconds{20});
}

TEST(PassiveEjection, ZeroThresholdActsAsOne) {
  PassiveEjection ejection(1, seconds{5}, seconds{50}, 0);
  EXPECT_TRUE(ejection.record_failure(0, t0));
  EXPECT_TRUE(ejection.ejected(0, t0));
}

TEST(PassiveEjection, LongStreakStaysAtCapWithoutOverflow) {
  PassiveEjection ejection(1, seconds{1}, std::chrono::hours{1});
  auto now = t0;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(ejection.record_failure(0, now)) << i;
    now = *ejection.ejected_until(0);
  }
  EXPECT_EQ(ejection.ejection_streak(0), 200u);
  ejection.record_failure(0, now);
  EXPECT_EQ(*ejection.ejected_until(0) - now, std::chrono::hours{1});
}

TEST(PassiveEjection, MaxBelowBaseCapsFirstEjection) {
  PassiveEjection ejection(1, seconds{60}, seconds{10});
  ASSERT_TRUE(ejection.record_failure(0, t0));
  EXPECT_EQ(ejection.ejected_until(0), t0 + seconds{10});
}

TEST(PassiveEjection, OutOfRangeHopIsIgnored) {
  PassiveEjection ejection(1, seconds{5}, seconds{50});
  EXPECT_FALSE(ejection.record_failure(7, t0));
  EXPECT_FALSE(ejection.ejected(7, t0));
  EXPECT_FALSE(ejection.record_success(7));
  EXPECT_FALSE(ejection.ejected_until(7).has_value());
}

}  // namespace
