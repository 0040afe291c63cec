// conf/load_policy_rules.inc — reading the issue-6 policy keys and listener limits.
//
// Owns: [policy.NAME] client_networks, own_domains, reject_spoofed_senders, the sender
// and recipient allow/deny lists, the HELO checks, allowed_sender_domains and
// [[policy.NAME.sender_restriction]]; and the [[listener]] per-client limits
// (max_connections_per_client, connection_rate, message_rate, recipient_rate,
// limits_exempt_trusted). Every bad value is reported as file:line: key: message.
// Included once by conf/load.cpp inside its anonymous namespace (like load_health.inc),
// so the policy feature stays out of the rest of the loader.
// Never: compiles the rules (policy/access_rules does), resolves names.
// See docs/policy.md for the meaning of every key.

void Loader::read_cidr_list(const Value& v, const std::string& key, std::vector<std::string>& out) {
  std::vector<Item> networks;
  read_string_array(v, key, networks);
  if (networks.size() > limits::policy_max_list_entries) {
    error(line_of(v), key, "at most " + std::to_string(limits::policy_max_list_entries) + " entries");
    return;
  }
  for (Item& network : networks) {
    if (auto checked = check_cidr(network.text); !checked) {
      error(network.line, network.key, checked.error());
    } else {
      out.push_back(std::move(network.text));
    }
  }
}

void Loader::read_address_patterns(const Value& v, const std::string& key, std::vector<std::string>& out) {
  std::vector<Item> patterns;
  read_string_array(v, key, patterns);
  if (patterns.size() > limits::policy_max_list_entries) {
    error(line_of(v), key, "at most " + std::to_string(limits::policy_max_list_entries) + " entries");
    return;
  }
  for (Item& item : patterns) {
    if (const auto pattern = AddressPattern::parse(item.text)) {
      out.push_back(pattern->text());
    } else {
      error(item.line, item.key,
            "invalid address pattern " + quote(item.text) +
                " (use \"user@example.com\", \"example.com\", \"*.example.com\", \"*@example.com\", "
                "\"user@*\", \"<>\" or \"*\")");
    }
  }
}

void Loader::read_sender_restrictions(const Value& v, const std::string& key, PolicyConfig& policy) {
  if (!v.is_array()) {
    error(line_of(v), key,
          "expected an array of tables ([[" + key + "]]), found " + describe(v.type()));
    return;
  }
  const auto& array = v.as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string path = key + "[" + std::to_string(i) + "]";
    if (!expect(array[i], toml::value_t::table, path)) continue;
    Section s(*this, array[i], path, {"networks", "user", "senders"});
    PolicyConfig::SenderRestriction restriction{.line = s.line()};
    if (const Value* n = s.find("networks")) read_cidr_list(*n, s.key("networks"), restriction.networks);
    if (const Value* u = s.find("user")) {
      if (read_string(*u, s.key("user"), restriction.user) && restriction.user.empty()) {
        error(line_of(*u), s.key("user"), "must not be empty");
      }
    }
    if (s.find("networks") == nullptr && s.find("user") == nullptr) {
      error(s.line(), path, "needs `networks` or `user`: the clients this restriction applies to");
    }
    if (const Value* senders = s.require("senders")) {
      read_address_patterns(*senders, s.key("senders"), restriction.senders);
      if (senders->is_array() && senders->as_array().empty()) {
        error(line_of(*senders), s.key("senders"), "must list at least one sender pattern");
      }
    }
    policy.sender_restrictions.push_back(std::move(restriction));
  }
}

void Loader::read_policy_rules(const Section& s, PolicyConfig& policy) {
  if (const Value* v = s.find("client_networks")) read_cidr_list(*v, s.key("client_networks"), policy.client_networks);
  if (const Value* v = s.find("own_domains")) read_domains(*v, s.key("own_domains"), false, policy.own_domains);
  if (const Value* v = s.find("reject_spoofed_senders")) {
    bool value = false;
    if (read_bool(*v, s.key("reject_spoofed_senders"), value)) policy.reject_spoofed_senders = value;
  }
  const std::array<std::pair<std::string_view, std::vector<std::string>*>, 4> lists{{
      {"sender_allow", &policy.sender_allow},
      {"sender_deny", &policy.sender_deny},
      {"recipient_allow", &policy.recipient_allow},
      {"recipient_deny", &policy.recipient_deny},
  }};
  for (const auto& [name, field] : lists) {
    if (const Value* v = s.find(name)) read_address_patterns(*v, s.key(name), *field);
  }
  if (const Value* v = s.find("helo_required_fqdn")) read_bool(*v, s.key("helo_required_fqdn"), policy.helo_required_fqdn);
  if (const Value* v = s.find("helo_reject_own_name")) {
    read_bool(*v, s.key("helo_reject_own_name"), policy.helo_reject_own_name);
  }
  if (const Value* v = s.find("allowed_sender_domains")) {
    // "*" is allowed but pointless; it is the same as leaving the key out.
    read_domains(*v, s.key("allowed_sender_domains"), true, policy.allowed_sender_domains);
  }
  if (const Value* v = s.find("sender_restriction")) {
    read_sender_restrictions(*v, s.key("sender_restriction"), policy);
  }
}

void Loader::read_listener_limits(const Section& s, ListenerConfig& listener) {
  if (const Value* v = s.find("max_connections_per_client")) {
    read_integer(*v, s.key("max_connections_per_client"), limits::listener_max_connections_per_client,
                 listener.max_connections_per_client);
  }
  const std::array<std::pair<std::string_view, ListenerConfig::Rate*>, 3> rates{{
      {"connection_rate", &listener.connection_rate},
      {"message_rate", &listener.message_rate},
      {"recipient_rate", &listener.recipient_rate},
  }};
  for (const auto& [name, field] : rates) {
    const Value* v = s.find(name);
    if (v == nullptr) continue;
    std::string text;
    if (!read_string(*v, s.key(name), text)) continue;
    if (auto rate = parse_rate(text)) {
      *field = *rate;
    } else {
      error(line_of(*v), s.key(name), "invalid rate " + quote(text) + ": " + rate.error());
    }
  }
  if (const Value* v = s.find("limits_exempt_trusted")) {
    read_bool(*v, s.key("limits_exempt_trusted"), listener.limits_exempt_trusted);
  }
}
