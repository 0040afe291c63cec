// relay/admin/hop_actions.cpp — an administrator suspends a hop or forces a path of the running daemon.
#include "relay/admin/hop_actions.hpp"

#include <algorithm>
#include <chrono>
#include <spdlog/spdlog.h>

#include "health/view.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/queue_bridge.hpp"

namespace relay::admin {

std::expected<HopActionResult, ApiError> run_hop_action(const conf::Config& config, DeliveryEngine& delivery,
                                                       const std::function<std::vector<health::HopState>()>& states,
                                                       const HopAction& action, std::string_view who) {
  const auto it = std::ranges::find(config.hops, action.hop, &conf::HopConfig::name);
  if (it == config.hops.end()) return std::unexpected(ApiError{404, "not_found", "no hop named \"" + action.hop + "\""});
  const auto hop = static_cast<std::size_t>(it - config.hops.begin());
  const std::string reason = action.reason.empty() ? std::string("no reason given") : action.reason;
  if (action.suspend) {
    // The reason shows where a reply-asked suspension shows its reply (health.json suspended_by).
    const std::string why = "suspended by administrator (" + std::string(who) + "): " + reason;
    delivery.suspend_hop(hop, std::chrono::steady_clock::now() + std::chrono::seconds(action.seconds), why);
    spdlog::warn("hop admin {} action=\"suspend\" hop={} for={}s until={} reason=\"{}\"", who, action.hop,
                 action.seconds, health::format_utc(unix_now_ms() + action.seconds * 1000), reason);
  } else if (!delivery.resume_hop(hop)) {
    spdlog::warn("hop admin {} action=\"resume\" hop={} result=refused reason=\"not suspended\"", who, action.hop);
    return std::unexpected(ApiError{409, "conflict", "hop \"" + action.hop + "\" is not suspended"});
  } else {
    spdlog::info("hop admin {} action=\"resume\" hop={} reason=\"{}\"", who, action.hop, reason);
  }
  HopActionResult out{action.hop, "usable", 0, action.suspend ? reason : std::string()};
  const auto now_states = states();
  if (const auto s = std::ranges::find(now_states, action.hop, &health::HopState::name); s != now_states.end()) {
    out.state = std::string(health::to_string(s->condition));
    out.suspended_until = s->suspended_until / 1000;
  }
  return out;
}

std::vector<std::string> carry_hop_suspensions(const conf::Config& from_config, const DeliveryEngine& from,
                                               const conf::Config& to_config, DeliveryEngine& to) {
  std::vector<std::string> carried;
  const auto now = std::chrono::steady_clock::now();
  const health::HopSuspension& suspended = from.suspension();
  for (std::size_t hop = 0; hop < from_config.hops.size(); ++hop) {
    if (!suspended.suspended(hop, now)) continue;
    const auto& name = from_config.hops[hop].name;
    const auto it = std::ranges::find(to_config.hops, name, &conf::HopConfig::name);
    if (it == to_config.hops.end()) continue;  // the hop is gone with the old configuration
    to.suspend_hop(static_cast<std::size_t>(it - to_config.hops.begin()), suspended.until(hop),
                   suspended.reason(hop));
    carried.push_back(name);
  }
  return carried;
}

std::expected<PathActionResult, ApiError> run_path_action(health::Monitor& monitor, const PathAction& action,
                                                         std::string_view who) {
  const std::string reason = action.reason.empty() ? std::string("no reason given") : action.reason;
  const auto until = std::chrono::system_clock::now() + std::chrono::seconds(action.seconds);
  const std::optional<health::State> state =
      action.release ? std::nullopt : std::optional(action.up ? health::State::up : health::State::down);
  const auto done = monitor.force_path(action.path, state, until, reason);
  const std::string verb = action.release ? "release" : action.up ? "force up" : "force down";
  if (!done) {
    const bool unknown = done.error().starts_with("no health path");
    spdlog::warn("path admin {} action=\"{}\" path={} result=refused reason=\"{}\"", who, verb, action.path, done.error());
    return std::unexpected(ApiError{unknown ? 404 : 409, unknown ? "not_found" : "conflict", done.error()});
  }
  if (action.release)
    spdlog::info("path admin {} action=\"release\" path={} reason=\"{}\"", who, action.path, reason);
  else
    spdlog::warn("path admin {} action=\"{}\" path={} for={}s until={} reason=\"{}\"", who, verb, action.path,
                 action.seconds, health::format_utc(unix_now_ms() + action.seconds * 1000), reason);
  PathActionResult out{action.path, "", 0, action.release ? std::string() : reason};
  if (const auto snapshot = monitor.snapshot())
    if (const auto p = std::ranges::find(snapshot->paths, action.path, &health::PathStatus::name); p != snapshot->paths.end())
      out.state = std::string(health::to_string(p->state));
  if (const auto forced = monitor.forced_until(action.path); forced != std::chrono::system_clock::time_point{})
    out.forced_until = std::chrono::duration_cast<std::chrono::seconds>(forced.time_since_epoch()).count();
  return out;
}

}  // namespace relay::admin
