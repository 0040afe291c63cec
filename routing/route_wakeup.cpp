// routing/route_wakeup.cpp — hop transitions to the routes they wake.
#include "routing/route_wakeup.hpp"

#include <algorithm>

namespace routing {

RouteWakeup::RouteWakeup(const RouteTable& routes, std::size_t hop_count)
    : routes_of_hop_(hop_count), usable_(hop_count, true) {
  for (std::size_t r = 0; r < routes.routes().size(); ++r)
    for (const RouteHop& hop : routes.routes()[r].hops)
      if (hop.hop < hop_count) routes_of_hop_[hop.hop].push_back(r);
}

std::vector<std::size_t> RouteWakeup::observe(const health::View& view) {
  std::vector<std::size_t> woken;
  for (std::size_t hop = 0; hop < usable_.size(); ++hop) {
    const bool now = view.usable(hop);
    if (now && !usable_[hop]) woken.push_back(hop);
    usable_[hop] = now;
  }
  return woken;
}

std::vector<std::size_t> RouteWakeup::routes_of(const std::vector<std::size_t>& hops) const {
  std::vector<std::size_t> routes;
  for (std::size_t hop : hops)
    if (hop < routes_of_hop_.size()) routes.insert(routes.end(), routes_of_hop_[hop].begin(), routes_of_hop_[hop].end());
  std::ranges::sort(routes);
  const auto [first, last] = std::ranges::unique(routes);
  routes.erase(first, last);
  return routes;
}

}  // namespace routing
