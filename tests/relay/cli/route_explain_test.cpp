// tests/relay/cli/route_explain_test.cpp — what `hubrelay route explain` reports.
#include "relay/cli/route_explain.hpp"

#include <gtest/gtest.h>

#include "tests/support/down_hops.hpp"

#include <set>

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

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(RouteExplain, HealthyTierIsUsedAndBackupStandsBy) {
  const auto config = two_tier_config();
  const health::AllUsable all;
  const auto r = relay::explain_route(config, "bob@remote.example", std::nullopt, all, "test");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(contains(r.text, "direction:  outbound (inferred")) << r.text;
  EXPECT_TRUE(contains(r.text, "route:      internet (pattern \"*\"")) << r.text;
  EXPECT_TRUE(contains(r.text, "share 75% by weight")) << r.text;
  EXPECT_TRUE(contains(r.text, "share 25% by weight")) << r.text;
  EXPECT_TRUE(contains(r.text, "standby: used only when every hop of tier 10")) << r.text;
  EXPECT_TRUE(contains(r.text, "try order:  a -> b -> backup")) << r.text;
}

TEST(RouteExplain, DownHopsAreExplainedAndSkipped) {
  const auto config = two_tier_config();
  const DownHops a_down({0});
  auto r = relay::explain_route(config, "bob@remote.example", conf::Direction::outbound, a_down, "test");
  EXPECT_TRUE(contains(r.text, "DOWN   not used: marked down")) << r.text;
  EXPECT_TRUE(contains(r.text, "try order:  b -> backup")) << r.text;

  const DownHops all_down({0, 1, 2});
  r = relay::explain_route(config, "bob@remote.example", conf::Direction::outbound, all_down, "test");
  EXPECT_TRUE(contains(r.text, "mail stays queued")) << r.text;
}

TEST(RouteExplain, NoRouteIsExitStatusOne) {
  const auto config = two_tier_config();
  const health::AllUsable all;
  const auto r = relay::explain_route(config, "alice@example.com", std::nullopt, all, "test");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.text, "direction:  inbound (inferred")) << r.text;
  EXPECT_TRUE(contains(r.text, "no inbound route matches")) << r.text;
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

}  // namespace
