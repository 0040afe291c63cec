// Tests for queue/retry_schedule.cpp: delay table, jitter bounds, lifetime.
#include "queue/retry_schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace queue {
namespace {

using namespace std::chrono_literals;

conf::QueueConfig config_with(std::vector<conf::Seconds> schedule, std::chrono::hours lifetime = 48h) {
  conf::QueueConfig config;
  config.retry_schedule = std::move(schedule);
  config.lifetime = lifetime;
  return config;
}

TEST(RetrySchedule, DelayByAttemptWithLastEntryRepeating) {
  const RetrySchedule schedule(config_with({60s, 300s, 600s}));
  struct Case {
    std::uint32_t attempts_so_far;
    std::int64_t want_delay_ms;
  };
  const Case cases[] = {
      {0, 60'000},  // released unattempted: like after the first try
      {1, 60'000}, {2, 300'000}, {3, 600'000}, {4, 600'000}, {1000, 600'000},
  };
  constexpr UnixMillis now = 1'700'000'000'000;
  for (const Case& c : cases) {
    EXPECT_EQ(schedule.base_delay_ms(c.attempts_so_far), c.want_delay_ms) << "attempts " << c.attempts_so_far;
    // jitter_unit 0.5 is the middle of the ±10% band: exactly the table value.
    EXPECT_EQ(schedule.next_attempt(now, c.attempts_so_far, 0.5), now + c.want_delay_ms)
        << "attempts " << c.attempts_so_far;
  }
}

TEST(RetrySchedule, DefaultScheduleMatchesConfigDefaults) {
  const RetrySchedule schedule{conf::QueueConfig{}};
  const std::int64_t want[] = {60'000, 300'000, 600'000, 900'000, 1'800'000, 3'600'000, 3'600'000};
  for (std::uint32_t n = 1; n <= std::size(want); ++n) {
    EXPECT_EQ(schedule.base_delay_ms(n), want[n - 1]) << "attempt " << n;
  }
}

TEST(RetrySchedule, JitterStaysWithinTenPercent) {
  const RetrySchedule schedule(config_with({100s}));
  constexpr UnixMillis now = 5'000;
  struct Case {
    double jitter_unit;
    UnixMillis want;
  };
  const Case cases[] = {
      {0.0, now + 90'000},        // lower bound, inclusive
      {0.25, now + 95'000},
      {0.75, now + 105'000},
      {-3.0, now + 90'000},       // clamped
      {std::nan(""), now + 90'000},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(schedule.next_attempt(now, 1, c.jitter_unit), c.want) << "jitter " << c.jitter_unit;
  }
  // The upper bound is exclusive, also for out-of-range input.
  for (double u : {0.999999, 1.0, 7.0}) {
    const UnixMillis got = schedule.next_attempt(now, 1, u);
    EXPECT_LT(got, now + 110'000) << "jitter " << u;
    EXPECT_GE(got, now + 109'990) << "jitter " << u;
  }
  // Monotonic in the jitter unit across the band.
  UnixMillis previous = schedule.next_attempt(now, 1, 0.0);
  for (int i = 1; i < 100; ++i) {
    const UnixMillis got = schedule.next_attempt(now, 1, i / 100.0);
    EXPECT_GE(got, previous);
    previous = got;
  }
}

TEST(RetrySchedule, ParkedWaitGrowsWithTheMessageAgeBetweenFloorAndLastEntry) {
  const RetrySchedule schedule(config_with({60s, 300s, 3600s}));
  constexpr UnixMillis received = 1'700'000'000'000;
  struct Case {
    std::int64_t age_ms, floor_ms, want_delay_ms;
  };
  const Case cases[] = {
      {0, 30'000, 30'000},                  // young: the floor (hop_backoff)
      {10'000, 30'000, 30'000},
      {600'000, 30'000, 600'000},           // as long as it has waited so far
      {3'600'000, 30'000, 3'600'000},       // the last entry caps it
      {86'400'000, 30'000, 3'600'000},
      {86'400'000, 7'200'000, 7'200'000},   // a floor above the last entry wins
  };
  for (const Case& c : cases) {
    const UnixMillis now = received + c.age_ms;
    // jitter 0.5 lands on the base exactly (0.9 base + 0.1 base)
    EXPECT_EQ(schedule.parked_until(now, received, c.floor_ms, 0.5) - now, c.want_delay_ms)
        << "age " << c.age_ms << " floor " << c.floor_ms;
    const auto low = schedule.parked_until(now, received, c.floor_ms, 0.0) - now;
    const auto high = schedule.parked_until(now, received, c.floor_ms, 0.999999) - now;
    EXPECT_EQ(low, c.want_delay_ms - c.want_delay_ms / 10);
    EXPECT_LT(high, c.want_delay_ms + c.want_delay_ms / 10);
  }
}

TEST(RetrySchedule, EmptyScheduleFallsBackToAFixedDelay) {
  const RetrySchedule schedule(config_with({}));
  EXPECT_EQ(schedule.base_delay_ms(1), 300'000);
  EXPECT_EQ(schedule.base_delay_ms(9), 300'000);
}

TEST(RetrySchedule, ExpiresAtLifetime) {
  const RetrySchedule schedule(config_with({60s}, 2h));
  constexpr UnixMillis received = 1'000'000;
  constexpr UnixMillis lifetime = 2 * 3600 * 1000;
  struct Case {
    UnixMillis now;
    bool want;
  };
  const Case cases[] = {
      {received, false},
      {received + lifetime - 1, false},
      {received + lifetime, true},
      {received + lifetime + 1, true},
      {received - 10, false},  // clock stepped back
  };
  for (const Case& c : cases) {
    EXPECT_EQ(schedule.expired(received, c.now), c.want) << "now " << c.now;
  }
}

}  // namespace
}  // namespace queue

// --- delay notice --------------------------------------------------------------------------

TEST(RetryScheduleDelayNotice, DueOnceTheWaitReachesTheThreshold) {
  conf::QueueConfig config;
  const queue::RetrySchedule schedule(config);
  constexpr queue::UnixMillis received = 1'000'000;
  constexpr queue::UnixMillis hour = 3'600'000;
  const std::chrono::seconds four_hours{4 * 3600};
  EXPECT_FALSE(schedule.delay_notice_due(received, received + 4 * hour - 1, four_hours));
  EXPECT_TRUE(schedule.delay_notice_due(received, received + 4 * hour, four_hours));
  EXPECT_TRUE(schedule.delay_notice_due(received, received + 30 * hour, four_hours));
  EXPECT_FALSE(schedule.delay_notice_due(received, received + 30 * hour, std::chrono::seconds{0}));  // off
}

TEST(RetryScheduleDelayNotice, ExpiryIsExactlyTheLifetime) {
  conf::QueueConfig config;  // 48 h
  const queue::RetrySchedule schedule(config);
  constexpr queue::UnixMillis hour = 3'600'000;
  EXPECT_FALSE(schedule.expired(0, 48 * hour - 1));
  EXPECT_TRUE(schedule.expired(0, 48 * hour));
}
