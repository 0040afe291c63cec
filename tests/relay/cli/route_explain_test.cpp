// tests/relay/cli/route_explain_test.cpp — what `hubrelay route explain` reports.
#include "relay/cli/route_explain.hpp"

#include <gtest/gtest.h>

#include "tests/support/down_hops.hpp"

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace {

using test_support::DownHops;

conf::Config two_tier_config() {
  conf::Config c;
  c.relay.accepted_domains = {"example.com"};
  c.hops = {{.name = "a", .host = "192.0.2.1"}, {.name = "b", .host = "192.0.2.2"}, {.name = "backup", .host = "192.0.2.3"}};
  c.routes.push_back({.name = "internet",
                      .direction = conf::Direction::outbound,
                      .domains = {"*"},
                      .hops = {{"a", 10, 3}, {"b", 10, 1}, {"backup", 20, 1}}});
  return c;
}

// explain_route() over two_tier_config(), every hop usable unless `view` says otherwise.
relay::RouteExplanation explain(std::string_view address, std::optional<conf::Direction> direction = std::nullopt,
                                const health::View& view = health::AllUsable{}) {
  return relay::explain_route(two_tier_config(), address, direction, view, "test");
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every one of `parts` appears in the explanation's text.
void expect_mentions(const relay::RouteExplanation& r, std::initializer_list<std::string_view> parts) {
  for (const std::string_view part : parts)
    EXPECT_NE(r.text.find(part), std::string::npos) << part << " in:\n" << r.text;
}

TEST(RouteExplain, HealthyTierIsUsedAndBackupStandsBy) {
  const auto r = explain("bob@remote.example");
  EXPECT_EQ(r.status, 0);
  expect_mentions(r, {"direction:  outbound (inferred", "route:      internet (pattern \"*\"", "share 75% by weight",
                      "share 25% by weight", "standby: used only when every hop of tier 10",
                      "try order:  a -> b -> backup"});
}

TEST(RouteExplain, DownHopsAreExplainedAndSkipped) {
  expect_mentions(explain("bob@remote.example", conf::Direction::outbound, DownHops({0})),
                  {"DOWN   not used: marked down", "try order:  b -> backup"});
  expect_mentions(explain("bob@remote.example", conf::Direction::outbound, DownHops({0, 1, 2})), {"mail stays queued"});
}

TEST(RouteExplain, NoRouteIsExitStatusOne) {
  const auto r = explain("alice@example.com");
  EXPECT_EQ(r.status, 1);
  expect_mentions(r, {"direction:  inbound (inferred", "no inbound route matches"});
}

}  // namespace

namespace {

health::DaemonState state_with(std::vector<health::HopState> hops) {
  return health::DaemonState{1'800'000'000'000, std::move(hops)};
}

TEST(RouteExplainDaemonState, EjectedHopIsMarkedAndNotTriedFirst) {
  const auto config = two_tier_config();
  health::HopState a{"a", health::HopCondition::ejected, true, 1'800'000'060'000, 2, ""};
  const auto r = relay::explain_route(config, "bob@remote.example", conf::Direction::outbound,
                                      state_with({a, {"b"}, {"backup"}}), "daemon state");
  EXPECT_TRUE(contains(r.text, "ejected not used: ejected until " + health::format_utc(1'800'000'060'000) +
                                   " (2 consecutive delivery failures)"))
      << r.text;
  EXPECT_TRUE(contains(r.text, "share 100% by weight")) << r.text;  // b carries the tier alone
  EXPECT_TRUE(contains(r.text, "try order:  b -> backup")) << r.text;
}

TEST(RouteExplainDaemonState, PathAndCheckDownWithLastError) {
  const auto config = two_tier_config();
  health::HopState a{"a", health::HopCondition::path_down, false, 0, 0, "site-a: tcp 192.0.2.7:443: refused"};
  health::HopState b{"b", health::HopCondition::check_down, false, 0, 0, ""};
  const auto r = relay::explain_route(config, "bob@remote.example", conf::Direction::outbound,
                                      state_with({a, b, {"backup"}}), "daemon state");
  EXPECT_TRUE(contains(r.text, "path down not used: path down; last error: site-a: tcp 192.0.2.7:443: refused"))
      << r.text;
  EXPECT_TRUE(contains(r.text, "check down not used: check down")) << r.text;
  EXPECT_TRUE(contains(r.text, "try order:  backup")) << r.text;
}

// The daemon's last delivery error on a hop, and when: for an ejected hop with the
// ejection's end, and still for a hop usable again.
TEST(RouteExplainDaemonState, LastDeliveryErrorAndWhenPerHop) {
  const auto config = two_tier_config();
  const std::string refused =
      "451 4.4.1 Connection to next hop failed: connect to 192.0.2.1:25 failed: Connection refused";
  health::HopState a{"a", health::HopCondition::ejected, true, 1'800'000'060'000, 1, refused, 1'799'999'999'000};
  health::HopState b{"b", health::HopCondition::usable, false, 0, 0, "421 4.3.2 try later", 1'799'999'990'000};
  const auto r = relay::explain_route(config, "bob@remote.example", conf::Direction::outbound,
                                      state_with({a, b, {"backup"}}), "daemon state");
  EXPECT_TRUE(contains(r.text, "ejected not used: ejected until " + health::format_utc(1'800'000'060'000) +
                                   "; last error at " + health::format_utc(1'799'999'999'000) + ": " + refused))
      << r.text;
  EXPECT_TRUE(contains(r.text, "share 100% by weight; last error at " + health::format_utc(1'799'999'990'000) +
                                   ": 421 4.3.2 try later"))
      << r.text;
}

TEST(RouteExplainDaemonState, HopUnknownToTheStateCountsUsable) {
  const auto config = two_tier_config();
  const auto r = relay::explain_route(config, "bob@remote.example", conf::Direction::outbound, state_with({}),
                                      "daemon state");
  EXPECT_TRUE(contains(r.text, "try order:  a -> b -> backup")) << r.text;
}

TEST(RouteExplainDaemonState, SaysPlainlyWhenTheStateIsNotAvailable) {
  constexpr health::UnixMillis now = 1'800'000'000'000;
  const auto missing = relay::daemon_state_from(std::nullopt, "/var/lib/hubrelay/health.json", now);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(),
            "daemon state not available: no state file /var/lib/hubrelay/health.json (the daemon is not running); "
            "showing configuration only");
  const std::string fresh = R"({"taken_at": 1800000000000, "hops": [{"name": "a", "state": "ejected"}]})";
  const auto ok = relay::daemon_state_from(fresh, "h.json", now + 1000);
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->hops[0].condition, health::HopCondition::ejected);
  const auto stale = relay::daemon_state_from(fresh, "h.json", now + 3'600'000);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(contains(stale.error(), "daemon state not available: h.json: it was last written 3600s ago")) << stale.error();
  EXPECT_FALSE(relay::daemon_state_from(std::string("{"), "h.json", now));
}


// --from: which [dkim.NAME] keys would sign a message with that From: address.
TEST(RouteExplainDkim, NamesTheKeysThatWouldSign) {
  conf::Config c = two_tier_config();
  EXPECT_EQ(relay::dkim_explanation(c, "a@example.com", conf::Direction::outbound),
            "dkim: not signed: no [dkim.NAME] keys are configured\n");
  c.dkim.push_back({.name = "rsa", .domain = "example.com", .selector = "s1"});
  c.dkim.push_back({.name = "ed", .domain = "example.com", .subdomains = true, .selector = "s2"});
  EXPECT_EQ(relay::dkim_explanation(c, "A@Example.COM", conf::Direction::outbound),
            "dkim: a From: in example.com on outbound listeners is signed by [dkim.rsa] (d=example.com, s=s1), "
            "[dkim.ed] (d=example.com, s=s2)\n");
  EXPECT_EQ(relay::dkim_explanation(c, "a@mail.example.com", conf::Direction::outbound),
            "dkim: a From: in mail.example.com on outbound listeners is signed by [dkim.ed] (d=example.com, s=s2)\n");
  EXPECT_EQ(relay::dkim_explanation(c, "a@example.org", conf::Direction::outbound),
            "dkim: not signed: no key for the From: domain example.org on outbound listeners\n");
  EXPECT_EQ(relay::dkim_explanation(c, "a@example.com", conf::Direction::inbound),
            "dkim: not signed: no key for the From: domain example.com on inbound listeners\n");
}

}  // namespace
