// Tests of relay/tracking/query: matching by each field, time bounds and index keys.
#include "relay/tracking/query.hpp"

#include <gtest/gtest.h>

#include "relay/tracking/block_filter.hpp"

namespace relay::tracking {
namespace {

Record received() {
  Record r;
  r.time = 1'000'000;
  r.event = Event::receive;
  r.queue_id = "Q1";
  r.message_id = "<Abc.123@Host.example>";
  r.sender = "Alice@Example.org";
  r.recipients = {"bob@example.com", "carol@sub.example.net"};
  r.client = "192.0.2.1";
  return r;
}

TEST(TrackingQuery, AnEmptyQueryMatchesEverything) { EXPECT_TRUE(matches(received(), Query{})); }

TEST(TrackingQuery, AddressDomainAndPattern) {
  EXPECT_TRUE(address_matches("bob@example.com", "BOB@example.com"));
  EXPECT_TRUE(address_matches("bob@example.com", "example.com"));
  EXPECT_TRUE(address_matches("bob@example.com", "@example.com"));
  EXPECT_FALSE(address_matches("bob@sub.example.com", "example.com"));
  EXPECT_TRUE(address_matches("bob@sub.example.com", "*.example.com"));
  EXPECT_FALSE(address_matches("bob@example.com", "*.example.com"));
  EXPECT_TRUE(address_matches("bob@example.com", "b*@*"));
  EXPECT_TRUE(address_matches("", "<>"));
  EXPECT_FALSE(address_matches("a@b", "<>"));
}

TEST(TrackingQuery, EachField) {
  const Record r = received();
  Query q;
  q.message_id = "abc.123@host.example";
  EXPECT_TRUE(matches(r, q));
  q.message_id = "<other@host>";
  EXPECT_FALSE(matches(r, q));
  q = {};
  q.sender = "example.org";
  EXPECT_TRUE(matches(r, q));
  q.sender = "bob@example.com";
  EXPECT_FALSE(matches(r, q));
  q = {};
  q.recipient = "*.example.net";
  EXPECT_TRUE(matches(r, q));
  q.recipient = "dave@example.com";
  EXPECT_FALSE(matches(r, q));
  q = {};
  q.queue_ids = {"Q2", "Q1"};
  EXPECT_TRUE(matches(r, q));
  q.queue_ids = {"Q2"};
  EXPECT_FALSE(matches(r, q));
  q = {};
  q.client = "192.0.2.1";
  EXPECT_TRUE(matches(r, q));
  q.client = "192.0.2.10";
  EXPECT_FALSE(matches(r, q));
  q = {};
  q.events = {Event::deliver, Event::receive};
  EXPECT_TRUE(matches(r, q));
  q.events = {Event::deliver};
  EXPECT_FALSE(matches(r, q));
}

TEST(TrackingQuery, TimeRangeIsHalfOpen) {
  const Record r = received();
  Query q;
  q.since = 1'000'000;
  q.until = 1'000'001;
  EXPECT_TRUE(matches(r, q));
  q.until = 1'000'000;
  EXPECT_FALSE(matches(r, q));
  q.until.reset();
  q.since = 1'000'001;
  EXPECT_FALSE(matches(r, q));
}

TEST(TrackingQuery, RelativeAndAbsoluteBounds) {
  const UnixMillis now = 10LL * 86'400'000;
  EXPECT_EQ(parse_time_bound("2h", now), now - 2 * 3'600'000);
  EXPECT_EQ(parse_time_bound("3d", now), now - 3 * 86'400'000LL);
  EXPECT_EQ(parse_time_bound("30m", now), now - 30 * 60'000);
  EXPECT_EQ(parse_time_bound("1970-01-02", now), 86'400'000);
  EXPECT_EQ(parse_time_bound("1970-01-02T01:00", now), 90'000'000);
  EXPECT_FALSE(parse_time_bound("soon", now));
  EXPECT_FALSE(parse_time_bound("", now));
}

TEST(TrackingQuery, IndexKeysOfARecordCoverWhatAQueryAsks) {
  BlockFilter filter;
  for (const auto key : record_keys(received())) filter.add(key);
  const auto found = [&](const Query& q) {
    const auto keys = query_keys(q);
    for (const auto& any : keys) {
      bool one = false;
      for (const auto k : any) one = one || filter.may_contain(k);
      if (!one) return false;
    }
    return true;
  };
  Query q;
  q.recipient = "BOB@example.com";
  EXPECT_TRUE(found(q));
  q.recipient = "example.com";
  EXPECT_TRUE(found(q));
  q.recipient = "@sub.example.net";
  EXPECT_TRUE(found(q));
  q.recipient = "nobody@nowhere.example";
  EXPECT_FALSE(found(q));
  q = {};
  q.message_id = "<ABC.123@host.example>";
  EXPECT_TRUE(found(q));
  q = {};
  q.sender = "alice@example.org";
  q.client = "192.0.2.1";
  q.queue_ids = {"Q9", "Q1"};
  EXPECT_TRUE(found(q));
  q = {};
  q.recipient = "*.example.net";  // a pattern: no key, every block is read
  EXPECT_TRUE(query_keys(q).empty());
}

}  // namespace
}  // namespace relay::tracking
