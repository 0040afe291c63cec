// Tests of relay/tracking/search_words: the words of `hubrelay track` and GET /api/tracking
// to a Query and its options.
#include "relay/tracking/search_words.hpp"

#include <gtest/gtest.h>

namespace relay::tracking {
namespace {

constexpr UnixMillis now = 1'800'000'000'000;

TEST(TrackingSearchWords, EveryCriterion) {
  const auto r = parse_search_words({.message_id = "<m@x>", .sender = "a@x", .recipient = "*.example",
                                     .queue_id = "0A,,0B", .client = "192.0.2.1", .event = "deliver,defer",
                                     .since = "2h", .until = "2026-12-04T10:00", .limit = "5", .by_message = true},
                                    now);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->query.message_id, "<m@x>");
  EXPECT_EQ(r->query.sender, "a@x");
  EXPECT_EQ(r->query.recipient, "*.example");
  EXPECT_EQ(r->query.queue_ids, (std::set<std::string>{"0A", "0B"}));
  EXPECT_EQ(r->query.client, "192.0.2.1");
  EXPECT_EQ(r->query.events, (std::set<Event>{Event::deliver, Event::defer}));
  EXPECT_EQ(r->query.since, now - 7'200'000);
  EXPECT_EQ(r->query.until, parse_time("2026-12-04T10:00:00"));
  EXPECT_EQ(r->options.limit, 5u);
  EXPECT_TRUE(r->options.whole_messages);
}

TEST(TrackingSearchWords, NothingGivenIsEverythingUpToTheDefaultLimit) {
  const auto r = parse_search_words({}, now, 42);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->query.empty());
  EXPECT_EQ(r->options.limit, 42u);
  EXPECT_FALSE(r->options.whole_messages);
}

TEST(TrackingSearchWords, ErrorsNameTheWord) {
  EXPECT_EQ(parse_search_words({.event = "deliver,nope"}, now).error().word, "event");
  EXPECT_NE(parse_search_words({.event = "nope"}, now).error().message.find("unknown event 'nope'"), std::string::npos);
  EXPECT_EQ(parse_search_words({.since = "yesterday"}, now).error().word, "since");
  EXPECT_EQ(parse_search_words({.until = "2026-13-01"}, now).error().word, "until");
  EXPECT_EQ(parse_search_words({.limit = "10x"}, now).error().word, "limit");
}

}  // namespace
}  // namespace relay::tracking
