// tests/routing/route_wakeup_test.cpp — hop transitions wake exactly the routes that list the hop.
#include "routing/route_wakeup.hpp"

#include <gtest/gtest.h>

#include "tests/support/down_hops.hpp"

#include <set>
#include <string>
#include <vector>

namespace {

using routing::RouteTable;
using routing::RouteWakeup;
using Woken = std::vector<std::size_t>;

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
  EXPECT_EQ(wakeup.observe(health::AllUsable{}), Woken{});  // starts usable: no transition
  EXPECT_EQ(wakeup.observe(DownHops({0, 3})), Woken{});    // going down wakes nothing
  EXPECT_EQ(wakeup.observe(DownHops({0, 3})), Woken{});    // still down
}

TEST(RouteWakeup, AHopComingBackWakesEveryRouteThatListsIt) {
  struct Case {
    std::set<std::size_t> before, after;
    Woken want;
  };
  const std::vector<Case> cases{
      {{0}, {}, {0}},             // h0 back: route a only
      {{1}, {}, {0, 1}},          // h1 is in a (backup tier) and b
      {{1, 2}, {2}, {0, 1}},      // h1 back while h2 stays down
      {{3}, {}, {2}},             // the catch-all route
      {{0, 1, 2, 3}, {}, {0, 1, 2}},  // each route once, ascending
      {{0}, {0}, {}},             // still down
  };
  const RouteTable table = three_routes();
  for (const Case& c : cases) {
    RouteWakeup wakeup(table, 4);
    wakeup.observe(DownHops(c.before));
    EXPECT_EQ(wakeup.observe(DownHops(c.after)), c.want);
  }
}

TEST(RouteWakeup, ATransitionIsReportedOnce) {
  const RouteTable table = three_routes();
  RouteWakeup wakeup(table, 4);
  wakeup.observe(DownHops({2}));
  EXPECT_EQ(wakeup.observe(health::AllUsable{}), Woken{1});
  EXPECT_EQ(wakeup.observe(health::AllUsable{}), Woken{});
  wakeup.observe(DownHops({2}));  // down again, then back: woken again
  EXPECT_EQ(wakeup.observe(health::AllUsable{}), Woken{1});
}

TEST(RouteWakeup, HopsNoRouteListsWakeNothing) {
  conf::Config config;
  for (int i = 0; i < 3; ++i) config.hops.push_back({.name = "h" + std::to_string(i)});
  config.routes.push_back({.name = "r", .domains = {"*"}, .hops = {{"h0", 10, 1}}});
  const RouteTable table = RouteTable::build(config).value();
  RouteWakeup wakeup(table, 3);
  wakeup.observe(DownHops({1, 2}));
  EXPECT_EQ(wakeup.observe(health::AllUsable{}), Woken{});
}

}  // namespace
