// tests/relay/delivery/rate_bucket_test.cpp — a hop's message or connection rate, time fed in.
#include "relay/delivery/rate_bucket.hpp"

#include <gtest/gtest.h>

namespace relay {
namespace {

using namespace std::chrono_literals;
using TimePoint = RateBucket::TimePoint;

TEST(RateBucket, DisabledAlwaysGives) {
  RateBucket off;
  EXPECT_FALSE(off.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(off.take(TimePoint{}), RateBucket::Duration::zero());
}

TEST(RateBucket, BurstIsOneSecondsWorth) {
  struct Case {
    std::uint32_t count;
    RateBucket::Duration period;
    double capacity;
  };
  for (const Case c : {Case{600, 60s, 10}, Case{30, 60s, 1}, Case{10, 1s, 10}, Case{1000, 3600s, 1}, Case{5, 2s, 2}})
    EXPECT_EQ(RateBucket(c.count, c.period).capacity(), c.capacity) << c.count;
}

TEST(RateBucket, HoldsBackAndRefillsAtTheRate) {
  RateBucket bucket(600, 60s);  // 10/s, burst 10
  const TimePoint t0{std::chrono::hours(1)};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(bucket.take(t0), RateBucket::Duration::zero()) << i;
  const auto wait = bucket.take(t0);
  EXPECT_GT(wait, 99ms);
  EXPECT_LE(wait, 100ms);
  EXPECT_EQ(bucket.take(t0 + wait), RateBucket::Duration::zero());
  // Over any long window the count taken stays at the rate plus one burst.
  int taken = 0;
  for (int ms = 0; ms < 60'000; ms += 7)
    if (bucket.take(t0 + 1s + std::chrono::milliseconds(ms)) == RateBucket::Duration::zero()) ++taken;
  EXPECT_LE(taken, 600 + 10);
  EXPECT_GE(taken, 590);
}

TEST(RateBucket, SlowRateWaitsWholeIntervals) {
  RateBucket bucket(30, 60s);  // one every 2 s
  const TimePoint t0{std::chrono::hours(1)};
  EXPECT_EQ(bucket.take(t0), RateBucket::Duration::zero());
  EXPECT_EQ(std::chrono::round<std::chrono::milliseconds>(bucket.take(t0)), 2000ms);
  EXPECT_EQ(std::chrono::round<std::chrono::milliseconds>(bucket.take(t0 + 500ms)), 1500ms);
  EXPECT_EQ(bucket.take(t0 + 2s), RateBucket::Duration::zero());
}

}  // namespace
}  // namespace relay
