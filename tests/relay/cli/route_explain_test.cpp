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
