// relay/cli/route_explain.cpp — the route explanation and its command line.
//
// Owns: the report of `hubrelay route explain`: direction inference, the matching route
// and winning pattern, per-hop tier/weight/health/reason lines and the try order,
// computed with a private HopSelector so nothing shared is disturbed.
// Never: contacts hops or a running daemon; health comes from the caller (a View, or the
// daemon state that route_command read from state_dir/health.json).
// Errors: configuration problems are printed as file:line: key: message (exit 2).
#include "relay/cli/route_explain.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <tuple>
#include <vector>

#include "conf/domain_pattern.hpp"
#include "conf/load.hpp"
#include "relay/cli/arguments.hpp"
#include "relay/cli/help.hpp"
#include "relay/dkim/header_fields.hpp"
#include "routing/hop_selector.hpp"
#include "routing/mta_sts_policy.hpp"
#include "routing/route_table.hpp"

namespace relay {
namespace {

const char* balance_name(conf::RouteConfig::Balance b) {
  return b == conf::RouteConfig::Balance::least_outstanding ? "least_outstanding" : "weighted_round_robin";
}

/// The daemon's hop states in configuration order (matched by name); a hop it does not
/// name is usable.
class StateView final : public health::View {
 public:
  StateView(const conf::Config& config, const health::DaemonState& state) {
    for (const auto& hop : config.hops) {
      const auto it = std::ranges::find(state.hops, hop.name, &health::HopState::name);
      hops_.push_back(it != state.hops.end() ? *it : health::HopState{hop.name});
    }
  }
  bool usable(std::size_t hop) const noexcept override {
    return hop >= hops_.size() || hops_[hop].condition == health::HopCondition::usable;
  }
  const health::HopState* at(std::size_t hop) const noexcept { return hop < hops_.size() ? &hops_[hop] : nullptr; }

 private:
  std::vector<health::HopState> hops_;
};

RouteExplanation explain(const conf::Config& config, std::string_view address,
                         std::optional<conf::Direction> direction, const health::View& health,
                         std::string_view health_source, const StateView* states, const TlsFactsLookup& tls_lookup);

}  // namespace

std::expected<health::DaemonState, std::string> daemon_state_from(const std::optional<std::string>& file_text,
                                                                  std::string_view file_name, health::UnixMillis now) {
  const auto unavailable = [](const std::string& why) {
    return std::unexpected("daemon state not available: " + why + "; showing configuration only");
  };
  if (!file_text) return unavailable(fmt::format("no state file {} (the daemon is not running)", file_name));
  auto state = health::parse_state(*file_text);
  if (!state) return unavailable(fmt::format("{}: {}", file_name, state.error()));
  if (const auto stale = health::stale_reason(state->written_at, now))
    return unavailable(fmt::format("{}: {}", file_name, *stale));
  return state;
}

RouteExplanation explain_route(const conf::Config& config, std::string_view address,
                               std::optional<conf::Direction> direction, const health::View& health,
                               std::string_view health_source, const TlsFactsLookup& tls_lookup) {
  return explain(config, address, direction, health, health_source, nullptr, tls_lookup);
}

RouteExplanation explain_route(const conf::Config& config, std::string_view address,
                               std::optional<conf::Direction> direction, const health::DaemonState& state,
                               std::string_view health_source, const TlsFactsLookup& tls_lookup) {
  const StateView view(config, state);
  return explain(config, address, direction, view, health_source, &view, tls_lookup);
}

namespace {

/// The status column and the reason a hop is not used, in the daemon's words when known.
std::pair<std::string, std::string> unused(const StateView* states, std::size_t hop) {
  const health::HopState* state = states ? states->at(hop) : nullptr;
  if (state == nullptr || state->condition == health::HopCondition::usable) return {"DOWN", "not used: marked down"};
  std::string why = "not used: " + health::describe(*state).substr(std::string_view("NOT usable: ").size());
  if (state->consecutive_failures > 0)
    why += fmt::format(" ({} consecutive delivery failures)", state->consecutive_failures);
  return {std::string(health::to_string(state->condition)), why};
}

RouteExplanation explain(const conf::Config& config, std::string_view address,
                         std::optional<conf::Direction> direction, const health::View& health,
                         std::string_view health_source, const StateView* states, const TlsFactsLookup& tls_lookup) {
  RouteExplanation out;
  std::string& text = out.text;
  const std::string domain = conf::domain_of(address);
  text += fmt::format("address:    {}\n", address);
  text += fmt::format("domain:     {}\n", domain.empty() ? "(none)" : domain);
  if (!direction) {
    direction = config.is_own_domain(domain) ? conf::Direction::inbound : conf::Direction::outbound;
    text += fmt::format("direction:  {} (inferred: the domain is {}one of relay.accepted_domains)\n",
                        conf::to_string(*direction), *direction == conf::Direction::inbound ? "" : "not ");
  } else {
    text += fmt::format("direction:  {}\n", conf::to_string(*direction));
  }

  auto table = routing::RouteTable::build(config);
  if (!table) {
    text += "routes:     cannot be compiled: " + table.error() + "\n";
    out.status = 2;
    return out;
  }
  const routing::Route* route = table->match(*direction, domain);
  if (route == nullptr) {
    text += fmt::format("route:      none — no {} route matches '{}'; mail would wait in the queue (451 4.4.4)\n",
                        conf::to_string(*direction), domain);
    out.status = 1;
    return out;
  }
  const conf::DomainPattern* winner = nullptr;
  for (const auto& pattern : route->domains) {
    if (pattern.matches(domain) && (winner == nullptr || pattern.specificity() > winner->specificity())) winner = &pattern;
  }
  text += fmt::format("route:      {} (pattern \"{}\" is the most specific match)\n", route->name,
                      winner ? winner->text() : "?");
  text += fmt::format("balance:    {}; when every hop is down: {}\n", balance_name(route->balance),
                      route->when_all_down == conf::RouteConfig::WhenAllDown::try_anyway ? "try anyway"
                                                                                       : "keep queued");
  text += fmt::format("health:     {}\n", health_source);

  const std::size_t index = table->index_of(*route);
  routing::HopSelector selector(*table);
  const auto planned = selector.plan(index, health, {});
  // The tier in use is the cheapest one with a usable hop.
  std::optional<std::uint32_t> active_tier;
  std::uint64_t tier_weight = 0;
  for (const auto& hop : planned) {
    if (hop.usable && !active_tier) active_tier = hop.cost;
    if (active_tier && hop.cost == *active_tier && hop.usable) tier_weight += hop.weight;
  }
  text += "hops:\n";
  for (const auto& hop : planned) {
    const conf::HopConfig& h = config.hops[hop.hop];
    const std::string target = h.mx ? fmt::format("mx:{} (MX hosts of the domain)", h.port)
                                    : fmt::format("{}:{}", h.host, h.port);
    std::string why;
    std::string status = "up";
    if (!hop.usable) {
      std::tie(status, why) = unused(states, hop.hop);
    } else if (active_tier && hop.cost == *active_tier) {
      why = fmt::format("used: tier {} is the cheapest with a usable hop; share {:.0f}% by weight", hop.cost,
                        100.0 * hop.weight / static_cast<double>(tier_weight));
    } else {
      why = fmt::format("standby: used only when every hop of tier {} fails or is down", *active_tier);
    }
    // A hop usable again still shows what last went wrong on it, and when.
    if (const health::HopState* state = hop.usable && states ? states->at(hop.hop) : nullptr;
        state && !state->last_error.empty() && state->last_error_at != 0)
      why += fmt::format("; last error at {}: {}", health::format_utc(state->last_error_at), state->last_error);
    text += fmt::format("  tier {:<5} {:<20} {:<32} weight {:<4} tls {:<13} {:<6} {}\n", hop.cost, h.name, target,
                        hop.weight, conf::to_string(h.tls), status, why);
  }

  // The order a message would see now: the selector's pick, then the pick that would
  // follow if that hop failed, and so on (the engine excludes tried hops per message).
  std::vector<std::size_t> tried;
  std::string order;
  for (std::size_t n = 0; n < planned.size(); ++n) {
    auto next = selector.pick(index, health, tried);
    if (!next) break;
    tried.push_back(*next);
    order += (order.empty() ? "" : " -> ") + config.hops[*next].name;
  }
  if (order.empty()) {
    text += route->when_all_down == conf::RouteConfig::WhenAllDown::try_anyway
                ? "try order:  every hop is down; the route says try anyway, in tier order\n"
                : "try order:  none — every hop is down; mail stays queued (451 4.4.1)\n";
  } else {
    text += "try order:  " + order + "\n";
  }
  // What would protect the session to each hop (docs/tls-policy.md).
  text += "outbound tls:\n";
  for (const auto& hop : planned) {
    const conf::HopConfig& h = config.hops[hop.hop];
    std::optional<HopTlsFacts> facts;
    if (tls_lookup && dane_may_apply(config, h)) facts = tls_lookup(config, h, domain);
    text += hop_tls_explanation(config, h, facts ? &*facts : nullptr);
  }
  return out;
}

}  // namespace

std::string dkim_explanation(const conf::Config& config, std::string_view from, conf::Direction direction) {
  const std::string domain = conf::domain_of(from);
  if (config.dkim.empty()) return "dkim: not signed: no [dkim.NAME] keys are configured\n";
  std::string keys;
  for (const auto& key : config.dkim) {
    if (!dkim::domain_aligned(domain, key.domain, key.subdomains)) continue;
    if (std::ranges::find(key.directions, direction) == key.directions.end()) continue;
    keys += fmt::format("{}[dkim.{}] (d={}, s={})", keys.empty() ? "" : ", ", key.name, key.domain, key.selector);
  }
  if (keys.empty())
    return fmt::format("dkim: not signed: no key for the From: domain {} on {} listeners\n", domain,
                       conf::to_string(direction));
  return fmt::format("dkim: a From: in {} on {} listeners is signed by {}\n", domain, conf::to_string(direction), keys);
}

int route_command(const std::vector<std::string>& words, const std::string& default_config,
                  const TlsFactsLookup& tls_lookup) {
  const auto usage_error = [](const std::string& why) { return cli::usage_error("route explain", why); };
  auto parsed = cli::parse_words(words, {.flags = {}, .valued = {"direction", "from"}});
  if (!parsed) return usage_error(parsed.error());
  const auto& positional = parsed->positional;
  const bool explain = !positional.empty() && positional[0] == "explain";
  if (parsed->help) {
    std::cout << *cli::help_for(explain ? "route explain" : "route");
    return 0;
  }
  if (!explain) return usage_error(positional.empty() ? "missing command (route explain ADDRESS)"
                                                      : "unknown route command '" + positional[0] + "'");
  if (positional.size() < 2) return usage_error("missing ADDRESS");
  if (positional.size() > 2) return usage_error("unexpected argument '" + positional[2] + "'");
  const std::string& address = positional[1];
  std::optional<conf::Direction> direction;
  if (auto it = parsed->options.find("direction"); it != parsed->options.end()) {
    if (it->second == "inbound") direction = conf::Direction::inbound;
    else if (it->second == "outbound") direction = conf::Direction::outbound;
    else return usage_error("--direction " + it->second + ": use inbound or outbound");
  }
  auto loaded = conf::load_file(parsed->config.value_or(default_config));
  if (!loaded) {
    for (const auto& d : loaded.error()) std::cerr << d.to_string() << "\n";
    return 2;
  }
  const conf::Config& config = **loaded;
  const std::filesystem::path file = std::filesystem::path(config.relay.state_dir) / "health.json";
  std::optional<std::string> text;
  if (std::ifstream in{file, std::ios::binary}) {
    std::ostringstream read;
    read << in.rdbuf();
    text = read.str();
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  const auto state = daemon_state_from(text, file.string(), now);
  RouteExplanation result;
  if (state) {
    result = explain_route(config, address, direction, *state,
                           fmt::format("daemon state written {} ({})", health::format_utc(state->written_at),
                                       file.string()),
                           tls_lookup);
  } else {
    std::cerr << "hubrelay: " << state.error() << "\n";
    result = explain_route(config, address, direction, health::AllUsable{}, state.error(), tls_lookup);
  }
  std::cout << result.text;
  const bool sts_hops = std::ranges::any_of(config.hops, [](const conf::HopConfig& hop) {
    return hop.mx && (hop.tls == conf::TlsPolicy::automatic || hop.tls == conf::TlsPolicy::mta_sts);
  });
  if (const std::string domain = conf::domain_of(address); sts_hops && !config.is_own_domain(domain)) {
    // What MX delivery would apply under tls = auto or mta-sts (DANE, when the host has
    // TLSA records, still comes first); the daemon's cached policy, if any.
    const std::string cache = routing::sts_cache_path(config.relay.state_dir + "/mta-sts", domain);
    std::optional<std::string> stored;
    if (std::ifstream in{cache, std::ios::binary}; !cache.empty() && in) {
      std::ostringstream read;
      read << in.rdbuf();
      stored = read.str();
    }
    std::cout << routing::sts_explanation(domain, stored, now / 1000);
  }
  if (auto from = parsed->options.find("from"); from != parsed->options.end()) {
    const std::string domain = conf::domain_of(address);
    const auto signing = direction.value_or(config.is_own_domain(domain) ? conf::Direction::inbound
                                                                          : conf::Direction::outbound);
    std::cout << dkim_explanation(config, from->second, signing);
  }
  return result.status;
}

}  // namespace relay
