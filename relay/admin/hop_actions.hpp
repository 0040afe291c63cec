// relay/admin/hop_actions.hpp — an administrator suspends a hop or forces a path of the running daemon.
//
// Owns: the admin API's hop suspend/resume (Exchange's Suspend-Queue/Resume-Queue): the hop
// named, the suspension set on the delivery engine (the same health::HopSuspension a
// suspend_on reply uses, so hop state, health.json and /metrics show it as "suspended"),
// its audit line, and the hop's state read back afterwards.
// And a health path forced UP or DOWN for a duration (maintenance now, through
// health::Monitor::force_path: no checks, no alerts; hops of a path forced DOWN show as
// "suspended", as in a maintenance window), or released.
// A configuration reload carries every suspension still running to the engine of the new
// configuration (carry_hop_suspensions), for the hops it still has, until the same end.
// Never: parses requests (relay/admin/api_request.cpp) or persists the suspension (it lasts
// until its end, a resume or a restart: docs/metrics.md).
// Threading: the io_context thread (the engine's). Errors: ApiError 404 unknown hop,
// 409 resume of a hop that is not suspended.
#pragma once

#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "health/monitor.hpp"
#include "health/report.hpp"
#include "relay/admin/api_request.hpp"

namespace relay {
class DeliveryEngine;
}

namespace relay::admin {

std::expected<HopActionResult, ApiError> run_hop_action(const conf::Config& config, DeliveryEngine& delivery,
                                                       const std::function<std::vector<health::HopState>()>& states,
                                                       const HopAction& action, std::string_view who);

/// On a reload: every hop suspended in `from` (by an administrator or a suspend_on reply)
/// that `to_config` still has (by name) is suspended in `to` until the same time, for the
/// same reason. Returns the names of the hops carried over.
std::vector<std::string> carry_hop_suspensions(const conf::Config& from_config, const DeliveryEngine& from,
                                               const conf::Config& to_config, DeliveryEngine& to);

/// 404 unknown path, 409 release of a path that is not forced.
std::expected<PathActionResult, ApiError> run_path_action(health::Monitor& monitor, const PathAction& action,
                                                         std::string_view who);

}  // namespace relay::admin
