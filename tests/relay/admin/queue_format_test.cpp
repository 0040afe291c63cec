// tests/relay/admin/queue_format_test.cpp — how `hubrelay queue` and /api/queue show the
// queue (relay/admin/queue_format), table-driven.
//
// Filters: each row is the options an operator types and either the filter they mean or
// the error naming the bad key. Times and ages: exact strings. Messages and summaries:
// one message in each displayed state, with the lines the table, JSON and `show` print.
// Everything is pure: `now` is passed in, nothing opens queue.db.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "relay/admin/queue_format.hpp"

namespace relay {
namespace {

using queue::RecipientState;
using queue_format::Options;

constexpr queue::UnixMillis t0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

struct FilterCase {
  const char* name;
  Options options;
  std::string error;  // substring of the error; "" when the options are valid
  std::function<bool(const queue::QueueFilter&)> check = [](const queue::QueueFilter&) { return true; };
};

TEST(QueueFormatTest, FilterFromOptions) {
  const std::vector<FilterCase> cases = {
      {"defaults", {}, "", [](const auto& f) { return f.state == queue::StateFilter::queued && f.limit == 1000; }},
      {"state", {{"state", "deferred"}}, "", [](const auto& f) { return f.state == queue::StateFilter::deferred; }},
      {"bad state", {{"state", "stuck"}}, "--state \"stuck\": unknown state"},
      {"direction", {{"direction", "outbound"}}, "",
       [](const auto& f) { return f.direction == conf::Direction::outbound; }},
      {"bad direction", {{"direction", "sideways"}}, "--direction \"sideways\": use inbound or outbound"},
      {"text keys", {{"listener", "in"}, {"sender", "a@b"}, {"recipient", "c@d"}, {"domain", "d"}, {"hop", "h"}},
       "",
       [](const auto& f) {
         return f.listener == "in" && f.sender == "a@b" && f.recipient == "c@d" && f.domain == "d" && f.hop == "h";
       }},
      {"ages", {{"older", "2h"}, {"newer", "3d"}}, "",
       [](const auto& f) { return f.older_than_ms == 7'200'000 && f.newer_than_ms == 259'200'000; }},
      {"bad age", {{"older", "soon"}}, "--older \"soon\": not an age"},
      {"paging", {{"limit", "50"}, {"offset", "100"}, {"after", "2a"}}, "",
       [](const auto& f) { return f.limit == 50 && f.offset == 100 && f.after == 42; }},
      {"zero limit", {{"limit", "0"}}, "--limit \"0\": not a count"},
      {"limit too large", {{"limit", "100001"}}, "--limit \"100001\": not a count"},
      {"negative offset", {{"offset", "-1"}}, "--offset \"-1\": not a count"},
      {"bad cursor", {{"after", "xyz"}}, "--after \"xyz\": not a queue id"},
      {"unknown key", {{"colour", "red"}}, "unknown filter --colour"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto filter = queue_format::filter_from(c.options);
    if (c.error.empty()) {
      ASSERT_TRUE(filter.has_value()) << filter.error();
      EXPECT_TRUE(c.check(*filter));
    } else {
      ASSERT_FALSE(filter.has_value());
      EXPECT_NE(filter.error().find(c.error), std::string::npos) << filter.error();
    }
  }
}

TEST(QueueFormatTest, TimesAndAges) {
  const std::vector<std::pair<queue::UnixMillis, std::string>> times = {
      {0, "-"}, {-1, "-"}, {t0, "2023-11-14T22:13:20Z"}, {t0 + 999, "2023-11-14T22:13:20Z"}, {1'000, "1970-01-01T00:00:01Z"}};
  for (const auto& [ms, text] : times) EXPECT_EQ(queue_format::iso_time(ms), text) << ms;

  const std::vector<std::pair<std::int64_t, std::string>> ages = {
      {-5'000, "0s"},     {0, "0s"},          {119'999, "119s"},       {120'000, "2m"},
      {7'199'999, "119m"}, {7'200'000, "2h"}, {172'799'999, "47h"},    {172'800'000, "2d"}};
  for (const auto& [ms, text] : ages) EXPECT_EQ(queue_format::short_age(ms), text) << ms;
}

queue::MessageView message(RecipientState state, std::uint32_t attempts, std::string last_reply, bool held = false) {
  queue::MessageView m;
  m.id = 42;
  m.direction = conf::Direction::outbound;
  m.listener = "submission";
  m.client_address = "192.0.2.7";
  m.helo = "client.test";
  m.sender = "alice@example.net";
  m.received_at = t0;
  m.size = 1234;
  m.held = held;
  m.has_body = true;
  queue::RecipientView r;
  r.address = "bob@example.com";
  r.state = state;
  r.attempts = attempts;
  r.next_attempt = t0 + 300'000;
  r.last_reply = std::move(last_reply);
  r.hop = attempts > 0 ? "smarthost" : "";
  m.recipients.push_back(std::move(r));
  return m;
}

struct MessageCase {
  const char* name;
  queue::MessageView m;
  std::string line;       // queue list table
  std::string json_part;  // a piece of the JSON line
  std::string show_part;  // a piece of `queue show`
};

TEST(QueueFormatTest, MessageInEachState) {
  const queue::UnixMillis now = t0 + 600'000;  // ten minutes later
  const std::vector<MessageCase> cases = {
      {"queued", message(RecipientState::pending, 0, ""),
       "000000002A  queued    outbound 10m   1234     <alice@example.net> -> <bob@example.com>\n",
       "\"state\":\"queued\"", "  [0] <bob@example.com> pending attempts=0 next=2023-11-14T22:18:20Z\n"},
      {"deferred", message(RecipientState::pending, 2, "451 4.4.1 try later"),
       "000000002A  deferred  outbound 10m   1234     <alice@example.net> -> <bob@example.com>\n"
       "    <bob@example.com> hop=smarthost \"451 4.4.1 try later\"\n",
       "\"last_reply\":\"451 4.4.1 try later\",\"hop\":\"smarthost\"",
       "      last reply: 451 4.4.1 try later\n"},
      {"held", message(RecipientState::pending, 0, "", true),
       "000000002A  held      outbound 10m   1234     <alice@example.net> -> <bob@example.com>\n",
       "\"held\":true", "state:       held (held)\n"},
      {"delivered", message(RecipientState::delivered, 1, "250 ok"),
       "000000002A  delivered outbound 10m   1234     <alice@example.net> -> <bob@example.com>\n",
       "\"state\":\"delivered\",\"attempts\":1,\"in_delivery\":false,\"next_attempt\":null",
       "  [0] <bob@example.com> delivered attempts=1 hop=smarthost\n"},
      {"failed", message(RecipientState::failed, 1, "550 5.1.1 no such user"),
       "000000002A  failed    outbound 10m   1234     <alice@example.net> -> <bob@example.com>\n",
       "\"state\":\"failed\",\"direction\":\"outbound\"", "state:       failed\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(queue_format::message_line(c.m, now), c.line);
    const std::string json = queue_format::message_json(c.m, now);
    EXPECT_EQ(json.front(), '{');
    EXPECT_EQ(json.back(), '}');
    EXPECT_NE(json.find("{\"id\":\"000000002A\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"age_seconds\":600"), std::string::npos) << json;
    EXPECT_NE(json.find(c.json_part), std::string::npos) << json;
    const std::string show = queue_format::show_text(c.m, now);
    EXPECT_NE(show.find("queue id:    000000002A\n"), std::string::npos) << show;
    EXPECT_NE(show.find("received:    2023-11-14T22:13:20Z (10m ago)\n"), std::string::npos) << show;
    EXPECT_NE(show.find(c.show_part), std::string::npos) << show;
  }
  EXPECT_EQ(queue_format::list_header(), "QUEUE-ID    STATE     DIR      AGE   SIZE     SENDER -> RECIPIENTS\n");
}

// A recipient of a dead hop: tried once (connection refused), then parked on its route.
// Each view shows the real error with the hop, and the park with route and time; the
// history lists the attempt (hop and address) and the park, newest last.
TEST(QueueFormatTest, ParkedRecipientKeepsTheRealErrorAndShowsTheRoute) {
  const queue::UnixMillis now = t0 + 600'000;
  const std::string refused =
      "451 4.4.1 Connection to next hop failed: connect to 127.0.0.1:2603 failed: Connection refused";
  queue::MessageView m = message(RecipientState::pending, 1, refused);
  m.recipients[0].hop = "upstream";
  m.recipients[0].parked_on = "internet";
  m.recipients[0].parked_since = t0 + 1'000;
  m.attempts.push_back({0, t0 + 1'000, "upstream", RecipientState::pending, refused, queue::AttemptKind::delivery,
                        "127.0.0.1:2603"});
  m.attempts.push_back({0, t0 + 1'000, "", RecipientState::pending,
                        "451 4.4.1 No healthy next hop available (route internet: upstream ejected until "
                        "2023-11-14T22:13:24Z)",
                        queue::AttemptKind::parked, ""});
  struct Case {
    const char* view;
    std::string text;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"list", queue_format::message_line(m, now),
       {"    <bob@example.com> hop=upstream \"" + refused +
        "\"; parked on route internet since 2023-11-14T22:13:21Z\n"}},
      {"waiting", queue_format::waiting_text(m.recipients[0]),
       {"hop=upstream \"" + refused + "\"; parked on route internet since 2023-11-14T22:13:21Z"}},
      {"json", queue_format::message_json(m, now),
       {"\"attempts\":1,", "\"last_reply\":\"" + refused + "\",\"hop\":\"upstream\"",
        "\"parked_on\":\"internet\",\"parked_since\":\"2023-11-14T22:13:21Z\"",
        "{\"recipient\":0,\"at\":\"2023-11-14T22:13:21Z\",\"hop\":\"upstream\",\"address\":\"127.0.0.1:2603\","
        "\"kind\":\"delivery\",\"state\":\"pending\",\"reply\":\"" + refused + "\"}",
        "\"hop\":null,\"address\":null,\"kind\":\"parked\""}},
      {"show", queue_format::show_text(m, now),
       {"  [0] <bob@example.com> pending attempts=1 next=2023-11-14T22:18:20Z hop=upstream\n",
        "      last reply: " + refused + "\n",
        "      waiting:    parked on route internet since 2023-11-14T22:13:21Z (no usable hop; released when one is)\n",
        "attempts:\n  2023-11-14T22:13:21Z [0] attempt hop=upstream (127.0.0.1:2603) pending \"" + refused + "\"\n"
        "  2023-11-14T22:13:21Z [0] parked pending \"451 4.4.1 No healthy next hop available (route internet: "}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.view);
    for (const auto& part : c.parts) EXPECT_NE(c.text.find(part), std::string::npos) << c.text << "\nwants: " << part;
  }
  // Parked before any attempt: no reply of its own, so the park's text says why.
  queue::RecipientView fresh;
  fresh.parked_on = "internet";
  fresh.parked_since = t0;
  EXPECT_EQ(queue_format::waiting_text(fresh), "parked on route internet since 2023-11-14T22:13:20Z");
  fresh.parked_reason = "451 4.4.1 No healthy next hop available (route internet: upstream ejected until T, last "
                        "error at T: connect to 127.0.0.1:2603 failed: Connection refused)";
  EXPECT_EQ(queue_format::waiting_text(fresh),
            "parked on route internet since 2023-11-14T22:13:20Z: \"" + fresh.parked_reason + "\"");
  // Tried before: the compact line keeps to its own error; the park's text is in show.
  m.recipients[0].parked_reason = fresh.parked_reason;
  EXPECT_EQ(queue_format::waiting_text(m.recipients[0]),
            "hop=upstream \"" + refused + "\"; parked on route internet since 2023-11-14T22:13:21Z");
  EXPECT_NE(queue_format::show_text(m, now).find("      parked:     " + fresh.parked_reason + "\n"), std::string::npos);
  EXPECT_NE(queue_format::message_json(m, now).find("\"parked_reason\":\"451 4.4.1 No healthy"), std::string::npos);
}

// A shared queue's lease: the node and until when, in list, show and JSON; a lease that
// ran out is marked and is no delivery in progress. Without a node (SQLite) nothing shows.
TEST(QueueFormatTest, LeaseShowsItsNodeOnASharedQueue) {
  const queue::UnixMillis now = t0 + 60'000;
  queue::MessageView m = message(RecipientState::pending, 0, "");
  m.recipients[0].leased = true;
  m.recipients[0].lease_node = "relay-2";
  m.recipients[0].lease_until = t0 + 120'000;
  const std::string lease = "node relay-2 until 2023-11-14T22:15:20Z";
  EXPECT_EQ(queue_format::lease_text(m.recipients[0], now), lease);
  EXPECT_NE(queue_format::message_line(m, now).find("    <bob@example.com> lease: " + lease + "\n"), std::string::npos);
  const std::string shown = queue_format::show_text(m, now);
  EXPECT_NE(shown.find("  [0] <bob@example.com> pending attempts=0 in-delivery\n      lease:      " + lease + "\n"),
            std::string::npos) << shown;
  EXPECT_NE(queue_format::message_json(m, now).find(
                "\"in_delivery\":true,\"lease_node\":\"relay-2\",\"lease_until\":\"2023-11-14T22:15:20Z\","),
            std::string::npos);

  const queue::UnixMillis later = t0 + 120'000;
  EXPECT_EQ(queue_format::lease_text(m.recipients[0], later), lease + " (ran out: any node may take it over)");
  EXPECT_FALSE(queue_format::in_delivery(m.recipients[0], later));
  EXPECT_NE(queue_format::show_text(m, later).find("pending attempts=0 next="), std::string::npos);

  m.recipients[0].lease_node.clear();  // SQLite: a lease has no node
  EXPECT_EQ(queue_format::lease_text(m.recipients[0], later), "");
  EXPECT_TRUE(queue_format::in_delivery(m.recipients[0], later));
  EXPECT_EQ(queue_format::message_line(m, now).find("lease"), std::string::npos);
  EXPECT_EQ(queue_format::message_json(m, now).find("lease_"), std::string::npos);
}

// What protected each attempt: in show's history line and in the JSON; a park or an
// attempt that opened no session says nothing (no tls key).
TEST(QueueFormatTest, AttemptsSayWhatProtectedTheirSession) {
  const queue::UnixMillis now = t0 + 600'000;
  queue::MessageView m = message(RecipientState::delivered, 2, "250 2.0.0 ok");
  m.attempts.push_back({0, t0 + 1'000, "direct", RecipientState::pending, "451 4.3.0 later",
                        queue::AttemptKind::delivery, "127.0.0.1:2525", "opportunistic TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256"});
  m.attempts.push_back({0, t0 + 2'000, "direct", RecipientState::delivered, "250 2.0.0 ok",
                        queue::AttemptKind::delivery, "127.0.0.1:2525", "dane TLSv1.3 TLS_AES_256_GCM_SHA384"});
  m.attempts.push_back({0, t0 + 3'000, "", RecipientState::pending, "parked", queue::AttemptKind::parked, ""});
  const std::string show = queue_format::show_text(m, now);
  EXPECT_NE(show.find("attempt hop=direct (127.0.0.1:2525) tls=\"opportunistic TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256\" "
                      "pending \"451 4.3.0 later\"\n"),
            std::string::npos)
      << show;
  EXPECT_NE(show.find("tls=\"dane TLSv1.3 TLS_AES_256_GCM_SHA384\" delivered"), std::string::npos) << show;
  EXPECT_EQ(show.find("parked tls="), std::string::npos) << show;
  const std::string json = queue_format::message_json(m, now);
  EXPECT_NE(json.find("\"reply\":\"250 2.0.0 ok\",\"tls\":\"dane TLSv1.3 TLS_AES_256_GCM_SHA384\"}"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"reply\":\"parked\"}"), std::string::npos) << json;
}

TEST(QueueFormatTest, Summary) {
  queue::SummaryRow total{"TOTAL", 3, 3000, {}};
  total.buckets[0] = 2;
  total.buckets.back() = 1;
  queue::SummaryRow domain{"example.com", 3, 3000, {}};
  domain.buckets = total.buckets;
  const std::vector<queue::SummaryRow> rows{total, domain};

  const std::string text = queue_format::summary_text(rows);
  EXPECT_EQ(text.substr(0, text.find('\n') + 1),
            "            T BYTES 5 10 20 40 80 160 320 640 1280 1280+\n");
  EXPECT_NE(text.find("\nexample.com 3  3000 2  0  0  0  0   0   0   0    0     1\n"), std::string::npos) << text;

  const std::string json = queue_format::summary_json(rows);
  EXPECT_EQ(json.substr(0, json.find('\n') + 1),
            "{\"domain\":\"TOTAL\",\"total\":3,\"bytes\":3000,\"buckets\":{\"<5m\":2,\"<10m\":0,\"<20m\":0,\"<40m\":0,"
            "\"<80m\":0,\"<160m\":0,\"<320m\":0,\"<640m\":0,\"<1280m\":0,\">=1280m\":1}}\n");
  EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 2);
  EXPECT_EQ(queue_format::summary_text({}), "       T BYTES 5 10 20 40 80 160 320 640 1280 1280+\n");
  EXPECT_EQ(queue_format::summary_json({}), "");
}

}  // namespace
}  // namespace relay
