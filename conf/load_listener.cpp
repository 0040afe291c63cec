// conf/load_listener.cpp — the key table of [[listener]].
//
// Owns: one row per listener key: name (unique), direction, bind addresses (unique across
// listeners and the admin endpoint), the policy reference, sizes, counts and timeouts; TLS,
// line endings, early talkers, header cap, AUTH and PROXY protocol; and the per-client
// limits (max_connections_per_client, the three rates, limits_exempt_trusted).
// Certificate files are checked for existence here so check-config catches a typo; their
// content is judged when the TLS context is built at start-up (relay/server/tls_context).
// Never: binds, reads certificates, compiles the policy. See docs/configuration.md.
#include <filesystem>

#include "conf/reader.hpp"

namespace conf::reading {

namespace {

/// tls_certificate, tls_key: required unless tls = "off"; an existing file.
Reader<ListenerConfig> tls_file(std::string ListenerConfig::*field) {
  return [field](Loader& l, const Field& f, ListenerConfig& listener) {
    if (f.value == nullptr) {
      if (listener.tls != ListenerTls::off) l.error(f.section.line(), f.key, "required when tls is not \"off\"");
      return;
    }
    std::string& path = listener.*field;
    if (!l.read_string(*f.value, f.key, path)) return;
    path = l.resolve(path);  // like every other path: relative to this file
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) l.error(f, "no such file " + quote(path));
  };
}

/// The timeouts of ServerTimeouts, which are listener keys.
Reader<ListenerConfig> timeout(Seconds ServerTimeouts::*field, const Limit& limit) {
  return [field, &limit](Loader& l, const Field& f, ListenerConfig& listener) {
    l.read_seconds(*f.value, f.key, limit, listener.timeouts.*field);
  };
}

}  // namespace

const Keys<ListenerConfig>& listener_keys() {
  static const Keys<ListenerConfig> keys{
      {"name", Need::required,
       [](Loader& l, const Field& f, ListenerConfig& listener) {
         if (!l.read_string(*f.value, f.key, listener.name)) return;
         if (!is_name(listener.name)) {
           l.error(f, "invalid name " + quote(listener.name) + ": use 1 to 64 letters, digits, '-' or '_'");
         } else if (const auto [it, added] = l.listener_names.emplace(listener.name, l.line_of(*f.value));
                    !added) {
           l.error(f, "duplicate listener name " + quote(listener.name) + " (first used on line " +
                          std::to_string(it->second) + ")");
         }
       }},
      {"direction", Need::required,
       [](Loader& l, const Field& f, ListenerConfig& listener) {
         read_direction(l, *f.value, f.key, listener.direction);
       }},
      {"bind", Need::required,
       [](Loader& l, const Field& f, ListenerConfig& listener) {
         std::vector<Item> binds;
         if (l.read_string_array(*f.value, f.key, binds) && binds.empty()) {
           l.error(f, "must list at least one \"ip:port\" address");
         }
         for (const Item& item : binds) {
           auto bind = parse_bind_address(item.text);
           if (!bind) {
             l.error(item.line, item.key, bind.error());
             continue;
           }
           if (const auto earlier = l.binds.claim(*bind, BindUse{item.key, item.line})) {
             l.error(item.line, item.key,
                     "address " + quote(item.text) + " is already used by " + earlier->key + " (line " +
                         std::to_string(earlier->line) + ")");
           }
           listener.bind.push_back(std::move(*bind));
         }
       }},
      {"policy", Need::required,
       [](Loader& l, const Field& f, ListenerConfig& listener) {
         if (l.read_string(*f.value, f.key, listener.policy) &&
             l.config().find_policy(listener.policy) == nullptr) {
           std::vector<std::string> known;
           for (const auto& p : l.config().policies) known.push_back(p.name);
           l.error(f, "unknown policy " + quote(listener.policy) + defined_names(known, "policy"));
         }
       }},
      {"milters", Need::optional,
       [](Loader& l, const Field& f, ListenerConfig& listener) {
         std::vector<Item> names;
         if (!l.read_string_array(*f.value, f.key, names)) return;
         for (const Item& item : names) {
           if (l.config().find_milter(item.text) == nullptr) {
             std::vector<std::string> known;
             for (const auto& m : l.config().milters) known.push_back(m.name);
             l.error(item.line, item.key, "unknown milter " + quote(item.text) + defined_names(known, "milter"));
           } else if (std::ranges::find(listener.milters, item.text) != listener.milters.end()) {
             l.error(item.line, item.key, "milter " + quote(item.text) + " is listed twice");
           } else {
             listener.milters.push_back(item.text);
           }
         }
       }},
      {"max_message_size", Need::optional,
       into_size(&ListenerConfig::max_message_size, limits::listener_max_message_size)},
      {"max_recipients", Need::optional,
       into_integer(&ListenerConfig::max_recipients, limits::listener_max_recipients)},
      {"max_connections", Need::optional,
       into_integer(&ListenerConfig::max_connections, limits::listener_max_connections)},
      {"max_errors", Need::optional, into_integer(&ListenerConfig::max_errors, limits::listener_max_errors)},
      {"command_timeout", Need::optional, timeout(&ServerTimeouts::command, limits::listener_command_timeout)},
      {"data_timeout", Need::optional, timeout(&ServerTimeouts::data_block, limits::listener_data_timeout)},
      {"session_timeout", Need::optional,
       timeout(&ServerTimeouts::session_total, limits::listener_session_timeout)},
      // TLS, line-ending policy, early talkers, header cap, AUTH, PROXY protocol.
      {"tls", Need::optional,
       [](Loader& l, const Field& f, ListenerConfig& listener) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         if (text == "off") {
           listener.tls = ListenerTls::off;
         } else if (text == "offered") {
           listener.tls = ListenerTls::offered;
         } else if (text == "required") {
           listener.tls = ListenerTls::required;
         } else if (text == "implicit") {
           listener.tls = ListenerTls::implicit;
         } else {
           l.error(f, "unknown TLS mode " + quote(text) +
                          " (use \"off\", \"offered\", \"required\" or \"implicit\")");
         }
       }},
      {"tls_certificate", Need::always, tls_file(&ListenerConfig::tls_certificate)},
      {"tls_key", Need::always, tls_file(&ListenerConfig::tls_key)},
      {"bare_line_endings", Need::optional,
       [](Loader& l, const Field& f, ListenerConfig& listener) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         if (text == "normalize" || text == "reject") {
           listener.reject_bare_line_endings = text == "reject";
         } else {
           l.error(f, "unknown value " + quote(text) + " (use \"normalize\" or \"reject\")");
         }
       }},
      {"greeting_delay", Need::optional,
       into_duration(&ListenerConfig::greeting_delay, limits::listener_greeting_delay)},
      {"max_header_size", Need::optional,
       into_size(&ListenerConfig::max_header_size, limits::listener_max_header_size)},
      {"auth", Need::optional, into_bool(&ListenerConfig::auth)},
      {"proxy_protocol", Need::optional, into_bool(&ListenerConfig::proxy_protocol)},
      {"proxy_from", Need::always,
       [](Loader& l, const Field& f, ListenerConfig& listener) {
         if (f.value != nullptr) l.read_networks(*f.value, f.key, listener.proxy_from);
         if (listener.proxy_protocol && listener.proxy_from.empty()) {
           l.error(f.section.line(), f.key, "required when proxy_protocol = true (the load balancers' addresses)");
         }
       }},
      {"auth_plaintext_trusted", Need::optional, into_bool(&ListenerConfig::auth_plaintext_trusted)},
      // Per-client limits (policy/client_limits, docs/policy.md#limits).
      {"max_connections_per_client", Need::optional,
       into_integer(&ListenerConfig::max_connections_per_client, limits::listener_max_connections_per_client)},
      {"connection_rate", Need::optional, into_rate(&ListenerConfig::connection_rate)},
      {"message_rate", Need::optional, into_rate(&ListenerConfig::message_rate)},
      {"recipient_rate", Need::optional, into_rate(&ListenerConfig::recipient_rate)},
      {"limits_exempt_trusted", Need::optional, into_bool(&ListenerConfig::limits_exempt_trusted)},
  };
  return keys;
}

void read_listeners(Loader& loader, const Field& f, Config& config) {
  if (f.value == nullptr) {
    loader.error(0, "listener", "at least one [[listener]] table is required");
    return;
  }
  if (!f.value->is_array()) {
    loader.error(f, "expected an array of tables ([[listener]]), found " + describe(f.value->type()));
    return;
  }
  const auto& array = f.value->as_array();
  if (array.empty()) loader.error(f, "at least one [[listener]] table is required");
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string path = "listener[" + std::to_string(i) + "]";
    if (!loader.expect(array[i], toml::value_t::table, path)) continue;
    ListenerConfig listener{.line = loader.line_of(array[i])};
    read_keys(loader, array[i], path, listener_keys(), listener);
    config.listeners.push_back(std::move(listener));
  }
}

}  // namespace conf::reading
