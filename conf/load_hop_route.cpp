// conf/load_hop_route.cpp — the key tables of [hop.NAME] and [[route]].
//
// Owns: the hop rows (SMTP client settings: type, TLS policy and files, AUTH credentials,
// source address, timeouts; then host, port and connection caps; then the health rows of
// conf/load_health.cpp), the route rows (unique name, direction, domain patterns no other
// route of the direction claims, hops, balance, the all-down rule) and the rows of each
// entry of a route's `hops` (a defined hop, at most once per route, cost and weight).
// Reads auth_password_file at every load, so a SIGHUP picks up a changed secret.
// Never: resolves host names or connects. See docs/configuration.md and docs/routing.md.
#include <filesystem>
#include <fstream>
#include <set>

#include "conf/reader.hpp"

namespace conf::reading {

/// A route being read, and whether its direction is known (domains are claimed per direction).
struct RouteEntry {
  RouteConfig route;
  bool direction_ok = false;
};

/// One entry of a route's `hops`, and the hops the route listed before it.
struct RouteHopEntry {
  RouteHop hop;
  std::set<std::string>* seen;
};

/// tls_ca_file, tls_cert_file, tls_key_file, [mta_sts] ca_file: an existing file,
/// relative to the config file.
void read_config_file(Loader& l, const Field& f, std::string& out) {
  std::string path;
  if (!l.read_string(*f.value, f.key, path)) return;
  path = l.resolve(path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    l.error(f, "cannot read file " + quote(path));
  } else {
    out = path;
  }
}

namespace {

template <std::string HopConfig::*field>
void into_hop_file(Loader& l, const Field& f, HopConfig& hop) {
  read_config_file(l, f, hop.*field);
}

const Keys<HopConfig>& hop_client_keys() {
  static const Keys<HopConfig> keys{
      {"type", Need::optional,
       [](Loader& l, const Field& f, HopConfig& hop) {
         std::string type;
         if (!l.read_string(*f.value, f.key, type)) return;
         if (type == "mx") hop.mx = true;
         else if (type != "smarthost") l.error(f, quote(type) + " is not \"smarthost\" or \"mx\"");
       }},
      {"tls", Need::optional,
       [](Loader& l, const Field& f, HopConfig& hop) {
         static constexpr std::array<std::pair<std::string_view, TlsPolicy>, 7> policies{{
             {"none", TlsPolicy::none},
             {"opportunistic", TlsPolicy::opportunistic},
             {"required", TlsPolicy::required},
             {"verify", TlsPolicy::verify},
             {"dane", TlsPolicy::dane},
             {"auto", TlsPolicy::automatic},
             {"mta-sts", TlsPolicy::mta_sts},
         }};
         // Whether DANE can apply depends on [dns] (read later): check_dane_hops.
         if (read_choice(l, *f.value, f.key, policies, hop.tls)) hop.tls_line = l.line_of(*f.value);
       }},
      {"tls_ca_file", Need::optional, into_hop_file<&HopConfig::tls_ca_file>},
      {"tls_cert_file", Need::optional, into_hop_file<&HopConfig::tls_cert_file>},
      {"tls_key_file", Need::always,
       [](Loader& l, const Field& f, HopConfig& hop) {
         if (f.value != nullptr) read_config_file(l, f, hop.tls_key_file);
         if (hop.tls_cert_file.empty() != hop.tls_key_file.empty()) {
           l.error(f.section.line(), f.section.key("tls_cert_file"), "tls_cert_file and tls_key_file go together");
         }
       }},
      {"auth_user", Need::optional, into_string(&HopConfig::auth_user)},
      {"auth_password", Need::optional, into_string(&HopConfig::auth_password)},
      {"auth_password_file", Need::always,
       [](Loader& l, const Field& f, HopConfig& hop) {
         std::string path;
         if (f.value != nullptr && l.read_string(*f.value, f.key, path)) {
           path = l.resolve(path);
           std::ifstream in(path, std::ios::binary);
           std::string secret;
           if (!in || !std::getline(in, secret)) {
             l.error(f, "cannot read file " + quote(path));
           } else {
             while (!secret.empty() && (secret.back() == '\r' || secret.back() == '\n')) secret.pop_back();
             hop.auth_password = std::move(secret);
           }
         }
         if (!hop.auth_user.empty() && hop.auth_password.empty()) {
           l.error(f.section.line(), f.section.key("auth_user"), "needs auth_password or auth_password_file");
         }
       }},
      {"source_address", Need::optional,
       [](Loader& l, const Field& f, HopConfig& hop) {
         std::string address;
         if (!l.read_string(*f.value, f.key, address)) return;
         if (!is_ip_literal(address)) {
           l.error(f, quote(address) + " is not an IP address");
         } else {
           hop.source_address = address;
         }
       }},
      {"connect_timeout", Need::optional, into_seconds(&HopConfig::connect_timeout, limits::hop_connect_timeout)},
      {"command_timeout", Need::optional, into_seconds(&HopConfig::command_timeout, limits::hop_command_timeout)},
  };
  return keys;
}

const Keys<HopConfig>& hop_address_keys() {
  static const Keys<HopConfig> keys{
      {"host", Need::always,
       [](Loader& l, const Field& f, HopConfig& hop) {
         if (f.value == nullptr) {
           if (!hop.mx) f.section.missing(f.name);  // type = "mx" needs no host
           return;
         }
         std::string host;
         if (!l.read_string(*f.value, f.key, host)) return;
         if (!is_ip_literal(host) && !is_hostname(host)) {
           l.error(f, quote(host) + " is neither an IP address nor a valid host name");
         } else {
           hop.host = host;
           if (host == "mx") hop.mx = true;
         }
       }},
      {"port", Need::optional, into_integer(&HopConfig::port, limits::hop_port)},
      {"max_connections", Need::optional, into_integer(&HopConfig::max_connections, limits::hop_max_connections)},
      {"max_messages_per_connection", Need::optional,
       into_integer(&HopConfig::max_messages_per_connection, limits::hop_max_messages_per_connection)},
  };
  return keys;
}

void read_route_hops(Loader& l, const Field& f, RouteEntry& entry) {
  if (!l.expect(*f.value, toml::value_t::array, f.key)) return;
  const auto& array = f.value->as_array();
  if (array.empty()) l.error(f, "must list at least one hop");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string path = f.key + "[" + std::to_string(i) + "]";
    if (!array[i].is_table()) {
      l.error(l.line_of(array[i]), path,
              "expected a table such as { hop = \"NAME\", cost = 10, weight = 1 }, found " +
                  describe(array[i].type()));
      continue;
    }
    RouteHopEntry hop{.seen = &seen};
    read_keys(l, array[i], path, route_hop_keys(), hop);
    entry.route.hops.push_back(std::move(hop.hop));
  }
}

void read_route_domains(Loader& l, const Field& f, RouteEntry& entry) {
  RouteConfig& route = entry.route;
  std::vector<Item> items;
  if (l.read_domains(*f.value, f.key, true, route.domains, &items) && items.empty() &&
      f.value->as_array().empty()) {
    l.error(f, "must list at least one domain pattern");
  }
  std::set<std::string> in_route;
  for (const Item& item : items) {
    std::string normal = item.text;
    if (normal.size() > 1 && normal.back() == '.') normal.pop_back();  // matching ignores it
    if (!in_route.insert(normal).second) {
      l.error(item.line, item.key, "domain pattern " + quote(item.text) + " is listed twice");
      continue;
    }
    if (!entry.direction_ok) continue;
    const std::string claim = std::string(to_string(route.direction)) + " " + normal;
    const auto [it, added] = l.routed_domains.emplace(claim, std::pair{route.name, item.line});
    if (!added) {
      // Which route wins would depend on file order: refuse instead of guessing.
      l.error(item.line, item.key,
              "domain pattern " + quote(item.text) + " for " + to_string(route.direction) +
                  " mail is already routed by route " + quote(it->second.first) + " (line " +
                  std::to_string(it->second.second) + ")");
    }
  }
}

}  // namespace

const Keys<HopConfig>& hop_keys() {
  static const Keys<HopConfig> keys = concat({&hop_client_keys(), &hop_address_keys(), &hop_limit_keys(), &hop_health_keys()});
  return keys;
}

const Keys<RouteEntry>& route_keys() {
  static const Keys<RouteEntry> keys{
      {"name", Need::required,
       [](Loader& l, const Field& f, RouteEntry& entry) {
         RouteConfig& route = entry.route;
         if (!l.read_string(*f.value, f.key, route.name)) return;
         if (!is_name(route.name)) {
           l.error(f, "invalid name " + quote(route.name) + ": use 1 to 64 letters, digits, '-' or '_'");
         } else if (const auto [it, added] = l.route_names.emplace(route.name, l.line_of(*f.value)); !added) {
           l.error(f, "duplicate route name " + quote(route.name) + " (first used on line " +
                          std::to_string(it->second) + ")");
         }
       }},
      {"direction", Need::required,
       [](Loader& l, const Field& f, RouteEntry& entry) {
         entry.direction_ok = read_direction(l, *f.value, f.key, entry.route.direction);
       }},
      {"domains", Need::required, read_route_domains},
      {"hops", Need::required, read_route_hops},
      {"balance", Need::optional,
       [](Loader& l, const Field& f, RouteEntry& entry) {
         static constexpr std::array<std::pair<std::string_view, RouteConfig::Balance>, 2> choices{{
             {"weighted_round_robin", RouteConfig::Balance::weighted_round_robin},
             {"least_outstanding", RouteConfig::Balance::least_outstanding},
         }};
         read_choice(l, *f.value, f.key, choices, entry.route.balance);
       }},
      {"when_all_down", Need::optional,
       [](Loader& l, const Field& f, RouteEntry& entry) {
         static constexpr std::array<std::pair<std::string_view, RouteConfig::WhenAllDown>, 2> choices{{
             {"queue", RouteConfig::WhenAllDown::queue},
             {"try_anyway", RouteConfig::WhenAllDown::try_anyway},
         }};
         read_choice(l, *f.value, f.key, choices, entry.route.when_all_down);
       }},
  };
  return keys;
}

const Keys<RouteHopEntry>& route_hop_keys() {
  static const Keys<RouteHopEntry> keys{
      {"hop", Need::required,
       [](Loader& l, const Field& f, RouteHopEntry& entry) {
         RouteHop& hop = entry.hop;
         if (!l.read_string(*f.value, f.key, hop.hop)) return;
         if (l.config().find_hop(hop.hop) == nullptr) {
           std::vector<std::string> known;
           for (const auto& h : l.config().hops) known.push_back(h.name);
           l.error(f, "unknown hop " + quote(hop.hop) + defined_names(known, "hop"));
         } else if (!entry.seen->insert(hop.hop).second) {
           l.error(f, "hop " + quote(hop.hop) + " is listed twice in this route");
         }
       }},
      {"cost", Need::optional,
       [](Loader& l, const Field& f, RouteHopEntry& entry) {
         l.read_integer(*f.value, f.key, limits::route_hop_cost, entry.hop.cost);
       }},
      {"weight", Need::optional,
       [](Loader& l, const Field& f, RouteHopEntry& entry) {
         l.read_integer(*f.value, f.key, limits::route_hop_weight, entry.hop.weight);
       }},
  };
  return keys;
}

void read_routes(Loader& loader, const Field& f, Config& config) {
  if (!f.value->is_array()) {
    loader.error(f, "expected an array of tables ([[route]]), found " + describe(f.value->type()));
    return;
  }
  const auto& array = f.value->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string path = "route[" + std::to_string(i) + "]";
    if (!loader.expect(array[i], toml::value_t::table, path)) continue;
    RouteEntry entry{.route = {.line = loader.line_of(array[i])}};
    read_keys(loader, array[i], path, route_keys(), entry);
    config.routes.push_back(std::move(entry.route));
  }
}

}  // namespace conf::reading
