// policy/listener_policy.cpp — compiling and evaluating one listener's relay policy.
//
// The rules, in the order they are applied:
//   connect  client_networks (policy/access_rules); a refused client still gets a
//            proper SMTP reply (554) before the close.
//   HELO     the optional HELO checks of policy/access_rules.
//   MAIL     require_trusted and not trusted → reject(untrusted_client); then the
//            sender rules of policy/access_rules (lists, spoofing, send-as).
//   RCPT     recipient deny/allow lists first (for every client), then:
//            trusted → accept; require_trusted → reject(untrusted_client) again, so
//            RCPT alone never opens the listener. Otherwise the recipient must be in
//            an accepted domain (else reject(relay_denied));
//            address literals and recipients without a domain never are, and neither
//            are recipients carrying sender-specified routing in the local part
//            ("a%b@ours", "a!b@ours", "\"a@b\"@ours"), which a downstream host might
//            forward elsewhere (Postfix: allow_untrusted_routing = no).
// "trusted" means authenticated, or connecting from a trusted network.
// An accepted-domain list of "*" is refused at compile time: it would be an open relay.
#include "policy/listener_policy.hpp"

#include <algorithm>
#include "conf/address_parts.hpp"

namespace policy {
namespace {

void add_problem(std::string& problems, const std::string& text) {
  if (!problems.empty()) problems += "; ";
  problems += text;
}

/// True when the local part of `recipient` asks a downstream host to relay further.
bool has_sender_routing(std::string_view recipient) noexcept {
  recipient = conf::without_angle_brackets(recipient);
  std::string_view local = conf::domain_separator(recipient) == std::string_view::npos
                               ? std::string_view{}
                               : conf::local_part(recipient);
  // An RFC 5321 source route ("@a,@b:user@c") is dropped by receivers (§C); the
  // local part proper starts after the colon.
  if (local.starts_with('@')) {
    const auto colon = local.find(':');
    local = colon == std::string_view::npos ? std::string_view{} : local.substr(colon + 1);
  }
  return local.find_first_of("@%!") != std::string_view::npos;
}

}  // namespace

std::expected<ListenerPolicy, std::string> ListenerPolicy::compile(
    const conf::PolicyConfig& config, const std::vector<std::string>& organisation_domains) {
  return compile(config, organisation_domains, ListenerFacts{});
}

std::expected<ListenerPolicy, std::string> ListenerPolicy::compile(
    const conf::PolicyConfig& config, const std::vector<std::string>& organisation_domains,
    const ListenerFacts& listener) {
  ListenerPolicy policy;
  policy.require_trusted_ = config.require_trusted;
  const std::string where = "policy '" + config.name + "': ";
  std::string problems;

  for (const auto& entry : config.trusted_networks) {
    if (auto network = Cidr::parse(entry)) {
      policy.trusted_.push_back(*network);
    } else {
      add_problem(problems, where + "trusted_networks entry '" + entry +
                                "' is not an IP address or network (a.b.c.d/n, x:y::/n)");
    }
  }

  const auto& domains =
      config.accepted_domains.empty() ? organisation_domains : config.accepted_domains;
  for (const auto& entry : domains) {
    auto pattern = conf::DomainPattern::parse(entry);
    if (!pattern) {
      add_problem(problems, where + "accepted domain '" + entry +
                                "' is not a domain pattern (example.com, *.example.com)");
    } else if (pattern->specificity() == 0) {
      add_problem(problems, where + "accepted domain '*' would make an open relay");
    } else {
      policy.accepted_.push_back(std::move(*pattern));
    }
  }

  for (const auto& user : config.auth_users) {
    auto parsed = parse_password_hash(user.secret_hash);
    if (!parsed) {
      add_problem(problems, "auth_users." + user.name + " (line " + std::to_string(user.line) + "): " + parsed.error());
    } else {
      policy.users_.emplace_back(user.name, std::move(*parsed));
    }
  }

  // The access rules; own domains default to the accepted domains.
  if (auto rules = AccessRules::compile(config, domains, listener)) {
    policy.rules_ = std::move(*rules);
  } else {
    add_problem(problems, rules.error());
  }

  if (!problems.empty()) return std::unexpected(std::move(problems));
  return policy;
}

bool ListenerPolicy::authenticate(std::string_view user, std::string_view password) const {
  const auto it = std::ranges::find_if(users_, [&](const auto& u) { return u.first == user; });
  if (it == users_.end()) {
    // Same work for an unknown user, so timing does not reveal which names exist.
    static const PasswordHash decoy{default_pbkdf2_iterations, std::string(16, 'x'), std::string(32, '\0')};
    (void)verify_password(users_.empty() ? decoy : users_.front().second, password);
    return false;
  }
  return verify_password(it->second, password);
}

bool ListenerPolicy::trusted(const Client& client) const noexcept {
  return client.authenticated ||
         std::ranges::any_of(trusted_,
                             [&](const Cidr& network) { return network.contains(client.address); });
}

RuleSubject ListenerPolicy::subject(const Client& client) const noexcept {
  return RuleSubject{client.address, trusted(client), client.authenticated, client.user};
}

Decision ListenerPolicy::on_connect(const Client& client) const noexcept {
  return rules_.on_connect(client.address);
}

Decision ListenerPolicy::on_helo(const Client& client, std::string_view helo) const noexcept {
  return rules_.on_helo(subject(client), helo);
}

Decision ListenerPolicy::on_mail(const Client& client, std::string_view sender) const noexcept {
  if (require_trusted_ && !trusted(client)) return Decision::reject(Reason::untrusted_client);
  return rules_.on_mail(subject(client), sender);
}

Decision ListenerPolicy::on_rcpt(const Client& client, std::string_view recipient) const noexcept {
  // Recipient deny/allow lists apply to trusted clients too.
  if (const auto listed = rules_.on_rcpt(subject(client), recipient); !listed.accepted()) return listed;
  if (trusted(client)) return Decision::accept();
  // Normally already refused at MAIL; repeated so RCPT alone never opens the listener.
  if (require_trusted_) return Decision::reject(Reason::untrusted_client);
  if (has_sender_routing(recipient)) return Decision::reject(Reason::relay_denied);
  if (accepts_domain(conf::domain_part(recipient))) return Decision::accept();
  return Decision::reject(Reason::relay_denied);
}

bool ListenerPolicy::accepts_domain(std::string_view domain) const noexcept {
  if (domain.empty() || domain.starts_with('[')) return false;
  return std::ranges::any_of(
      accepted_, [&](const conf::DomainPattern& pattern) { return pattern.matches(domain); });
}

}  // namespace policy
