// tests/routing/hop_selector_test.cpp — tier fallback, smooth weighted round robin,
// health and exclusion, and the explain plan.
#include "routing/hop_selector.hpp"

#include <gtest/gtest.h>

#include "tests/support/down_hops.hpp"

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "health/hop_health.hpp"

namespace {

using routing::HopSelector;
using routing::RouteTable;

using test_support::DownHops;

// Hops 0..5 named h0..h5; one outbound "*" route with the given entries.
RouteTable table_with(std::vector<conf::RouteHop> hops) {
  conf::Config config;
  for (int i = 0; i < 6; ++i) config.hops.push_back({.name = "h" + std::to_string(i)});
  config.routes.push_back({.name = "r", .domains = {"*"}, .hops = std::move(hops)});
  auto table = RouteTable::build(config);
  EXPECT_TRUE(table.has_value()) << (table ? "" : table.error());
  return table.value_or(RouteTable{});
}

std::map<std::size_t, int> count_picks(HopSelector& selector, const health::View& health,
                                       std::span<const std::size_t> exclude, int picks) {
  std::map<std::size_t, int> counts;
  for (int i = 0; i < picks; ++i) {
    auto hop = selector.pick(0, health, exclude);
    counts[hop ? *hop : 999]++;
  }
  return counts;
}

const health::AllUsable all_usable;

TEST(HopSelector, WeightsOneOneTwoGiveExactShares) {
  HopSelector selector(table_with({{"h0", 10, 1}, {"h1", 10, 1}, {"h2", 10, 2}}));
  const auto got = count_picks(selector, all_usable, {}, 4000);
  const std::map<std::size_t, int> want{{0, 1000}, {1, 1000}, {2, 2000}};
  EXPECT_EQ(got, want);
}

TEST(HopSelector, SmoothInterleavingNotBursts) {
  HopSelector selector(table_with({{"h0", 10, 5}, {"h1", 10, 1}, {"h2", 10, 1}}));
  std::vector<std::size_t> got;
  for (int i = 0; i < 7; ++i) got.push_back(*selector.pick(0, all_usable, {}));
  // nginx's documented sequence for weights 5,1,1: a a b a c a a.
  const std::vector<std::size_t> want{0, 0, 1, 0, 2, 0, 0};
  EXPECT_EQ(got, want);
}

TEST(HopSelector, EjectedHopLeavesTheOthersToShare) {
  HopSelector selector(table_with({{"h0", 10, 1}, {"h1", 10, 1}, {"h2", 10, 2}}));
  const auto t0 = std::chrono::steady_clock::time_point{std::chrono::hours{1}};
  health::PassiveEjection ejection(6, std::chrono::seconds{30}, std::chrono::seconds{300});
  ejection.record_failure(2, t0);
  const health::HopHealth during(ejection, t0 + std::chrono::seconds{10});
  EXPECT_EQ(count_picks(selector, during, {}, 4000),
            (std::map<std::size_t, int>{{0, 2000}, {1, 2000}}));
  // After the ejection ends the hop gets its share back.
  const health::HopHealth after(ejection, t0 + std::chrono::seconds{30});
  const auto got = count_picks(selector, after, {}, 4000);
  EXPECT_EQ(got, (std::map<std::size_t, int>{{0, 1000}, {1, 1000}, {2, 2000}}));
}

TEST(HopSelector, TierFallback) {
  const auto table = table_with({{"h0", 10, 1},
                                 {"h1", 10, 1},
                                 {"h2", 20, 1},
                                 {"h3", 20, 3},
                                 {"h4", 30, 1}});
  struct Case {
    const char* what;
    std::set<std::size_t> down;
    std::vector<std::size_t> exclude;
    std::set<std::size_t> want_picked;  // empty: nothing
  };
  const Case cases[] = {
      {"all healthy: first tier only", {}, {}, {0, 1}},
      {"one of first tier down", {0}, {}, {1}},
      {"first tier down", {0, 1}, {}, {2, 3}},
      {"first tier excluded", {}, {0, 1}, {2, 3}},
      {"first tier half down, half excluded", {0}, {1}, {2, 3}},
      {"excluded in second tier too", {0, 1}, {3}, {2}},
      {"two tiers gone", {0, 1, 2}, {3}, {4}},
      {"everything down", {0, 1, 2, 3, 4}, {}, {}},
      {"everything excluded", {}, {0, 1, 2, 3, 4}, {}},
      {"unrelated hops excluded", {}, {5}, {0, 1}},
  };
  for (const auto& c : cases) {
    HopSelector selector(table);
    const DownHops health(c.down);
    std::set<std::size_t> got;
    for (int i = 0; i < 40; ++i) {
      if (auto hop = selector.pick(0, health, c.exclude)) got.insert(*hop);
    }
    EXPECT_EQ(got, c.want_picked) << c.what;
  }
}

TEST(HopSelector, SecondTierSpreadByWeight) {
  HopSelector selector(table_with({{"h0", 10, 1}, {"h2", 20, 1}, {"h3", 20, 3}}));
  const DownHops health({0});
  EXPECT_EQ(count_picks(selector, health, {}, 400),
            (std::map<std::size_t, int>{{2, 100}, {3, 300}}));
}

TEST(HopSelector, ExcludeListSpreadsOverTheRest) {
  HopSelector selector(table_with({{"h0", 10, 1}, {"h1", 10, 1}, {"h2", 10, 2}}));
  const std::vector<std::size_t> exclude{0};
  EXPECT_EQ(count_picks(selector, all_usable, exclude, 300),
            (std::map<std::size_t, int>{{1, 100}, {2, 200}}));
}

TEST(HopSelector, RouteIndexOutOfRange) {
  HopSelector selector(table_with({{"h0", 10, 1}}));
  EXPECT_FALSE(selector.pick(1, all_usable, {}).has_value());
  EXPECT_TRUE(selector.plan(1, all_usable, {}).empty());
  HopSelector empty{RouteTable{}};
  EXPECT_FALSE(empty.pick(0, all_usable, {}).has_value());
}

TEST(HopSelector, OutlivesItsRouteTable) {
  std::optional<HopSelector> selector;
  {
    const auto table = table_with({{"h4", 10, 1}});
    selector.emplace(table);
  }
  EXPECT_EQ(selector->pick(0, all_usable, {}), std::optional<std::size_t>{4});
}

TEST(HopSelector, PlanOrdersByTierThenWeightAndFlagsSkips) {
  HopSelector selector(table_with({{"h4", 30, 1},
                                   {"h0", 10, 1},
                                   {"h1", 10, 5},
                                   {"h5", 10, 1},
                                   {"h2", 20, 2},
                                   {"h3", 20, 7}}));
  const DownHops health({1, 3});
  const std::vector<std::size_t> exclude{5, 4};
  const auto got = selector.plan(0, health, exclude);
  struct Want {
    std::size_t hop;
    std::uint32_t cost, weight;
    bool usable, excluded;
  };
  const Want want[] = {
      {1, 10, 5, false, false}, {0, 10, 1, true, false}, {5, 10, 1, true, true},
      {3, 20, 7, false, false}, {2, 20, 2, true, false}, {4, 30, 1, true, true},
  };
  ASSERT_EQ(got.size(), std::size(want));
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].hop, want[i].hop) << i;
    EXPECT_EQ(got[i].cost, want[i].cost) << i;
    EXPECT_EQ(got[i].weight, want[i].weight) << i;
    EXPECT_EQ(got[i].usable, want[i].usable) << i;
    EXPECT_EQ(got[i].excluded, want[i].excluded) << i;
  }
  // plan() does not advance the round robin.
  HopSelector fresh(table_with({{"h0", 10, 1}, {"h1", 10, 1}}));
  (void)fresh.plan(0, all_usable, {});
  EXPECT_EQ(fresh.pick(0, all_usable, {}), std::optional<std::size_t>{0});
  EXPECT_EQ(fresh.pick(0, all_usable, {}), std::optional<std::size_t>{1});
}

}  // namespace

// --- least outstanding ------------------------------------------------------------

namespace {

routing::RouteTable least_outstanding_table(std::vector<conf::RouteHop> hops) {
  conf::Config config;
  for (int i = 0; i < 6; ++i) config.hops.push_back({.name = "h" + std::to_string(i)});
  conf::RouteConfig route{.name = "r", .domains = {"*"}, .hops = std::move(hops)};
  route.balance = conf::RouteConfig::Balance::least_outstanding;
  config.routes.push_back(std::move(route));
  auto table = routing::RouteTable::build(config);
  EXPECT_TRUE(table.has_value());
  return table.value_or(routing::RouteTable{});
}

TEST(HopSelectorLeastOutstanding, PicksTheLeastLoadedHopOfTheTier) {
  HopSelector selector(least_outstanding_table({{"h0", 10, 1}, {"h1", 10, 1}, {"h2", 10, 1}, {"h3", 20, 1}}));
  const std::vector<std::uint32_t> load{5, 1, 3, 0};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(selector.pick(0, all_usable, {}, load), 1u);  // h3 is a worse tier
}

TEST(HopSelectorLeastOutstanding, WeightScalesTheLoad) {
  HopSelector selector(least_outstanding_table({{"h0", 10, 1}, {"h1", 10, 4}}));
  // (2+1)/1 = 3 versus (7+1)/4 = 2: the heavier-weighted hop still wins.
  EXPECT_EQ(selector.pick(0, all_usable, {}, std::vector<std::uint32_t>{2, 7}), 1u);
  // (1+1)/1 = 2 versus (9+1)/4 = 2.5.
  EXPECT_EQ(selector.pick(0, all_usable, {}, std::vector<std::uint32_t>{1, 9}), 0u);
}

TEST(HopSelectorLeastOutstanding, EqualLoadRotatesLikeRoundRobin) {
  HopSelector selector(least_outstanding_table({{"h0", 10, 1}, {"h1", 10, 1}, {"h2", 10, 1}}));
  const std::vector<std::uint32_t> idle{0, 0, 0};
  std::map<std::size_t, int> counts;
  for (int i = 0; i < 300; ++i) counts[*selector.pick(0, all_usable, {}, idle)]++;
  EXPECT_EQ(counts, (std::map<std::size_t, int>{{0, 100}, {1, 100}, {2, 100}}));
}

TEST(HopSelectorLeastOutstanding, SimulatedSlowHopGetsLessWork) {
  // h0 finishes a transaction every pick, h1 holds its transactions for 3 picks: the
  // selector should send h1 about a third of the traffic or less.
  HopSelector selector(least_outstanding_table({{"h0", 10, 1}, {"h1", 10, 1}}));
  std::vector<std::uint32_t> load{0, 0};
  std::vector<int> h1_finish;
  std::map<std::size_t, int> counts;
  for (int t = 0; t < 900; ++t) {
    std::erase_if(h1_finish, [&](int when) {
      if (when > t) return false;
      --load[1];
      return true;
    });
    const auto hop = selector.pick(0, all_usable, {}, load);
    ASSERT_TRUE(hop);
    counts[*hop]++;
    if (*hop == 1) {
      ++load[1];
      h1_finish.push_back(t + 3);
    }
  }
  EXPECT_GE(counts[0], counts[1] * 2) << counts[0] << " vs " << counts[1];  // WRR would give 1:1
  EXPECT_GT(counts[1], 0);
}

TEST(HopSelectorLeastOutstanding, HealthAndExclusionStillApply) {
  HopSelector selector(least_outstanding_table({{"h0", 10, 1}, {"h1", 10, 1}, {"h2", 20, 1}}));
  const DownHops h1_down({1});
  const std::vector<std::size_t> exclude{0};
  EXPECT_EQ(selector.pick(0, h1_down, exclude, std::vector<std::uint32_t>{0, 0, 50}), 2u);
  EXPECT_FALSE(selector.pick(0, DownHops({0, 1, 2}), {}, std::vector<std::uint32_t>{}));
}

}  // namespace
