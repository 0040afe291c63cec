// policy/access_rules.cpp — compiling and evaluating the issue-6 access rules.
//
// Evaluation order (docs/policy.md#evaluation-order), first refusal wins:
//   connect  client_networks
//   helo     (trusted: skip) FQDN / address-literal shape, then "claims to be us"
//   mail     sender_deny / sender_allow, anti-spoofing, allowed_sender_domains,
//            sender restrictions
//   rcpt     recipient_deny / recipient_allow (then ListenerPolicy's relay rule)
// Lists apply to every client, trusted or not: a deny entry is an explicit wish of the
// administrator. Anti-spoofing spares trusted and authenticated clients (they are
// "us"); the null sender is never spoofed (bounces must get through).
#include "policy/access_rules.hpp"
#include "conf/ascii.hpp"

#include <algorithm>
#include <optional>

#include "conf/limits.hpp"
#include "conf/address_parts.hpp"

namespace policy {
namespace {

void add_problem(std::string& problems, const std::string& text) {
  if (!problems.empty()) problems += "; ";
  problems += text;
}

bool any_match(const std::vector<conf::AddressPattern>& patterns, std::string_view address) noexcept {
  return std::ranges::any_of(patterns, [&](const conf::AddressPattern& p) { return p.matches(address); });
}

bool any_domain(const std::vector<conf::DomainPattern>& patterns, std::string_view domain) noexcept {
  if (domain.empty() || domain.starts_with('[')) return false;
  return std::ranges::any_of(patterns, [&](const conf::DomainPattern& p) { return p.matches(domain); });
}

bool in_networks(const std::vector<Cidr>& networks, const IpAddress& address) noexcept {
  return std::ranges::any_of(networks, [&](const Cidr& n) { return n.contains(address); });
}

/// The address inside a HELO literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"), if valid.
std::optional<IpAddress> literal_address(std::string_view helo) noexcept {
  if (helo.size() < 3 || helo.front() != '[' || helo.back() != ']') return std::nullopt;
  std::string_view inside = helo.substr(1, helo.size() - 2);
  const bool v6 = inside.size() > 5 && conf::ascii_iequals(inside.substr(0, 5), "IPv6:");
  if (v6) inside.remove_prefix(5);
  const auto ip = IpAddress::parse(inside);
  if (!ip || ip->v4 == v6) return std::nullopt;  // RFC 5321 §4.1.3: v6 needs the tag, v4 must not have it
  return ip->canonical();
}

template <typename Parsed, typename Parse>
void compile_list(const std::vector<std::string>& texts, const std::string& what, std::string& problems,
                  std::vector<Parsed>& out, Parse parse) {
  for (const auto& text : texts) {
    if (auto parsed = parse(text)) {
      out.push_back(std::move(*parsed));
    } else {
      add_problem(problems, what + " entry '" + text + "' is invalid");
    }
  }
}

}  // namespace

HeloShape classify_helo(std::string_view helo) noexcept {
  if (helo.starts_with('[')) return literal_address(helo) ? HeloShape::address_literal : HeloShape::bad_literal;
  if (IpAddress::parse(helo)) return HeloShape::bare_address;
  std::string_view name = helo;
  if (name.ends_with('.')) name.remove_suffix(1);  // "mail.example.com." is still fully qualified
  if (name.find('.') != std::string_view::npos && conf::is_hostname(name)) return HeloShape::fqdn;
  return HeloShape::not_fqdn;
}

std::expected<AccessRules, std::string> AccessRules::compile(const conf::PolicyConfig& config,
                                                             const std::vector<std::string>& own_domains_default,
                                                             const ListenerFacts& listener) {
  AccessRules rules;
  std::string problems;
  const std::string where = "policy '" + config.name + "': ";
  const auto cidr = [](const std::string& t) { return Cidr::parse(t); };
  const auto domain = [](const std::string& t) { return conf::DomainPattern::parse(t); };
  const auto address = [](const std::string& t) { return conf::AddressPattern::parse(t); };

  compile_list(config.client_networks, where + "client_networks", problems, rules.client_networks_, cidr);
  compile_list(config.own_domains.empty() ? own_domains_default : config.own_domains, where + "own_domains",
               problems, rules.own_domains_, domain);
  rules.reject_spoofed_ = config.reject_spoofed_senders.value_or(listener.direction == conf::Direction::inbound);
  compile_list(config.sender_allow, where + "sender_allow", problems, rules.senders_.allow, address);
  compile_list(config.sender_deny, where + "sender_deny", problems, rules.senders_.deny, address);
  compile_list(config.recipient_allow, where + "recipient_allow", problems, rules.recipients_.allow, address);
  compile_list(config.recipient_deny, where + "recipient_deny", problems, rules.recipients_.deny, address);
  rules.helo_fqdn_ = config.helo_required_fqdn;
  rules.helo_own_name_ = config.helo_reject_own_name;
  rules.hostname_ = conf::ascii_lowercase(listener.hostname);
  for (const auto& text : listener.addresses) {
    if (auto ip = IpAddress::parse(text)) rules.own_addresses_.push_back(ip->canonical());
  }
  compile_list(config.allowed_sender_domains, where + "allowed_sender_domains", problems,
               rules.allowed_sender_domains_, domain);
  for (const auto& entry : config.sender_restrictions) {
    Restriction restriction;
    restriction.user = entry.user;
    const std::string what = where + "sender_restriction (line " + std::to_string(entry.line) + ")";
    compile_list(entry.networks, what + " networks", problems, restriction.networks, cidr);
    compile_list(entry.senders, what + " senders", problems, restriction.senders, address);
    if (restriction.networks.empty() && restriction.user.empty()) add_problem(problems, what + " applies to nobody");
    rules.restrictions_.push_back(std::move(restriction));
  }
  if (!problems.empty()) return std::unexpected(std::move(problems));
  return rules;
}

bool AccessRules::Lists::admits(std::string_view address) const noexcept {
  if (any_match(deny, address)) return false;
  return allow.empty() || any_match(allow, address);
}

Decision AccessRules::on_connect(const IpAddress& client) const noexcept {
  if (client_networks_.empty() || in_networks(client_networks_, client)) return Decision::accept();
  return Decision::reject(Reason::client_not_allowed);
}

Decision AccessRules::on_helo(const RuleSubject& client, std::string_view helo) const noexcept {
  if (client.trusted || (!helo_fqdn_ && !helo_own_name_)) return Decision::accept();
  const HeloShape shape = classify_helo(helo);
  if (helo_fqdn_ && shape != HeloShape::fqdn && shape != HeloShape::address_literal) {
    return Decision::reject(Reason::helo_invalid);
  }
  if (helo_own_name_) {
    std::optional<IpAddress> claimed;
    if (shape == HeloShape::address_literal) claimed = literal_address(helo);
    if (shape == HeloShape::bare_address) claimed = IpAddress::parse(helo)->canonical();
    if (claimed) {
      if (std::ranges::find(own_addresses_, *claimed) != own_addresses_.end()) {
        return Decision::reject(Reason::helo_spoofed);
      }
    } else {
      std::string_view name = helo;
      if (name.ends_with('.')) name.remove_suffix(1);
      if ((!hostname_.empty() && conf::ascii_iequals(name, hostname_)) || any_domain(own_domains_, name)) {
        return Decision::reject(Reason::helo_spoofed);
      }
    }
  }
  return Decision::accept();
}

Decision AccessRules::on_mail(const RuleSubject& client, std::string_view sender) const noexcept {
  sender = conf::without_angle_brackets(sender);
  if (!senders_.admits(sender)) return Decision::reject(Reason::sender_denied);
  const bool null_sender = sender.empty();
  if (reject_spoofed_ && !null_sender && !client.trusted && !client.authenticated &&
      any_domain(own_domains_, conf::domain_part(sender))) {
    return Decision::reject(Reason::spoofed_sender);
  }
  // HUB servers send non-delivery reports with the null sender: never refused here.
  if (!allowed_sender_domains_.empty() && !null_sender &&
      !any_domain(allowed_sender_domains_, conf::domain_part(sender))) {
    return Decision::reject(Reason::sender_not_allowed);
  }
  bool restricted = false;
  for (const auto& restriction : restrictions_) {
    const bool applies = in_networks(restriction.networks, client.address) ||
                         (!restriction.user.empty() && client.authenticated && client.user == restriction.user);
    if (!applies) continue;
    if (any_match(restriction.senders, sender)) return Decision::accept();
    restricted = true;
  }
  if (restricted) return Decision::reject(Reason::sender_not_allowed);
  return Decision::accept();
}

Decision AccessRules::on_rcpt(const RuleSubject&, std::string_view recipient) const noexcept {
  if (!recipients_.admits(conf::without_angle_brackets(recipient))) return Decision::reject(Reason::recipient_denied);
  return Decision::accept();
}

}  // namespace policy
