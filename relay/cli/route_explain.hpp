// relay/cli/route_explain.hpp — `hubrelay route explain ADDRESS [--direction D] [--from A] [--config F]`.
//
// Owns: the explanation of how one recipient address would be routed: the direction
// (given, or inferred: an accepted domain is inbound mail, anything else outbound), the
// route that matches and the pattern that made it win, every hop of the route with its
// tier (cost), weight, balance mode, health and the reason it would or would not be
// used, and the order in which hops would be tried for a message now (first pick, then
// the failover order if that hop failed, as the delivery engine does), and the outbound
// TLS policy each hop would apply (relay/cli/tls_explain: for hops where DANE can apply,
// each host's TLSA state, from DNS facts a TlsFactsLookup gives).
// explain_route() is pure: config, hop health and address in, text out. Hop health is
// the running daemon's state (state_dir/health.json, read back by health::parse_state:
// usable / path down / check down / ejected, as `hubrelay health` shows them); when it
// cannot be had (no file, stale, unreadable) the CLI says why and explains with every hop
// assumed usable ("showing configuration only"). With --from, a "dkim:" line says which
// [dkim.NAME] keys would sign mail whose From: header is that address (dkim_explanation()).
// For outbound mail with MX hops under tls = auto or mta-sts, an "mta-sts:" line shows the
// recipient domain's stored MTA-STS policy (state_dir/mta-sts/DOMAIN) and how long it lasts.
// route_command() is the CLI wrapper: argument parsing, config and state loading, printing.
// Exit status: 0 routed, 1 no route matches, 2 usage or configuration errors.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "health/report.hpp"
#include "health/view.hpp"
#include "relay/cli/tls_explain.hpp"

namespace relay {

struct RouteExplanation {
  int status = 0;    // 0: a route matched; 1: no route
  std::string text;  // the report, newline-terminated lines
};

/// `tls_lookup`: asked for the DNS facts of each hop where DANE can apply; none: only
/// the hops' tls settings are shown.
RouteExplanation explain_route(const conf::Config& config, std::string_view address,
                               std::optional<conf::Direction> direction, const health::View& health,
                               std::string_view health_source, const TlsFactsLookup& tls_lookup = {});
/// With the daemon's state: each hop's condition and last error as the daemon wrote them.
/// A configured hop the state does not name (the configuration changed since) counts usable.
RouteExplanation explain_route(const conf::Config& config, std::string_view address,
                               std::optional<conf::Direction> direction, const health::DaemonState& state,
                               std::string_view health_source, const TlsFactsLookup& tls_lookup = {});

/// The "dkim:" line for a message with From: `from` received on a listener of `direction`:
/// the keys that would sign it (domain alignment and direction, as relay/dkim's signing
/// plan decides), or why none would. Pure.
std::string dkim_explanation(const conf::Config& config, std::string_view from, conf::Direction direction);

/// The "health:" line and the state to explain with, from the state file's text (nullopt:
/// no file) at wall time `now`. Error: the "daemon state not available: …" line.
std::expected<health::DaemonState, std::string> daemon_state_from(const std::optional<std::string>& file_text,
                                                                  std::string_view file_name, health::UnixMillis now);

/// `words`: everything after "route". Prints to stdout/stderr and returns the exit status.
/// `tls_lookup`: the resolver's answers for the outbound TLS lines (relay/cli/tls_lookup).
int route_command(const std::vector<std::string>& words, const std::string& default_config,
                  const TlsFactsLookup& tls_lookup = {});

}  // namespace relay
