// relay/delivery/delivery_engine_scan.cpp — the delivery engine's retry scanner.
//
// Owns: claiming due recipients from the queue once a second (or at once while a batch
// comes back full; on the shared queue, logging mail taken over from a node whose lease
// ran out), and releasing recipients parked on a route when one of its hops is
// usable again — in full for a hop that came back or proved alive, as a small trial for
// a hop whose passive ejection merely ran out.
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <set>

#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/delivery_engine_internal.hpp"
#include "relay/delivery/queue_bridge.hpp"

namespace relay {
namespace asio = boost::asio;

asio::awaitable<void> DeliveryEngine::scan() {
  scanning_ = true;
  // This engine's routes may differ from those the recipients were parked on (a reload):
  // every parked recipient gets one look under the new configuration.
  co_await release_route(0, false);
  while (!stopped_) {
    co_await release_woken_routes();
    std::size_t claimed = 0;
    const std::size_t room = config_.delivery.max_in_flight > in_flight_ ? config_.delivery.max_in_flight - in_flight_ : 0;
    if (room > 0) {
      const auto now = unix_now_ms();
      auto result = co_await claim_due(queue_, now, now + queue::lease_time(config_.queue, local_lease_ms), std::min(room, claim_batch));
      if (!result) {
        spdlog::error("queue scan failed: {}", result.error().message());
      } else {
        claimed = result->size();
        for (auto& message : *result) {
          // The shared queue: mail of a node that died (or lost the database) comes back
          // here once its lease ran out; its administrators look for this line.
          if (!message.lease_expired_for.empty()) {
            spdlog::info("qid={} lease of node={} ran out: {} recipient(s) taken over", queue::format_queue_id(message.id),
                         message.lease_expired_for, message.recipients.size());
          }
          submit(std::move(message));
        }
      }
    }
    if (claimed == claim_batch) continue;  // more are due: keep going
    scan_timer_.expires_after(scan_interval);
    co_await scan_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  scanning_ = false;
}

asio::awaitable<void> DeliveryEngine::release_woken_routes() {
  // A hop whose path came UP, or that a delivery or its own check proved alive, releases
  // everything parked on its routes. A hop whose passive ejection merely ran out has
  // proven nothing: it gets a few parked recipients as a trial (the circuit breaker's
  // half-open state), and the rest follow once one of them gets through. Otherwise every
  // ejection end of a dead hop would claim and re-park the whole backlog.
  std::vector<std::size_t> full = std::exchange(hops_proven_, {});
  std::vector<std::size_t> trial;
  std::set<std::size_t> logged;
  for (std::size_t hop : full)
    if (logged.insert(hop).second)
      spdlog::info("hop={} usable again: a delivery or its own check got through", config_.hops[hop].name);
  for (std::size_t hop : wakeup_.observe(health_now().view)) {
    const bool ejection_ended = ejection_.ejected_until(hop).has_value();
    (ejection_ended ? trial : full).push_back(hop);
    if (logged.insert(hop).second)
      spdlog::info("hop={} usable again{}", config_.hops[hop].name,
                   ejection_ended ? ": its ejection ended (half-open: a trial of parked recipients goes to it)" : "");
  }
  const std::vector<std::size_t> full_routes = wakeup_.routes_of(full);
  for (std::size_t route : full_routes) co_await release_route(static_cast<std::uint32_t>(route) + 1, false);
  for (std::size_t route : wakeup_.routes_of(trial)) {
    if (std::ranges::binary_search(full_routes, route)) continue;
    std::string names;  // the hops of this route on trial, for the log
    for (const auto& member : routes_.routes()[route].hops)
      if (std::ranges::find(trial, member.hop) != trial.end())
        names += (names.empty() ? "" : ",") + config_.hops[member.hop].name;
    co_await release_route(static_cast<std::uint32_t>(route) + 1, true, names);
  }
}

asio::awaitable<void> DeliveryEngine::release_route(std::uint32_t route_tag, bool trial, std::string trial_hops) {
  // Small rounds, each its own queue transaction, so commits from sessions interleave with
  // a release of a large backlog. Bounded: anything left waits its parked time.
  constexpr std::size_t batch = 1000;
  constexpr std::size_t trial_size = 10;
  constexpr std::size_t max_rounds = 10'000;
  std::size_t total = 0;
  for (std::size_t round = 0; round < max_rounds && !stopped_; ++round) {
    const std::size_t limit = trial ? trial_size : batch;
    auto released = co_await release_parked(queue_, route_tag, unix_now_ms(), limit);
    if (!released) {
      spdlog::error("cannot release parked recipients: {}; they wait for their retry time", released.error().message());
      break;
    }
    total += *released;
    if (trial || *released < limit) break;
  }
  if (total == 0) co_return;
  if (route_tag == 0) {
    spdlog::info("released {} parked recipients for the current configuration", total);
    co_return;
  }
  const routing::Route& route = routes_.routes()[route_tag - 1];
  direction(route.direction).released += total;
  if (trial) {
    spdlog::info("route={} has a hop whose ejection ended; released {} parked recipients as a trial of hop={}",
                 route.name, total, trial_hops);
  } else {
    spdlog::info("route={} has a usable hop again; released {} parked recipients", route.name, total);
  }
}

}  // namespace relay
