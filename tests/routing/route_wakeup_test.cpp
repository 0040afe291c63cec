// tests/routing/route_wakeup_test.cpp — hop transitions are seen once, and map to exactly
// the routes that list the hop.
#include "routing/route_wakeup.hpp"

#include <gtest/gtest.h>

#include "tests/support/down_hops.hpp"

#include <set>
#include <string>
#include <vector>

namespace {

using routing::RouteTable;
using routing::RouteWakeup;
using Hops = std::vector<std::size_t>;
using Routes = std::vector<std::size_t>;

using test_support::DownHops;

// Hops h0..h3. Route 0 "a.example" uses h0 (tier 10) and h1 (tier 20); route 1
// "b.example" uses h1 and h2; route 2 "*" uses h3 only.
RouteTable three_routes() {
  conf::Config config;
  for (int i = 0; i < 4; ++i) config.hops.push_back({.name = "h" + std::to_string(i)});
  config.routes.push_back({.name = "a", .domains = {"a.example"}, .hops = {{"h0", 10, 1}, {"h1", 20, 1}}});
  config.routes.push_back({.name = "b", .domains = {"b.example"}, .hops = {{"h1", 10, 1}, {"h2", 10, 1}}});
  config.routes.push_back({.name = "rest", .domains = {"*"}, .hops = {{"h3", 10, 1}}});
  auto table = RouteTable::build(config);
  EXPECT_TRUE(table.has_value()) << (table ? "" : table.error());
  return table.value_or(RouteTable{});
}

TEST(RouteWakeup, NothingWakesWithoutATransition) {
  const RouteTable table = three_routes();
  RouteWakeup wakeup(table, 4);
  EXPECT_EQ(wakeup.observe(health::AllUsable{}), Hops{});  // starts usable: no transition
  EXPECT_EQ(wakeup.observe(DownHops({0, 3})), Hops{});    // going down wakes nothing
  EXPECT_EQ(wakeup.observe(DownHops({0, 3})), Hops{});    // still down
}

TEST(RouteWakeup, HopsThatCameBackAreReportedOnce) {
  const RouteTable table = three_routes();
  RouteWakeup wakeup(table, 4);
  wakeup.observe(DownHops({0, 1, 2, 3}));
  EXPECT_EQ(wakeup.observe(DownHops({1})), (Hops{0, 2, 3}));
  EXPECT_EQ(wakeup.observe(DownHops({1})), Hops{});
  EXPECT_EQ(wakeup.observe(health::AllUsable{}), Hops{1});
  wakeup.observe(DownHops({2}));  // down again, then back: reported again
  EXPECT_EQ(wakeup.observe(health::AllUsable{}), Hops{2});
}

TEST(RouteWakeup, RoutesOfHopsAreEveryRouteThatListsThem) {
  struct Case {
    Hops hops;
    Routes want;
  };
  const std::vector<Case> cases{
      {{0}, {0}},              // route a only
      {{1}, {0, 1}},           // h1 is in a (backup tier) and b
      {{2}, {1}},
      {{3}, {2}},              // the catch-all route
      {{3, 0, 1, 2}, {0, 1, 2}},  // each route once, ascending
      {{}, {}},
      {{7}, {}},               // out of range: nothing
  };
  const RouteTable table = three_routes();
  const RouteWakeup wakeup(table, 4);
  for (const Case& c : cases) EXPECT_EQ(wakeup.routes_of(c.hops), c.want);
}

TEST(RouteWakeup, HopsNoRouteListsWakeNoRoute) {
  conf::Config config;
  for (int i = 0; i < 3; ++i) config.hops.push_back({.name = "h" + std::to_string(i)});
  config.routes.push_back({.name = "r", .domains = {"*"}, .hops = {{"h0", 10, 1}}});
  const RouteTable table = RouteTable::build(config).value();
  RouteWakeup wakeup(table, 3);
  wakeup.observe(DownHops({1, 2}));
  const Hops back = wakeup.observe(health::AllUsable{});
  EXPECT_EQ(back, (Hops{1, 2}));
  EXPECT_EQ(wakeup.routes_of(back), Routes{});
}

}  // namespace
