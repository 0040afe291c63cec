// tests/relay/delivery/unwritten_outcomes_test.cpp — outcomes the queue could not write:
// the retry backoff, which recipients are held (so they are not delivered again), and
// one outage per stretch of held writes (logged once, not once per retry).
#include "relay/delivery/unwritten_outcomes.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using std::chrono::milliseconds;

queue::RecipientOutcome delivered(queue::MessageId id, std::int32_t index) {
  return {id, index, queue::RecipientState::delivered, 0, true, "250 2.0.0 OK", "hub"};
}

TEST(UnwrittenOutcomes, RetryWaitsOneSecondDoublingToThirty) {
  const std::vector<std::pair<std::uint32_t, milliseconds>> cases{
      {1, milliseconds(1000)}, {2, milliseconds(2000)},   {3, milliseconds(4000)},    {4, milliseconds(8000)},
      {5, milliseconds(16000)}, {6, milliseconds(30000)}, {7, milliseconds(30000)}, {1000, milliseconds(30000)}};
  for (const auto& [failures, delay] : cases) EXPECT_EQ(relay::unwritten_retry_delay(failures), delay) << failures;
}

TEST(UnwrittenOutcomes, HoldsTheRecipientsOfAFailedWriteUntilItIsWritten) {
  relay::UnwrittenOutcomes held;
  const std::vector<queue::RecipientOutcome> first{delivered(7, 0), delivered(7, 2)};
  EXPECT_TRUE(held.empty());
  held.hold(first);
  EXPECT_TRUE(held.holds(7, 0));
  EXPECT_TRUE(held.holds(7, 2));
  EXPECT_FALSE(held.holds(7, 1));
  EXPECT_FALSE(held.holds(8, 0));
  EXPECT_EQ(held.queue_ids(), std::vector<std::string>{queue::format_queue_id(7)});
  held.release(first, true);
  EXPECT_FALSE(held.holds(7, 0));
  EXPECT_TRUE(held.empty());
}

TEST(UnwrittenOutcomes, AnOutageStartsWithTheFirstHeldWriteAndEndsWithTheLastOnce) {
  relay::UnwrittenOutcomes held;
  const std::vector<queue::RecipientOutcome> a{delivered(1, 0)};
  const std::vector<queue::RecipientOutcome> b{delivered(2, 0)};
  EXPECT_TRUE(held.hold(a));   // logged: the outage begins
  EXPECT_FALSE(held.hold(b));  // same outage: not logged again
  held.failed_again();
  held.failed_again();
  EXPECT_FALSE(held.release(a, true).has_value());  // b still held: not over yet
  const auto over = held.release(b, true);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->writes, 2u);
  EXPECT_EQ(over->failures, 4u);
  EXPECT_EQ(held.failures_total(), 4u);

  // The next outage counts afresh; the metric keeps counting.
  EXPECT_TRUE(held.hold(a));
  const auto next = held.release(a, true);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->writes, 1u);
  EXPECT_EQ(next->failures, 1u);
  EXPECT_EQ(held.failures_total(), 5u);
}

TEST(UnwrittenOutcomes, AWriteGivenUpAtShutdownEndsNoOutage) {
  relay::UnwrittenOutcomes held;
  const std::vector<queue::RecipientOutcome> a{delivered(3, 1)};
  held.hold(a);
  EXPECT_FALSE(held.release(a, false).has_value());
  EXPECT_TRUE(held.empty());
  EXPECT_FALSE(held.holds(3, 1));
}

}  // namespace
