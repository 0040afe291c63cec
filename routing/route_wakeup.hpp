// routing/route_wakeup.hpp — which routes gained a usable hop since the last look.
//
// Owns: the last seen usable/unusable state of every hop, its unusable → usable
// transitions, and which routes list a hop. Recipients that found
// no usable hop are parked in the queue for long (queue schema v5, docs/routing.md "When
// no hop is usable"); the delivery engine asks this once a second and releases what is
// parked on the routes it names, so mail moves as soon as a path is back instead of
// being re-claimed and re-deferred every few seconds while the hop stays dead.
// Pure: the caller passes the health view of the instant it looked. Not thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "health/view.hpp"
#include "routing/route_table.hpp"

namespace routing {

class RouteWakeup {
 public:
  /// Every hop starts as "usable": only a transition seen by observe() wakes a route.
  RouteWakeup(const RouteTable& routes, std::size_t hop_count);

  /// Hops (ascending) that were unusable at the previous call and are usable in `view`.
  /// Records `view` as the new previous state.
  std::vector<std::size_t> observe(const health::View& view);

  /// Routes (indices into RouteTable::routes(), ascending, each once) that list any of
  /// `hops`.
  std::vector<std::size_t> routes_of(const std::vector<std::size_t>& hops) const;

 private:
  std::vector<std::vector<std::size_t>> routes_of_hop_;  // hop → routes listing it
  std::vector<bool> usable_;
};

}  // namespace routing
