// relay/cli/route_explain.hpp — `hubrelay route explain ADDRESS [--direction D] [--config F]`.
//
// Owns: the explanation of how one recipient address would be routed: the direction
// (given, or inferred: an accepted domain is inbound mail, anything else outbound), the
// route that matches and the pattern that made it win, every hop of the route with its
// tier (cost), weight, balance mode, health and the reason it would or would not be
// used, and the order in which hops would be tried for a message now (first pick, then
// the failover order if that hop failed, as the delivery engine does).
// explain_route() is pure: config, health view and address in, text out. Without a
// running daemon the CLI uses health::AllUsable and says so.
// route_command() is the CLI wrapper: argument parsing, config loading, printing.
// Exit status: 0 routed, 1 no route matches, 2 usage or configuration errors.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "health/view.hpp"

namespace relay {

struct RouteExplanation {
  int status = 0;    // 0: a route matched; 1: no route
  std::string text;  // the report, newline-terminated lines
};

RouteExplanation explain_route(const conf::Config& config, std::string_view address,
                               std::optional<conf::Direction> direction, const health::View& health,
                               std::string_view health_source);

/// `words`: everything after "route". Prints to stdout/stderr and returns the exit status.
int route_command(const std::vector<std::string>& words, const std::string& default_config);

}  // namespace relay
