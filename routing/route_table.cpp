// routing/route_table.cpp — compiling routes and finding the most specific one.
#include "routing/route_table.hpp"

#include <algorithm>
#include <functional>

namespace routing {
namespace {

void add_problem(std::string& problems, const std::string& text) {
  if (!problems.empty()) problems += "; ";
  problems += text;
}

}  // namespace

std::expected<RouteTable, std::string> RouteTable::build(const conf::Config& config) {
  RouteTable table;
  std::string problems;

  for (const auto& source : config.routes) {
    const std::string where = "route '" + source.name + "': ";
    Route route{.name = source.name, .direction = source.direction};
    route.balance = source.balance;
    route.when_all_down = source.when_all_down;

    if (source.domains.empty()) add_problem(problems, where + "no domains");
    for (const auto& text : source.domains) {
      if (auto pattern = conf::DomainPattern::parse(text)) {
        route.domains.push_back(std::move(*pattern));
      } else {
        add_problem(problems, where + "domain '" + text +
                                  "' is not a domain pattern (*, example.com, *.example.com)");
      }
    }

    if (source.hops.empty()) add_problem(problems, where + "no hops");
    for (const auto& entry : source.hops) {
      const conf::HopConfig* hop = config.find_hop(entry.hop);
      if (hop == nullptr) {
        add_problem(problems, where + "unknown hop '" + entry.hop + "'");
        continue;
      }
      const auto index = static_cast<std::size_t>(hop - config.hops.data());
      if (std::ranges::find(route.hops, index, &RouteHop::hop) != route.hops.end()) {
        add_problem(problems, where + "hop '" + entry.hop + "' listed twice");
        continue;
      }
      if (entry.weight == 0) {
        add_problem(problems, where + "hop '" + entry.hop + "' has weight 0 (must be > 0)");
        continue;
      }
      route.hops.push_back({.hop = index, .cost = entry.cost, .weight = entry.weight});
    }
    // Stable: within a tier, the order in the file is the tie-break everywhere else.
    std::ranges::stable_sort(route.hops, std::less{}, &RouteHop::cost);
    table.routes_.push_back(std::move(route));
  }

  if (!problems.empty()) return std::unexpected(std::move(problems));
  return table;
}

const Route* RouteTable::match(conf::Direction direction,
                               std::string_view domain) const noexcept {
  const Route* best = nullptr;
  int best_specificity = -1;
  for (const auto& route : routes_) {
    if (route.direction != direction) continue;
    for (const auto& pattern : route.domains) {
      // Strictly greater: an equally specific later route never displaces an earlier one.
      if (pattern.specificity() > best_specificity && pattern.matches(domain)) {
        best = &route;
        best_specificity = pattern.specificity();
      }
    }
  }
  return best;
}

std::size_t RouteTable::index_of(const Route& route) const noexcept {
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (&routes_[i] == &route) return i;
  }
  return routes_.size();
}

}  // namespace routing
