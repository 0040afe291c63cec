// conf/load_hop_limits.cpp — the upstream-limit keys of [hop.NAME].
//
// Owns: initial_connections (where the concurrency window starts; max_connections is its
// ceiling), max_message_rate and max_connection_rate ("N/period", the syntax of
// conf/rate_syntax), and suspend_on (a list of { match = "REGEX", duration = "5m" }: the
// regex is compiled here, ECMAScript grammar, so a bad one is a configuration error with
// file, line and key, never a surprise during delivery).
// Never: matches replies (relay/delivery does, with the compiled regex). See docs/routing.md.
#include "conf/reader.hpp"

namespace conf::reading {

namespace {

const Keys<HopConfig::SuspendRule>& suspend_rule_keys() {
  static const Keys<HopConfig::SuspendRule> keys{
      {"match", Need::required,
       [](Loader& l, const Field& f, HopConfig::SuspendRule& rule) {
         if (!l.read_string(*f.value, f.key, rule.match)) return;
         if (rule.match.empty()) {
           l.error(f, "must not be empty (it would match every reply)");
           return;
         }
         try {
           rule.regex = std::make_shared<const std::regex>(rule.match, std::regex::ECMAScript);
         } catch (const std::regex_error& e) {
           l.error(f, "invalid regular expression " + quote(rule.match) + ": " + e.what());
         }
       }},
      {"duration", Need::optional, into_seconds(&HopConfig::SuspendRule::duration, limits::hop_suspend_duration)},
  };
  return keys;
}

void read_suspend_on(Loader& l, const Field& f, HopConfig& hop) {
  if (!l.expect(*f.value, toml::value_t::array, f.key)) return;
  const auto& array = f.value->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string path = f.key + "[" + std::to_string(i) + "]";
    if (!array[i].is_table()) {
      l.error(l.line_of(array[i]), path,
              "expected a table such as { match = \"4\\\\.7\\\\.0 .*rate\", duration = \"5m\" }, found " +
                  describe(array[i].type()));
      continue;
    }
    HopConfig::SuspendRule rule{.line = l.line_of(array[i])};
    read_keys(l, array[i], path, suspend_rule_keys(), rule);
    if (rule.regex) hop.suspend_on.push_back(std::move(rule));
  }
}

}  // namespace

const Keys<HopConfig>& hop_limit_keys() {
  static const Keys<HopConfig> keys{
      {"initial_connections", Need::optional,
       into_integer(&HopConfig::initial_connections, limits::hop_initial_connections)},
      {"max_message_rate", Need::optional, into_rate(&HopConfig::message_rate)},
      {"max_connection_rate", Need::optional, into_rate(&HopConfig::connection_rate)},
      {"suspend_on", Need::optional, read_suspend_on},
  };
  return keys;
}

}  // namespace conf::reading
