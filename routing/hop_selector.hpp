// routing/hop_selector.hpp — choosing the next hop of a route.
//
// Owns: per-route smooth weighted round-robin state (nginx's algorithm: every pick adds
// each candidate's weight to its current value, takes the largest, and subtracts the
// candidates' total from the winner). It is deterministic: weights 1:1:2 give exactly
// 1:1:2 over every 4 picks, interleaved, not bursty.
// Tiers are tried in cost order: the first tier with a hop that health calls usable and
// the caller has not excluded (hops already tried for this message) is used, and load
// is spread over those hops only. When no hop qualifies, pick() returns nothing; whether
// to defer or try an unhealthy hop anyway is the caller's decision.
// With `balance = "least_outstanding"` the caller passes each hop's outstanding count
// (transactions queued or running on it) and the hop with the smallest
// (outstanding + 1) / weight wins; ties go to the SWRR order, so an idle tier still rotates.
// Keeps its own copy of each route's hops, so the RouteTable may go away; route indices
// are those of the RouteTable it was built from. Not thread-safe: pick() mutates state
// and must be called from one thread (the delivery engine's); plan() only reads.
// Performs no I/O. See also: routing/route_table.hpp, health/view.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "health/view.hpp"
#include "routing/route_table.hpp"

namespace routing {

/// One hop of a route as `plan` would try it, with the reasons it might be skipped.
struct PlannedHop {
  std::size_t hop = 0;        // index into conf::Config::hops
  std::uint32_t cost = 0;
  std::uint32_t weight = 0;
  bool usable = false;        // health says yes
  bool excluded = false;      // in the caller's exclude list
};

class HopSelector {
 public:
  explicit HopSelector(const RouteTable& table);

  /// Picks a hop of route `route_index` and advances that route's round-robin state.
  /// `exclude` holds conf hop indices not to use (e.g. already tried for this message).
  /// @return the conf hop index, or nullopt when the route has no usable, non-excluded
  /// hop or `route_index` is out of range.
  std::optional<std::size_t> pick(std::size_t route_index, const health::View& health,
                                  std::span<const std::size_t> exclude);

  /// As above; `outstanding[hop]` (conf hop index; missing entries count as 0) is used
  /// when the route balances by least outstanding, ignored for weighted round robin.
  std::optional<std::size_t> pick(std::size_t route_index, const health::View& health,
                                  std::span<const std::size_t> exclude,
                                  std::span<const std::uint32_t> outstanding);

  /// Every hop of the route in the order it would be considered: tiers by cost, within a
  /// tier by descending weight (file order on equal weight). Changes no state. Empty when
  /// `route_index` is out of range. For `route explain`.
  std::vector<PlannedHop> plan(std::size_t route_index, const health::View& health,
                               std::span<const std::size_t> exclude) const;

 private:
  struct Candidate {
    RouteHop hop;
    std::int64_t current = 0;  // SWRR running value
  };
  std::vector<std::vector<Candidate>> routes_;  // per route, hops sorted by cost
  std::vector<bool> least_outstanding_;         // per route
};

}  // namespace routing
