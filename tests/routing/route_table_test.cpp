// tests/routing/route_table_test.cpp — building the route table from config and
// matching (direction, domain) to the most specific route.
#include "routing/route_table.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using conf::Direction;
using routing::RouteTable;

conf::Config config_with_routes(std::vector<conf::RouteConfig> routes) {
  conf::Config config;
  for (const char* name : {"a", "b", "c", "d"}) config.hops.push_back({.name = name});
  config.routes = std::move(routes);
  return config;
}

conf::RouteConfig route(std::string name, Direction direction,
                        std::vector<std::string> domains) {
  return {.name = std::move(name),
          .direction = direction,
          .domains = std::move(domains),
          .hops = {{.hop = "a"}}};
}

RouteTable build_ok(const conf::Config& config) {
  auto table = RouteTable::build(config);
  EXPECT_TRUE(table.has_value()) << (table ? "" : table.error());
  return table.value_or(RouteTable{});
}

TEST(RouteTableBuild, ResolvesHopsAndSortsTiersStably) {
  auto config = config_with_routes({{.name = "r",
                                     .direction = Direction::outbound,
                                     .domains = {"*"},
                                     .hops = {{.hop = "c", .cost = 20, .weight = 1},
                                              {.hop = "a", .cost = 10, .weight = 3},
                                              {.hop = "d", .cost = 20, .weight = 2},
                                              {.hop = "b", .cost = 10, .weight = 1}}}});
  const auto table = build_ok(config);
  ASSERT_EQ(table.routes().size(), 1u);
  const auto& hops = table.routes()[0].hops;
  ASSERT_EQ(hops.size(), 4u);
  struct Want {
    std::size_t hop;
    std::uint32_t cost, weight;
  };
  const Want want[] = {{0, 10, 3}, {1, 10, 1}, {2, 20, 1}, {3, 20, 2}};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(hops[i].hop, want[i].hop) << i;
    EXPECT_EQ(hops[i].cost, want[i].cost) << i;
    EXPECT_EQ(hops[i].weight, want[i].weight) << i;
  }
  EXPECT_EQ(table.routes()[0].name, "r");
  EXPECT_EQ(table.routes()[0].direction, Direction::outbound);
}

TEST(RouteTableBuild, ReportsEveryProblem) {
  auto config = config_with_routes({
      {.name = "good", .domains = {"*"}, .hops = {{.hop = "a"}}},
      {.name = "r1", .domains = {"*foo"}, .hops = {{.hop = "nope"}}},
      {.name = "r2", .domains = {}, .hops = {}},
      {.name = "r3", .domains = {"x.test"}, .hops = {{.hop = "a"}, {.hop = "a", .cost = 20}}},
      {.name = "r4", .domains = {"y.test"}, .hops = {{.hop = "b", .weight = 0}}},
  });
  auto got = RouteTable::build(config);
  ASSERT_FALSE(got.has_value());
  const std::string wants[] = {
      "route 'r1': domain '*foo'",  "route 'r1': unknown hop 'nope'",
      "route 'r2': no domains",     "route 'r2': no hops",
      "route 'r3': hop 'a' listed twice", "route 'r4': hop 'b' has weight 0",
  };
  for (const auto& want : wants) {
    EXPECT_NE(got.error().find(want), std::string::npos) << want << " in: " << got.error();
  }
  EXPECT_EQ(got.error().find("'good'"), std::string::npos) << got.error();
}

TEST(RouteTableBuild, EmptyConfigGivesEmptyTable) {
  const auto table = build_ok(conf::Config{});
  EXPECT_TRUE(table.routes().empty());
  EXPECT_EQ(table.match(Direction::outbound, "example.com"), nullptr);
}

TEST(RouteTableMatch, SpecificityTable) {
  const auto table = build_ok(config_with_routes({
      route("out-default", Direction::outbound, {"*"}),
      route("out-example-subs", Direction::outbound, {"*.example.com"}),
      route("out-deep-subs", Direction::outbound, {"*.eu.example.com"}),
      route("out-example", Direction::outbound, {"example.com", "example.net"}),
      route("out-partner", Direction::outbound, {"partner.test", "*.partner.test"}),
      route("out-default-again", Direction::outbound, {"*"}),         // tie: loses to first
      route("out-example-again", Direction::outbound, {"example.com"}),  // tie: loses
      route("in-org", Direction::inbound, {"example.com", "*.example.com"}),
  }));
  struct Case {
    Direction direction;
    const char* domain;
    const char* want;  // nullptr: no route
  };
  const Case cases[] = {
      {Direction::outbound, "elsewhere.test", "out-default"},
      {Direction::outbound, "example.com", "out-example"},
      {Direction::outbound, "EXAMPLE.COM.", "out-example"},
      {Direction::outbound, "example.net", "out-example"},
      {Direction::outbound, "www.example.com", "out-example-subs"},
      {Direction::outbound, "a.b.example.com", "out-example-subs"},
      {Direction::outbound, "paris.eu.example.com", "out-deep-subs"},
      {Direction::outbound, "eu.example.com", "out-example-subs"},  // *.eu.x is not eu.x
      {Direction::outbound, "partner.test", "out-partner"},
      {Direction::outbound, "mx.partner.test", "out-partner"},
      {Direction::outbound, "[192.0.2.1]", "out-default"},
      {Direction::outbound, "", nullptr},
      {Direction::inbound, "example.com", "in-org"},
      {Direction::inbound, "Sub.Example.Com", "in-org"},
      {Direction::inbound, "elsewhere.test", nullptr},  // no inbound default route
      {Direction::inbound, "example.net", nullptr},
  };
  for (const auto& c : cases) {
    const routing::Route* got = table.match(c.direction, c.domain);
    const std::string label = std::string(conf::to_string(c.direction)) + " " + c.domain;
    if (c.want == nullptr) {
      EXPECT_EQ(got, nullptr) << label << " got " << (got ? got->name : "");
    } else {
      ASSERT_NE(got, nullptr) << label;
      EXPECT_EQ(got->name, c.want) << label;
    }
  }
}

TEST(RouteTableMatch, IndexOf) {
  const auto table = build_ok(config_with_routes({
      route("first", Direction::outbound, {"*"}),
      route("second", Direction::inbound, {"*"}),
  }));
  const auto* in = table.match(Direction::inbound, "x.test");
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(table.index_of(*in), 1u);
  EXPECT_EQ(table.index_of(table.routes()[0]), 0u);
  const routing::Route stranger;
  EXPECT_EQ(table.index_of(stranger), table.routes().size());
}

}  // namespace
