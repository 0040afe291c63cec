// conf/load_policy_rules.cpp — the access rule rows of [policy.NAME].
//
// Owns: the key table of client_networks, own_domains, reject_spoofed_senders, the sender
// and recipient allow/deny lists, the HELO checks, allowed_sender_domains and
// [[policy.NAME.sender_restriction]], and of each sender_restriction entry. Every bad value
// is reported as file:line: key: message. conf/load_policy.cpp puts these rows last in the
// [policy.NAME] table.
// Never: compiles the rules (policy/access_rules does), resolves names.
// See docs/policy.md for the meaning of every key.
#include "conf/address_pattern.hpp"
#include "conf/reader.hpp"

namespace conf::reading {

namespace {

/// The entries of a policy list beyond the cap are not judged one by one: one error says so.
bool within_list_cap(Loader& l, const Field& f, std::size_t entries) {
  if (entries <= limits::policy_max_list_entries) return true;
  l.error(f, "at most " + std::to_string(limits::policy_max_list_entries) + " entries");
  return false;
}

void read_cidr_list(Loader& l, const Field& f, std::vector<std::string>& out) {
  std::vector<Item> networks;
  l.read_string_array(*f.value, f.key, networks);
  if (!within_list_cap(l, f, networks.size())) return;
  for (Item& network : networks) {
    if (auto checked = check_cidr(network.text); !checked) {
      l.error(network.line, network.key, checked.error());
    } else {
      out.push_back(std::move(network.text));
    }
  }
}

void read_address_patterns(Loader& l, const Field& f, std::vector<std::string>& out) {
  std::vector<Item> patterns;
  l.read_string_array(*f.value, f.key, patterns);
  if (!within_list_cap(l, f, patterns.size())) return;
  for (Item& item : patterns) {
    if (const auto pattern = AddressPattern::parse(item.text)) {
      out.push_back(pattern->text());
    } else {
      l.error(item.line, item.key,
              "invalid address pattern " + quote(item.text) +
                  " (use \"user@example.com\", \"example.com\", \"*.example.com\", \"*@example.com\", "
                  "\"user@*\", \"<>\" or \"*\")");
    }
  }
}

template <typename T>
Reader<T> into_patterns(std::vector<std::string> T::*field) {
  return [field](Loader& l, const Field& f, T& t) { read_address_patterns(l, f, t.*field); };
}

void read_sender_restrictions(Loader& l, const Field& f, PolicyConfig& policy) {
  if (!f.value->is_array()) {
    l.error(f, "expected an array of tables ([[" + f.key + "]]), found " + describe(f.value->type()));
    return;
  }
  const auto& array = f.value->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string path = f.key + "[" + std::to_string(i) + "]";
    if (!l.expect(array[i], toml::value_t::table, path)) continue;
    PolicyConfig::SenderRestriction restriction{.line = l.line_of(array[i])};
    read_keys(l, array[i], path, sender_restriction_keys(), restriction);
    policy.sender_restrictions.push_back(std::move(restriction));
  }
}

}  // namespace

const Keys<PolicyConfig::SenderRestriction>& sender_restriction_keys() {
  using Restriction = PolicyConfig::SenderRestriction;
  static const Keys<Restriction> keys{
      {"networks", Need::optional,
       [](Loader& l, const Field& f, Restriction& r) { read_cidr_list(l, f, r.networks); }},
      {"user", Need::always,
       [](Loader& l, const Field& f, Restriction& r) {
         if (f.value != nullptr) {
           if (l.read_string(*f.value, f.key, r.user) && r.user.empty()) l.error(f, "must not be empty");
         } else if (f.section.find("networks") == nullptr) {
           l.error(f.section.line(), f.section.path(),
                   "needs `networks` or `user`: the clients this restriction applies to");
         }
       }},
      {"senders", Need::required,
       [](Loader& l, const Field& f, Restriction& r) {
         read_address_patterns(l, f, r.senders);
         if (f.value->is_array() && f.value->as_array().empty()) {
           l.error(f, "must list at least one sender pattern");
         }
       }},
  };
  return keys;
}

const Keys<PolicyConfig>& policy_rule_keys() {
  static const Keys<PolicyConfig> keys{
      {"client_networks", Need::optional,
       [](Loader& l, const Field& f, PolicyConfig& policy) { read_cidr_list(l, f, policy.client_networks); }},
      {"own_domains", Need::optional,
       [](Loader& l, const Field& f, PolicyConfig& policy) {
         l.read_domains(*f.value, f.key, false, policy.own_domains);
       }},
      {"reject_spoofed_senders", Need::optional,
       [](Loader& l, const Field& f, PolicyConfig& policy) {
         bool value = false;
         if (l.read_bool(*f.value, f.key, value)) policy.reject_spoofed_senders = value;
       }},
      {"sender_allow", Need::optional, into_patterns(&PolicyConfig::sender_allow)},
      {"sender_deny", Need::optional, into_patterns(&PolicyConfig::sender_deny)},
      {"recipient_allow", Need::optional, into_patterns(&PolicyConfig::recipient_allow)},
      {"recipient_deny", Need::optional, into_patterns(&PolicyConfig::recipient_deny)},
      {"helo_required_fqdn", Need::optional, into_bool(&PolicyConfig::helo_required_fqdn)},
      {"helo_reject_own_name", Need::optional, into_bool(&PolicyConfig::helo_reject_own_name)},
      {"allowed_sender_domains", Need::optional,
       [](Loader& l, const Field& f, PolicyConfig& policy) {
         // "*" is allowed but pointless; it is the same as leaving the key out.
         l.read_domains(*f.value, f.key, true, policy.allowed_sender_domains);
       }},
      {"sender_restriction", Need::optional, read_sender_restrictions},
  };
  return keys;
}

}  // namespace conf::reading
