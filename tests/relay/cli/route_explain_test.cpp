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
