// Tests for queue/queue_query.cpp: id/state/age parsing, WHERE building, message state
// derivation and qshape bucketing. Pure: no database, no clock.
#include "queue/queue_query.hpp"

#include <gtest/gtest.h>

namespace queue {
namespace {

TEST(QueueQuery, ParsesQueueIds) {
  struct Case { const char* text; std::optional<MessageId> want; };
  const Case cases[] = {
      {"000000002A", 42}, {"2a", 42}, {"0x2A", 42}, {"1", 1},
      {"", std::nullopt}, {"0", std::nullopt}, {"xyz", std::nullopt}, {"12 ", std::nullopt},
      {"-1", std::nullopt}, {"FFFFFFFFFFFFFFFFF", std::nullopt}, {"FFFFFFFFFFFFFFFF", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_queue_id(c.text), c.want) << c.text;
  EXPECT_EQ(parse_queue_id(format_queue_id(123456)), 123456);
}

TEST(QueueQuery, ParsesAges) {
  struct Case { const char* text; std::optional<std::int64_t> want; };
  const Case cases[] = {
      {"90", 90'000}, {"90s", 90'000}, {"15m", 900'000}, {"2h", 7'200'000}, {"3d", 259'200'000},
      {"", std::nullopt}, {"h", std::nullopt}, {"-5m", std::nullopt}, {"5x", std::nullopt}, {"1.5h", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_age_ms(c.text), c.want) << c.text;
}

TEST(QueueQuery, ParsesStates) {
  const std::pair<const char*, StateFilter> names[] = {
      {"queued", StateFilter::queued}, {"deferred", StateFilter::deferred}, {"held", StateFilter::held},
      {"delivered", StateFilter::delivered}, {"failed", StateFilter::failed}, {"expired", StateFilter::expired},
      {"all", StateFilter::all},
  };
  for (const auto& [name, want] : names) EXPECT_EQ(parse_state_filter(name), want) << name;
  EXPECT_EQ(parse_state_filter("bogus"), std::nullopt);
  EXPECT_EQ(parse_state_filter("Held"), std::nullopt);
}

TEST(QueueQuery, EmptyFilterOnAllIsTrue) {
  QueueFilter f;
  f.state = StateFilter::all;
  const auto w = build_where(f, 1000);
  EXPECT_EQ(w.clause, "1");
  EXPECT_TRUE(w.params.empty());
}

TEST(QueueQuery, DefaultSelectsMessagesWithPendingRecipients) {
  const auto w = build_where(QueueFilter{}, 1000);
  EXPECT_NE(w.clause.find("r.state = 0"), std::string::npos) << w.clause;
  EXPECT_TRUE(w.params.empty());
}

TEST(QueueQuery, EveryFilterAddsOneNumberedParameter) {
  QueueFilter f;
  f.state = StateFilter::held;
  f.direction = conf::Direction::outbound;
  f.listener = "outbound";
  f.sender = "Alice@";
  f.recipient = "BOB";
  f.domain = "Example.COM";
  f.hop = "up-a";
  f.older_than_ms = 600'000;
  f.newer_than_ms = 3'600'000;
  f.after = 7;
  const auto w = build_where(f, 10'000'000);
  ASSERT_EQ(w.params.size(), 9u);
  for (int i = 1; i <= 9; ++i) EXPECT_NE(w.clause.find("?" + std::to_string(i)), std::string::npos) << i;
  EXPECT_EQ(std::get<std::int64_t>(w.params[0]), 1);  // outbound
  EXPECT_EQ(std::get<std::string>(w.params[2]), "alice@");        // lower-cased substring
  EXPECT_EQ(std::get<std::string>(w.params[3]), "bob");
  EXPECT_EQ(std::get<std::string>(w.params[4]), "example.com");
  EXPECT_EQ(std::get<std::int64_t>(w.params[6]), 10'000'000 - 600'000);   // older: received before
  EXPECT_EQ(std::get<std::int64_t>(w.params[7]), 10'000'000 - 3'600'000); // newer: received after
  EXPECT_EQ(std::get<std::int64_t>(w.params[8]), 7);
  EXPECT_NE(w.clause.find("m.held <> 0"), std::string::npos);
}

TEST(QueueQuery, MessageStateDerivation) {
  using S = RecipientState;
  struct Case { bool held; std::vector<S> states; std::vector<std::uint32_t> tries; std::string_view want; };
  const Case cases[] = {
      {false, {S::pending}, {0}, "queued"},
      {false, {S::pending, S::delivered}, {1, 1}, "deferred"},
      {true, {S::pending}, {3}, "held"},
      {true, {S::delivered}, {1}, "delivered"},
      {false, {S::delivered, S::failed}, {1, 1}, "failed"},
      {false, {S::expired, S::delivered}, {5, 1}, "expired"},
      {false, {S::expired, S::failed}, {5, 1}, "failed"},
  };
  for (const auto& c : cases) EXPECT_EQ(message_state(c.held, c.states, c.tries), c.want);
}

TEST(QueueQuery, DomainFilterIsNormalisedLikeARecipientDomain) {
  EXPECT_EQ(domain_filter("Example.COM"), "example.com");
  EXPECT_EQ(domain_filter("example.com."), "example.com");  // conf::domain_of drops one trailing dot
  EXPECT_EQ(domain_filter(""), "");
  EXPECT_EQ(domain_filter("b\"@example.com"), "b\"@example.com");  // not re-split: matches no domain
}

TEST(QueueQuery, SummaryBucketsFollowQshape) {
  struct Case { std::int64_t minutes; std::size_t bucket; };
  const Case cases[] = {{0, 0}, {4, 0}, {5, 1}, {9, 1}, {10, 2}, {39, 3}, {40, 4}, {1279, 8}, {1280, 9}, {99999, 9}};
  for (const auto& c : cases) EXPECT_EQ(summary_bucket(c.minutes * 60'000), c.bucket) << c.minutes;
  EXPECT_EQ(summary_bucket(-5), 0u);  // a clock step back never indexes out of range
}

TEST(QueueQuery, SummarizeTotalsFirstThenBusiestDomain) {
  const UnixMillis now = 100 * 60'000;
  const std::vector<SummaryInput> in = {
      {"a.org", now - 1 * 60'000, 100},
      {"b.org", now - 1 * 60'000, 10},
      {"b.org", now - 30 * 60'000, 20},
      {"b.org", now - 99 * 60'000, 30},
      {"", now, 5},
  };
  const auto rows = summarize(in, now);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].domain, "TOTAL");
  EXPECT_EQ(rows[0].total, 5u);
  EXPECT_EQ(rows[0].bytes, 165u);
  EXPECT_EQ(rows[0].buckets[0], 3u);
  EXPECT_EQ(rows[1].domain, "b.org");
  EXPECT_EQ(rows[1].total, 3u);
  EXPECT_EQ(rows[1].buckets[0], 1u);
  EXPECT_EQ(rows[1].buckets[3], 1u);  // 30 min: 20 <= age < 40
  EXPECT_EQ(rows[1].buckets[5], 1u);  // 99 min: 80 <= age < 160
  EXPECT_EQ(rows[2].domain, "(none)");  // ties keep name order: "(none)" < "a.org"
  EXPECT_EQ(rows[3].domain, "a.org");
  std::uint64_t sum = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) sum += rows[i].total;
  EXPECT_EQ(sum, rows[0].total);
}

}  // namespace
}  // namespace queue
