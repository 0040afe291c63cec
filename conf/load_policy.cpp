// conf/load_policy.cpp — the key table of [policy.NAME].
//
// Owns: the relay permission keys (trusted_networks, accepted_domains, require_trusted,
// auth_users) and the whole [policy.NAME] table: those rows, then the verification rows
// (conf/load_verification.cpp), then the access rule rows (conf/load_policy_rules.cpp).
// Never: compiles a policy or judges a password hash's numbers (policy/ does both).
// See docs/configuration.md and docs/policy.md for every key.
#include <algorithm>

#include "conf/reader.hpp"

namespace conf::reading {

namespace {

// auth_users = { alice = "$pbkdf2-sha256$600000$SALT$KEY" }. Only the shape is checked
// here; policy::parse_password_hash judges the numbers when the policy is compiled.
void read_auth_users(Loader& l, const Field& f, PolicyConfig& policy) {
  if (!l.expect(*f.value, toml::value_t::table, f.key)) return;
  for (const auto& [name, secret] : f.value->as_table()) {
    const std::string user_key = f.key + "." + name;
    std::string text;
    if (!l.read_string(secret, user_key, text)) continue;
    if (name.empty() || name.size() > 256) {
      l.error(l.line_of(secret), user_key, "user names are 1 to 256 characters");
    } else if (!text.starts_with("$pbkdf2-sha256$") || std::ranges::count(text, '$') != 4) {
      // Never echo the value: it may be a plaintext password pasted by mistake.
      l.error(l.line_of(secret), user_key, "expected a hash from `hubrelay hash-password` (\"$pbkdf2-sha256$...\")");
    } else {
      policy.auth_users.push_back(PolicyConfig::AuthUser{name, std::move(text), l.line_of(secret)});
    }
  }
}

const Keys<PolicyConfig>& relay_permission_keys() {
  static const Keys<PolicyConfig> keys{
      {"trusted_networks", Need::optional,
       [](Loader& l, const Field& f, PolicyConfig& policy) {
         l.read_networks(*f.value, f.key, policy.trusted_networks);
       }},
      {"accepted_domains", Need::optional,
       [](Loader& l, const Field& f, PolicyConfig& policy) {
         l.read_domains(*f.value, f.key, false, policy.accepted_domains);
       }},
      {"require_trusted", Need::optional, into_bool(&PolicyConfig::require_trusted)},
      {"auth_users", Need::optional, read_auth_users},
  };
  return keys;
}

}  // namespace

const Keys<PolicyConfig>& policy_keys() {
  static const Keys<PolicyConfig> keys =
      concat({&relay_permission_keys(), &policy_verification_keys(), &policy_rule_keys()});
  return keys;
}

}  // namespace conf::reading
