// routing/hop_selector.cpp — cost tiers, then smooth weighted round robin.
#include "routing/hop_selector.hpp"

#include <algorithm>

namespace routing {
namespace {

bool is_excluded(std::span<const std::size_t> exclude, std::size_t hop) noexcept {
  return std::ranges::find(exclude, hop) != exclude.end();
}

}  // namespace

HopSelector::HopSelector(const RouteTable& table) {
  routes_.reserve(table.routes().size());
  for (const auto& route : table.routes()) {
    std::vector<Candidate> candidates;
    candidates.reserve(route.hops.size());
    for (const auto& hop : route.hops) candidates.push_back({.hop = hop});
    routes_.push_back(std::move(candidates));
  }
}

std::optional<std::size_t> HopSelector::pick(std::size_t route_index,
                                             const health::View& health,
                                             std::span<const std::size_t> exclude) {
  if (route_index >= routes_.size()) return std::nullopt;
  auto& candidates = routes_[route_index];

  // Hops are sorted by cost, so each tier is a contiguous run.
  for (std::size_t tier_begin = 0; tier_begin < candidates.size();) {
    const std::uint32_t cost = candidates[tier_begin].hop.cost;
    std::size_t tier_end = tier_begin;
    while (tier_end < candidates.size() && candidates[tier_end].hop.cost == cost) ++tier_end;

    Candidate* best = nullptr;
    std::int64_t total = 0;
    for (std::size_t i = tier_begin; i < tier_end; ++i) {
      Candidate& c = candidates[i];
      if (!health.usable(c.hop.hop) || is_excluded(exclude, c.hop.hop)) continue;
      // Hops left out keep their running value, as nginx does for down peers, so a hop
      // that comes back resumes its share without a burst.
      c.current += c.hop.weight;
      total += c.hop.weight;
      if (best == nullptr || c.current > best->current) best = &c;
    }
    if (best != nullptr) {
      best->current -= total;
      return best->hop.hop;
    }
    tier_begin = tier_end;
  }
  return std::nullopt;
}

std::vector<PlannedHop> HopSelector::plan(std::size_t route_index, const health::View& health,
                                          std::span<const std::size_t> exclude) const {
  std::vector<PlannedHop> planned;
  if (route_index >= routes_.size()) return planned;
  for (const auto& c : routes_[route_index]) {
    planned.push_back({.hop = c.hop.hop,
                       .cost = c.hop.cost,
                       .weight = c.hop.weight,
                       .usable = health.usable(c.hop.hop),
                       .excluded = is_excluded(exclude, c.hop.hop)});
  }
  // Already in cost order; stable so equal weights keep the file order.
  std::ranges::stable_sort(planned, [](const PlannedHop& a, const PlannedHop& b) {
    return a.cost != b.cost ? a.cost < b.cost : a.weight > b.weight;
  });
  return planned;
}

}  // namespace routing
