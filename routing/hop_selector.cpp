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
    least_outstanding_.push_back(route.balance == conf::RouteConfig::Balance::least_outstanding);
  }
}

std::optional<std::size_t> HopSelector::pick(std::size_t route_index,
                                             const health::View& health,
                                             std::span<const std::size_t> exclude) {
  return pick(route_index, health, exclude, {});
}

std::optional<std::size_t> HopSelector::pick(std::size_t route_index,
                                             const health::View& health,
                                             std::span<const std::size_t> exclude,
                                             std::span<const std::uint32_t> outstanding) {
  if (route_index >= routes_.size()) return std::nullopt;
  auto& candidates = routes_[route_index];
  const bool by_load = least_outstanding_[route_index];
  const auto load_of = [&](const Candidate& c) -> std::uint64_t {
    return c.hop.hop < outstanding.size() ? outstanding[c.hop.hop] : 0;
  };
  // a is less loaded than b when (load_a + 1) / weight_a < (load_b + 1) / weight_b;
  // cross-multiplied to stay in integers. 0: equal.
  const auto compare_load = [&](const Candidate& a, const Candidate& b) -> int {
    const std::uint64_t left = (load_of(a) + 1) * b.hop.weight;
    const std::uint64_t right = (load_of(b) + 1) * a.hop.weight;
    return left < right ? -1 : (left > right ? 1 : 0);
  };

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
      if (best == nullptr) {
        best = &c;
      } else if (by_load) {
        const int order = compare_load(c, *best);
        if (order < 0 || (order == 0 && c.current > best->current)) best = &c;
      } else if (c.current > best->current) {
        best = &c;
      }
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
