// routing/route_table.hpp — (direction, recipient domain) → route, compiled from config.
//
// Owns: the routes of conf::Config with hop names resolved to indices into
// conf::Config::hops and hops sorted into cost tiers. Lookup picks, among the routes of
// the requested direction, the one whose best-matching domain pattern is the most
// specific (conf::DomainPattern::specificity: exact > longer "*.suffix" > "*"); on a tie
// the route written first in the file wins. A domain no route matches (including the
// empty domain) has no route: the caller decides what that means.
// Built once per configuration (and again on reload); immutable afterwards, so safe to
// read from any number of threads. Performs no I/O.
// Errors: build() reports every problem found, joined with "; ".
// See also: routing/hop_selector.hpp (choosing a hop of a route).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "conf/domain_pattern.hpp"

namespace routing {

struct RouteHop {
  std::size_t hop = 0;        // index into conf::Config::hops
  std::uint32_t cost = 0;     // tier: lower is preferred
  std::uint32_t weight = 1;   // share within the tier, > 0
};

struct Route {
  std::string name;
  conf::Direction direction = conf::Direction::outbound;
  std::vector<conf::DomainPattern> domains;
  std::vector<RouteHop> hops;  // sorted by cost; equal costs keep their order in the file
  conf::RouteConfig::Balance balance = conf::RouteConfig::Balance::weighted_round_robin;
  conf::RouteConfig::WhenAllDown when_all_down = conf::RouteConfig::WhenAllDown::queue;
};

class RouteTable {
 public:
  /// An empty table: no domain has a route.
  RouteTable() = default;

  /// Resolves hop names and parses domain patterns. Fails on an unknown hop, a hop listed
  /// twice in one route, a zero weight, an invalid pattern, or a route without domains
  /// or hops; the message names the route and the offending entry.
  static std::expected<RouteTable, std::string> build(const conf::Config& config);

  /// The route for `domain` (as returned by conf::domain_of; case and one trailing dot
  /// are ignored), or nullptr when no route of `direction` matches.
  const Route* match(conf::Direction direction, std::string_view domain) const noexcept;

  /// Position of `route` in routes(). Precondition: `route` belongs to this table;
  /// otherwise routes().size() is returned.
  std::size_t index_of(const Route& route) const noexcept;

  const std::vector<Route>& routes() const noexcept { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace routing
